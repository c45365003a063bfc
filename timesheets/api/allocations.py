"""Accepted allocations: the JSON/CSV list and the bulk import (`/api/allocations`)."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

from django.db.models import QuerySet
from django.http import StreamingHttpResponse
from django_tenants.utils import schema_context
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.fields import Date
from core.pagination import DefaultPagination
from core.query import query_validate
from core.replica import reads_from_replica
from core.schema import current_schema
from core.spreadsheet import spreadsheet_cell
from timesheets.api.common import STAFF_ONLY, MethodRoute, PeriodFilter, paginated, row_list, rows_fail, rows_validate
from timesheets.selectors import ALLOCATION_EXPORT_COLUMNS, allocation_export_rows, allocation_list
from timesheets.services import MAX_ALLOCATION_ROWS, AllocationRow, allocation_rows_check, allocations_upsert


class _FormatQueryIgnored(DefaultContentNegotiation):
    """`?format=csv` is this API's own parameter, not DRF's renderer override."""

    settings = SimpleNamespace(URL_FORMAT_OVERRIDE=None)  # type: ignore[assignment]  # the one setting it reads


class _EchoBuffer:
    def write(self, value: str) -> str:
        return value


def _csv_stream(allocations: QuerySet[Any], schema_name: str) -> Iterator[str]:
    writer = csv.writer(_EchoBuffer())
    yield writer.writerow(ALLOCATION_EXPORT_COLUMNS)
    # The body is produced after the view returned: pin the schema instead of trusting the connection's state.
    with schema_context(schema_name):
        for row in allocation_export_rows(allocations=allocations):
            yield writer.writerow([spreadsheet_cell(value) for value in row])


class AllocationListApi(APIView):
    pagination_class = DefaultPagination  # read by paginated and by the OpenAPI schema

    content_negotiation_class = _FormatQueryIgnored

    class AllocationListFilterSerializer(PeriodFilter):
        employee = serializers.UUIDField(required=False)
        project = serializers.UUIDField(required=False)
        format = serializers.ChoiceField(choices=["json", "csv"], required=False)

    class AllocationListOutputSerializer(serializers.Serializer[Any]):
        id = serializers.UUIDField()
        employee = serializers.UUIDField(source="employee_id")
        employee_name = serializers.CharField()
        project = serializers.UUIDField(source="project_id")
        project_code = serializers.CharField()
        date = serializers.DateField()
        hours = serializers.DecimalField(max_digits=5, decimal_places=2)
        suggestion = serializers.UUIDField(source="suggestion_id", allow_null=True)
        suggestion_accepted = serializers.BooleanField()
        updated_at = serializers.DateTimeField()

    @extend_schema(
        parameters=[AllocationListFilterSerializer],
        responses={
            (200, "application/json"): AllocationListOutputSerializer(many=True),
            (200, "text/csv"): OpenApiTypes.STR,
        },
    )
    @reads_from_replica
    def get(self, request: Request) -> Response | StreamingHttpResponse:
        """Accepted allocations as a JSON page; `?format=csv` streams every matching row as `text/csv` instead.

        The CSV has no pagination: its columns are date, employee_id, employee_name, project_code, hours and
        source, and it arrives as an attachment named allocations.csv.
        """
        filters = query_validate(self.AllocationListFilterSerializer, request)
        allocations = allocation_list(
            user=request.user,
            employee_id=filters.get("employee"),
            project_id=filters.get("project"),
            date_from=filters.get("date_from"),
            date_to=filters.get("date_to"),
        )
        if filters.get("format") == "csv":
            response = StreamingHttpResponse(
                _csv_stream(allocations, current_schema()), content_type="text/csv; charset=utf-8"
            )
            response["Content-Disposition"] = 'attachment; filename="allocations.csv"'
            return response
        return paginated(
            request=request, view=self, queryset=allocations, serializer_class=self.AllocationListOutputSerializer
        )


class AllocationImportApi(APIView):
    permission_classes = STAFF_ONLY

    class AllocationImportInputSerializer(serializers.Serializer[dict[str, Any]]):
        employee = serializers.UUIDField()
        project = serializers.UUIDField()
        date = Date()
        hours = serializers.DecimalField(max_digits=5, decimal_places=2)

    class AllocationImportOutputSerializer(serializers.Serializer[dict[str, int]]):
        created = serializers.IntegerField()
        updated = serializers.IntegerField()

    @extend_schema(
        request=AllocationImportInputSerializer(many=True), responses={200: AllocationImportOutputSerializer}
    )
    def post(self, request: Request) -> Response:
        """Manual entries or a historical import: upsert per employee, project and date; a bad row writes nothing."""
        body = row_list(request, max_rows=MAX_ALLOCATION_ROWS)
        valid, shape_errors = rows_validate(body, self.AllocationImportInputSerializer)
        rows = [
            AllocationRow(
                index=index,
                employee_id=data["employee"],
                project_id=data["project"],
                date=data["date"],
                hours=data["hours"],
            )
            for index, data in valid
        ]
        if shape_errors:
            rows_fail(shape_errors, allocation_rows_check(rows=rows))
        result = allocations_upsert(actor=request.user, rows=rows)
        output = self.AllocationImportOutputSerializer({"created": result.created, "updated": result.updated})
        return Response(output.data)


class AllocationRoute(MethodRoute, AllocationListApi, AllocationImportApi):
    """`GET/POST /api/allocations`."""
