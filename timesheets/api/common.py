"""Plumbing shared by the timesheet record APIs: method routes, path ids, pagination, row-list validation."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from django.db.models import QuerySet
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.errors import ValidationFailed
from core.fields import Date
from core.pagination import DefaultPagination
from core.roles import IsHROrAdmin
from timesheets.selectors import uuid_or_none
from timesheets.services import RowErrors

STAFF_ONLY = [IsAuthenticated, IsHROrAdmin]


class MethodRoute(APIView):
    """Serves the single-operation views it inherits from on one path; each method keeps its own permissions."""

    def get_permissions(self) -> Sequence[Any]:
        method = (self.request.method or "").lower()
        method = "get" if method == "head" else method
        for klass in type(self).__mro__[1:]:
            if klass is not MethodRoute and method in vars(klass):
                return [permission() for permission in klass.permission_classes]  # type: ignore[attr-defined]
        return super().get_permissions()


def path_uuid(value: str, name: str = "id") -> uuid.UUID:
    """A malformed id in the path is bad input (400), not an unknown object."""
    parsed = uuid_or_none(value)
    if parsed is None:
        raise ValidationFailed("Invalid input.", fields={name: ["Must be a valid UUID."]})
    return parsed


def paginated(
    *,
    request: Request,
    view: APIView,
    queryset: QuerySet[Any],
    serializer_class: type[serializers.Serializer[Any]],
    context: dict[str, Any] | None = None,
) -> Response:
    paginator = (getattr(view, "pagination_class", None) or DefaultPagination)()
    page = paginator.paginate_queryset(queryset, request, view=view) or []
    return paginator.get_paginated_response(serializer_class(page, many=True, context=context or {}).data)


def row_list(request: Request, *, max_rows: int) -> list[Any]:
    body = request.data
    if not isinstance(body, list):
        raise ValidationFailed("Invalid input.", fields={"rows": ["Expected a JSON list of rows."]})
    if not body:
        raise ValidationFailed("Invalid input.", fields={"rows": ["Send at least one row."]})
    if len(body) > max_rows:
        raise ValidationFailed("Invalid input.", fields={"rows": [f"At most {max_rows} rows per request."]})
    return body


def rows_validate(
    body: list[Any], serializer_class: type[serializers.Serializer[Any]]
) -> tuple[list[tuple[int, dict[str, Any]]], RowErrors]:
    """Shape-check every row; errors are keyed by the row's index as a string, then by field."""
    valid: list[tuple[int, dict[str, Any]]] = []
    errors: RowErrors = {}
    for index, raw in enumerate(body):
        row = serializer_class(data=raw)
        if row.is_valid():
            valid.append((index, dict(row.validated_data)))
        else:
            errors[str(index)] = {name: [str(message) for message in messages] for name, messages in row.errors.items()}
    return valid, errors


def rows_fail(shape_errors: RowErrors, rule_errors: RowErrors) -> None:
    merged: RowErrors = {}
    for errors in (shape_errors, rule_errors):
        for index, fields in errors.items():
            for name, messages in fields.items():
                merged.setdefault(index, {}).setdefault(name, []).extend(messages)
    ordered = dict(sorted(merged.items(), key=lambda item: int(item[0])))
    raise ValidationFailed("Some rows are invalid; nothing was written.", fields={"rows": ordered})


class PeriodFilter(serializers.Serializer[dict[str, Any]]):
    date_from = Date(required=False)
    date_to = Date(required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if "date_from" in attrs and "date_to" in attrs and attrs["date_to"] < attrs["date_from"]:
            raise serializers.ValidationError({"date_to": ["Must not be before date_from."]})
        return attrs
