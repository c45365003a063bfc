"""Payroll export API: `/api/reports/payroll/{pay_period_id}` (CSV or XLSX) and its manifest (HR and Admin)."""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

from django.http import FileResponse, HttpResponseBase, StreamingHttpResponse
from django_tenants.utils import schema_context
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.query import query_validate
from core.roles import IsHROrAdmin
from core.schema import current_schema
from reports.payroll import payroll_csv_lines, payroll_manifest, payroll_period_checked, payroll_xlsx_file
from timesheets.api.common import path_uuid
from timesheets.lifecycle import pay_period_get
from timesheets.models import PayPeriod


class _FormatQueryIgnored(DefaultContentNegotiation):
    """`?format=csv|xlsx` is this API's own parameter, not DRF's renderer override."""

    settings = SimpleNamespace(URL_FORMAT_OVERRIDE=None)  # type: ignore[assignment]  # the one setting it reads


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _period(value: str) -> PayPeriod:
    return payroll_period_checked(pay_period_get(period_id=path_uuid(value, "pay_period_id")))


def _pinned(lines: Iterator[str], schema_name: str) -> Iterator[str]:
    # The body is produced after the view returned: pin the schema instead of trusting the connection's state.
    with schema_context(schema_name):
        yield from lines


class PayrollExportApi(APIView):
    permission_classes = [IsAuthenticated, IsHROrAdmin]
    content_negotiation_class = _FormatQueryIgnored

    class PayrollExportFilterSerializer(serializers.Serializer[Any]):
        format = serializers.ChoiceField(choices=["csv", "xlsx"], required=False, default="csv")

    @extend_schema(
        parameters=[PayrollExportFilterSerializer],
        responses={(200, "text/csv"): OpenApiTypes.STR, (200, XLSX): OpenApiTypes.BINARY},
    )
    def get(self, request: Request, pay_period_id: str) -> HttpResponseBase:
        """The payroll export of a closed pay period, streamed: per employee a line per project and a total
        line (regular, overtime, leave and expected hours, worked hours and the flexitime balance brought and
        carried forward); columns as docs/payroll.md. 409 if not closed."""
        period = _period(pay_period_id)
        filters = query_validate(self.PayrollExportFilterSerializer, request, paginated=False)
        name = f"payroll-{period.start_date}-{period.end_date}"
        if filters["format"] == "xlsx":
            return FileResponse(
                payroll_xlsx_file(period), as_attachment=True, filename=f"{name}.xlsx", content_type=XLSX
            )
        schema = current_schema()
        response = StreamingHttpResponse(
            _pinned(payroll_csv_lines(period), schema), content_type="text/csv; charset=utf-8"
        )
        response["Content-Disposition"] = f'attachment; filename="{name}.csv"'
        return response


class PayrollManifestOutputSerializer(serializers.Serializer[Any]):
    spec_version = serializers.IntegerField()
    columns = serializers.ListField(child=serializers.CharField())
    period = serializers.DictField()
    rows = serializers.IntegerField()
    project_rows = serializers.IntegerField()
    employees = serializers.IntegerField()
    totals = serializers.DictField()
    excluded_unapproved = serializers.DictField()
    csv_sha256 = serializers.CharField()


class PayrollManifestApi(APIView):
    permission_classes = [IsAuthenticated, IsHROrAdmin]

    @extend_schema(responses={200: PayrollManifestOutputSerializer})
    def get(self, request: Request, pay_period_id: str) -> Response:
        """The export's manifest: row counts, totals (hours, regular, overtime, leave, per project), the hours
        left out because their week was not approved, and the SHA-256 of the CSV export."""
        return Response(payroll_manifest(_period(pay_period_id)))
