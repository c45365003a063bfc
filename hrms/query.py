"""The query string of an API list request, validated in one pass: each parameter once, the page, the filters."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers
from rest_framework.request import Request

from hrms.errors import ValidationFailed
from hrms.pagination import pagination_errors

PAGE_PARAMETERS = ("page", "page_size")


def query_validate(
    serializer_class: type[serializers.Serializer[Any]], request: Request, *, paginated: bool = True
) -> dict[str, Any]:
    """The validated filters; 400 naming every bad parameter (repeated, malformed, out of range) otherwise.

    Every parameter of the API is single-valued: a repeated one is refused rather than resolved to its last
    value, so a client never gets results for a filter other than the one it believes it sent.
    """
    params = request.query_params
    # The declared field names, read from the class: instantiating a serializer copies all of its fields.
    names = set(serializer_class._declared_fields) | (set(PAGE_PARAMETERS) if paginated else set())
    errors: dict[str, Any] = {
        name: ["Send this parameter at most once."] for name in sorted(names) if len(params.getlist(name)) > 1
    }
    # A plain dict, not the QueryDict: DRF reads an absent boolean in form-style data as False, and a blank
    # form-style value as absent.
    single = {name: value for name, value in params.dict().items() if name not in errors}
    if paginated:
        errors.update(pagination_errors(single))
    query = serializer_class(data=single)
    if not query.is_valid():
        for name, messages in query.errors.items():
            if name not in errors:
                errors[name] = [str(message) for message in messages] if isinstance(messages, list) else messages
    if errors:
        raise ValidationFailed("Invalid input.", fields=errors)
    return dict(query.validated_data)
