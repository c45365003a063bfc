"""Attendance: list and bulk import (`/api/attendance`)."""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.fields import Date
from core.pagination import DefaultPagination
from core.query import query_validate
from timesheets.api.common import STAFF_ONLY, MethodRoute, PeriodFilter, paginated, row_list, rows_fail, rows_validate
from timesheets.selectors import attendance_list, tenant_zone
from timesheets.services import MAX_ATTENDANCE_ROWS, AttendanceRow, attendance_rows_check, attendance_upsert


class AttendanceListApi(APIView):
    pagination_class = DefaultPagination  # read by paginated and by the OpenAPI schema

    class AttendanceListFilterSerializer(PeriodFilter):
        employee = serializers.UUIDField(required=False)

    class AttendanceListOutputSerializer(serializers.Serializer[Any]):
        id = serializers.UUIDField()
        employee = serializers.UUIDField(source="employee_id")
        date = serializers.DateField()
        check_in = serializers.DateTimeField()
        check_out = serializers.DateTimeField()
        break_minutes = serializers.IntegerField()
        worked_hours = serializers.DecimalField(max_digits=5, decimal_places=2)

    @extend_schema(
        parameters=[AttendanceListFilterSerializer], responses={200: AttendanceListOutputSerializer(many=True)}
    )
    def get(self, request: Request) -> Response:
        """Attendance records; times are shown in the tenant's time zone."""
        filters = query_validate(self.AttendanceListFilterSerializer, request)
        records = attendance_list(
            user=request.user,
            employee_id=filters.get("employee"),
            date_from=filters.get("date_from"),
            date_to=filters.get("date_to"),
        )
        with timezone.override(tenant_zone()):
            return paginated(
                request=request, view=self, queryset=records, serializer_class=self.AttendanceListOutputSerializer
            )


class AttendanceImportApi(APIView):
    permission_classes = STAFF_ONLY

    class AttendanceImportInputSerializer(serializers.Serializer[dict[str, Any]]):
        employee = serializers.UUIDField()
        date = Date(required=False, allow_null=True)
        check_in = serializers.DateTimeField()
        check_out = serializers.DateTimeField()
        break_minutes = serializers.IntegerField(min_value=0, max_value=1440, required=False, default=0)

    class AttendanceImportOutputSerializer(serializers.Serializer[dict[str, int]]):
        created = serializers.IntegerField()
        updated = serializers.IntegerField()

    @extend_schema(
        request=AttendanceImportInputSerializer(many=True), responses={200: AttendanceImportOutputSerializer}
    )
    def post(self, request: Request) -> Response:
        """Upsert attendance (one record per employee and day) from a list of rows.

        Naive check_in/check_out are wall-clock times in the tenant's time zone. `date` may be left out; when
        sent it must be check_in's local date. Any bad row → 400 naming each row index and field; nothing is
        written.
        """
        body = row_list(request, max_rows=MAX_ATTENDANCE_ROWS)
        with timezone.override(tenant_zone()):
            valid, shape_errors = rows_validate(body, self.AttendanceImportInputSerializer)
        rows = [
            AttendanceRow(
                index=index,
                employee_id=data["employee"],
                check_in=data["check_in"],
                check_out=data["check_out"],
                break_minutes=data["break_minutes"],
                date=data.get("date"),
            )
            for index, data in valid
        ]
        if shape_errors:
            rows_fail(shape_errors, attendance_rows_check(rows=rows))
        result = attendance_upsert(actor=request.user, rows=rows)
        output = self.AttendanceImportOutputSerializer({"created": result.created, "updated": result.updated})
        return Response(output.data)


class AttendanceRoute(MethodRoute, AttendanceListApi, AttendanceImportApi):
    """`GET/POST /api/attendance`."""
