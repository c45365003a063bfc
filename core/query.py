"""The query string of an API list request, validated in one pass: each parameter once, the page, the filters.

Validation is a pure function of the filter serializer and the query string (no filter serializer reads the
database or the clock), so the outcome of a query string already seen is remembered per process: the common
list requests (no filters, the first pages) skip building a serializer at all.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from rest_framework import serializers
from rest_framework.request import Request

from core.errors import ValidationFailed
from core.pagination import pagination_errors

PAGE_PARAMETERS = ("page", "page_size")


def query_validate(
    serializer_class: type[serializers.Serializer[Any]], request: Request, *, paginated: bool = True
) -> dict[str, Any]:
    """The validated filters; 400 naming every bad parameter (repeated, malformed, out of range) otherwise.

    Every parameter of the API is single-valued: a repeated one is refused rather than resolved to its last
    value, so a client never gets results for a filter other than the one it believes it sent.
    """
    params = request.query_params
    query = tuple(sorted((name, tuple(values)) for name, values in params.lists()))
    return dict(_validated(serializer_class, query, paginated))


# Query strings are bounded by what clients send; the cache by this size (least recently used dropped first).
@lru_cache(maxsize=2048)
def _validated(
    serializer_class: type[serializers.Serializer[Any]], query: tuple[tuple[str, tuple[str, ...]], ...], paginated: bool
) -> dict[str, Any]:
    """The validated filters of one query string; raises ValidationFailed (not cached) when it is invalid."""
    params = {name: list(values) for name, values in query}
    # The declared field names, read from the class: instantiating a serializer copies all of its fields.
    names = set(serializer_class._declared_fields) | (set(PAGE_PARAMETERS) if paginated else set())
    errors: dict[str, Any] = {
        name: ["Send this parameter at most once."] for name in sorted(names) if len(params.get(name, ())) > 1
    }
    # A plain dict, not the QueryDict: DRF reads an absent boolean in form-style data as False, and a blank
    # form-style value as absent.
    single = {name: values[-1] for name, values in params.items() if name not in errors}
    if paginated:
        errors.update(pagination_errors(single))
    serializer = serializer_class(data=single)
    if not serializer.is_valid():
        for name, messages in serializer.errors.items():
            if name not in errors:
                errors[name] = [str(message) for message in messages] if isinstance(messages, list) else messages
    if errors:
        raise ValidationFailed("Invalid input.", fields=errors)
    return dict(serializer.validated_data)
