"""URLs of the timesheet records API (mounted under `api/`); paths exactly as the contract writes them."""

from __future__ import annotations

from django.urls import path

from timesheets.api.allocations import AllocationRoute
from timesheets.api.attendance import AttendanceRoute
from timesheets.api.employees import EmployeeCollectionRoute, EmployeeInviteApi, EmployeeItemRoute
from timesheets.api.periods import PayPeriodCloseApi, PayPeriodListApi, PayPeriodReopenApi, PayPolicyRoute
from timesheets.api.projects import ProjectCollectionRoute, ProjectItemRoute
from timesheets.api.reminders import ReminderPreferenceRoute
from timesheets.api.suggestions import (
    SuggestionAcceptApi,
    SuggestionAcceptConfidentApi,
    SuggestionBatchUndoApi,
    SuggestionPendingListApi,
    SuggestionRejectApi,
)
from timesheets.api.weeks import (
    DaySaveApi,
    UnallocatedDayListApi,
    WeekApproveApi,
    WeekGetApi,
    WeekListApi,
    WeekRejectApi,
    WeekReopenApi,
    WeeksApproveApi,
    WeekSubmitApi,
)
from timesheets.api.work_patterns import WorkPatternListApi

urlpatterns = [
    path("reminders/preference", ReminderPreferenceRoute.as_view(), name="reminder-preference"),
    path("employees", EmployeeCollectionRoute.as_view(), name="employees"),
    path("employees/invitations", EmployeeInviteApi.as_view(), name="employees-invite"),
    path("employees/<str:employee_id>", EmployeeItemRoute.as_view(), name="employee"),
    path("projects", ProjectCollectionRoute.as_view(), name="projects"),
    path("projects/<str:project_id>", ProjectItemRoute.as_view(), name="project"),
    path("attendance", AttendanceRoute.as_view(), name="attendance"),
    path("work-patterns", WorkPatternListApi.as_view(), name="work-patterns"),
    path(
        "timesheet-intelligence/suggestions/pending",
        SuggestionPendingListApi.as_view(),
        name="suggestions-pending",
    ),
    path("timesheet-intelligence/suggestions/accept", SuggestionAcceptApi.as_view(), name="suggestions-accept"),
    path("timesheet-intelligence/suggestions/reject", SuggestionRejectApi.as_view(), name="suggestions-reject"),
    path(
        "timesheet-intelligence/suggestions/accept-confident",
        SuggestionAcceptConfidentApi.as_view(),
        name="suggestions-accept-confident",
    ),
    path(
        "timesheet-intelligence/suggestions/batches/<str:batch_id>/undo",
        SuggestionBatchUndoApi.as_view(),
        name="suggestions-batch-undo",
    ),
    path("allocations", AllocationRoute.as_view(), name="allocations"),
    path("timesheets/<str:employee_id>/week", WeekGetApi.as_view(), name="timesheet-week"),
    path("timesheets/<str:employee_id>/submit", WeekSubmitApi.as_view(), name="timesheet-submit"),
    path("timesheets/<str:employee_id>/day", DaySaveApi.as_view(), name="timesheet-day"),
    path("weeks", WeekListApi.as_view(), name="weeks"),
    path("weeks/approve", WeeksApproveApi.as_view(), name="weeks-approve"),
    path("weeks/<str:timesheet_week_id>/approve", WeekApproveApi.as_view(), name="week-approve"),
    path("weeks/<str:timesheet_week_id>/reject", WeekRejectApi.as_view(), name="week-reject"),
    path("weeks/<str:timesheet_week_id>/reopen", WeekReopenApi.as_view(), name="week-reopen"),
    path("unallocated-days", UnallocatedDayListApi.as_view(), name="unallocated-days"),
    path("pay-periods", PayPeriodListApi.as_view(), name="pay-periods"),
    path("pay-periods/policy", PayPolicyRoute.as_view(), name="pay-policy"),
    path("pay-periods/close", PayPeriodCloseApi.as_view(), name="pay-period-close"),
    path("pay-periods/<str:pay_period_id>/reopen", PayPeriodReopenApi.as_view(), name="pay-period-reopen"),
]
