"""URLs of the reports API."""

from __future__ import annotations

from django.urls import path

from reports import api
from reports.payroll_api import PayrollExportApi, PayrollManifestApi

urlpatterns = [
    path("reports/hours", api.HoursReportApi.as_view(), name="report-hours"),
    path("reports/utilisation", api.UtilisationReportApi.as_view(), name="report-utilisation"),
    path("reports/budgets", api.BudgetReportApi.as_view(), name="report-budgets"),
    path("reports/overtime", api.OvertimeReportApi.as_view(), name="report-overtime"),
    path("reports/leave", api.LeaveReportApi.as_view(), name="report-leave"),
    path("reports/compliance", api.ComplianceReportApi.as_view(), name="report-compliance"),
    path("reports/payroll/<str:pay_period_id>", PayrollExportApi.as_view(), name="report-payroll"),
    path("reports/payroll/<str:pay_period_id>/manifest", PayrollManifestApi.as_view(), name="report-payroll-manifest"),
]
