"""Reports API: every report as JSON, or as CSV or XLSX with `?format=csv|xlsx`.

HR and Admin read every report over everyone; a Manager reads the people reports (hours, utilisation, overtime,
leave, compliance) over their team; budgets are HR's and Admin's.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

from django.http import HttpResponseBase
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.fields import Date
from core.query import query_validate
from core.roles import IsHROrAdmin, IsReviewer
from reports.exports import report_csv, report_xlsx
from reports.selectors import (
    GROUPINGS,
    Report,
    budget_report,
    compliance_report,
    hours_report,
    leave_report,
    overtime_report,
    utilisation_report,
)
from timesheets.selectors import tenant_today, visible_employee_ids

MAX_REPORT_DAYS = 366
FORMATS = ["json", "csv", "xlsx"]


def _json_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {key: _json_value(item) for key, item in value.items()}
    return value


class ReportOutputSerializer(serializers.Serializer[Any]):
    title = serializers.CharField()
    columns = serializers.ListField(child=serializers.CharField())
    rows = serializers.ListField(child=serializers.ListField())
    totals = serializers.DictField()


def report_response(report: Report, *, output: str, filename: str) -> HttpResponseBase:
    if output == "csv":
        return report_csv(report, filename)
    if output == "xlsx":
        return report_xlsx(report, filename)
    return Response(
        {
            "title": report.title,
            "columns": report.columns,
            "rows": [[_json_value(value) for value in row] for row in report.rows],
            "totals": _json_value(report.totals),
        }
    )


class PeriodSerializer(serializers.Serializer[dict[str, Any]]):
    date_from = Date()
    date_to = Date()
    format = serializers.ChoiceField(choices=FORMATS, required=False, default="json")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs["date_to"] < attrs["date_from"]:
            raise serializers.ValidationError({"date_to": ["Must be on or after date_from."]})
        if (attrs["date_to"] - attrs["date_from"]).days >= MAX_REPORT_DAYS:
            raise serializers.ValidationError({"date_to": [f"At most {MAX_REPORT_DAYS} days from date_from."]})
        return attrs


class HoursFilterSerializer(PeriodSerializer):
    group_by = serializers.ChoiceField(choices=sorted(GROUPINGS), default="project")


class BudgetFilterSerializer(serializers.Serializer[dict[str, Any]]):
    as_of = Date(required=False)
    format = serializers.ChoiceField(choices=FORMATS, required=False, default="json")


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_RESPONSES = {
    (200, "application/json"): ReportOutputSerializer,
    (200, "text/csv"): OpenApiTypes.STR,
    (200, XLSX): OpenApiTypes.BINARY,
}


def _period_api(name: str, build: Callable[..., Report], doc: str) -> type[APIView]:
    class PeriodReportApi(APIView):
        permission_classes = [IsReviewer]

        @extend_schema(
            parameters=[PeriodSerializer], responses=_RESPONSES, operation_id=f"reports_{name}", description=doc
        )
        def get(self, request: Request) -> HttpResponseBase:
            values = query_validate(PeriodSerializer, request)
            team = visible_employee_ids(request.user)
            report = build(date_from=values["date_from"], date_to=values["date_to"], team=team)
            return report_response(report, output=values["format"], filename=f"{name}-{values['date_from']}")

    PeriodReportApi.__name__ = PeriodReportApi.__qualname__ = f"{name.title().replace('_', '')}ReportApi"
    return PeriodReportApi


UtilisationReportApi = _period_api("utilisation", utilisation_report, "Allocated ÷ expected hours per employee.")
OvertimeReportApi = _period_api("overtime", overtime_report, "Expected, worked, leave and overtime hours.")
LeaveReportApi = _period_api("leave", leave_report, "Approved leave per type.")
ComplianceReportApi = _period_api("compliance", compliance_report, "Violations per week and rule.")


class HoursReportApi(APIView):
    permission_classes = [IsReviewer]

    @extend_schema(parameters=[HoursFilterSerializer], responses=_RESPONSES)
    def get(self, request: Request) -> HttpResponseBase:
        values = query_validate(HoursFilterSerializer, request)
        report = hours_report(
            group_by=values["group_by"],
            date_from=values["date_from"],
            date_to=values["date_to"],
            team=visible_employee_ids(request.user),
        )
        return report_response(report, output=values["format"], filename=f"hours-by-{values['group_by']}")


class BudgetReportApi(APIView):
    permission_classes = [IsHROrAdmin]

    @extend_schema(parameters=[BudgetFilterSerializer], responses=_RESPONSES)
    def get(self, request: Request) -> HttpResponseBase:
        values = query_validate(BudgetFilterSerializer, request)
        as_of = values.get("as_of") or tenant_today()
        return report_response(budget_report(as_of=as_of), output=values["format"], filename=f"budgets-{as_of}")
