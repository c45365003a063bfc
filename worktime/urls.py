"""URLs of the working-time API."""

from __future__ import annotations

from django.urls import path

from worktime import api

urlpatterns = [
    path("worktime/calendar", api.CalendarApi.as_view(), name="worktime-calendar"),
    path("worktime/holidays", api.HolidayListApi.as_view(), name="worktime-holidays"),
    path("worktime/days-off", api.DayOffCreateApi.as_view(), name="worktime-days-off"),
    path("worktime/expected-hours", api.ExpectedHoursApi.as_view(), name="worktime-expected-hours"),
    path("leave-types", api.LeaveTypeApi.as_view(), name="leave-types"),
    path("leave", api.LeaveListCreateApi.as_view(), name="leave"),
    path("leave/import", api.LeaveImportApi.as_view(), name="leave-import"),
    path("leave/balances", api.LeaveBalanceApi.as_view(), name="leave-balances"),
    path("leave/entitlements", api.EntitlementApi.as_view(), name="leave-entitlements"),
    path("leave/<uuid:leave_id>/decide", api.LeaveDecideApi.as_view(), name="leave-decide"),
    path("leave/<uuid:leave_id>/cancel", api.LeaveCancelApi.as_view(), name="leave-cancel"),
    path("contracts", api.ContractListCreateApi.as_view(), name="contracts"),
    path("compliance/rules", api.ComplianceRulesApi.as_view(), name="compliance-rules"),
    path("compliance/check", api.ComplianceCheckApi.as_view(), name="compliance-check"),
    path("compliance/violations", api.ViolationListApi.as_view(), name="compliance-violations"),
    path(
        "compliance/violations/<uuid:violation_id>/acknowledge",
        api.ViolationAcknowledgeApi.as_view(),
        name="compliance-violation-acknowledge",
    ),
]
