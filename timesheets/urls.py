"""URLs of the timesheet records API (mounted under `api/`); paths exactly as the contract writes them."""

from __future__ import annotations

from django.urls import path

from timesheets.api.allocations import AllocationRoute
from timesheets.api.attendance import AttendanceRoute
from timesheets.api.employees import EmployeeCollectionRoute, EmployeeInviteApi, EmployeeItemRoute
from timesheets.api.projects import ProjectCollectionRoute, ProjectItemRoute
from timesheets.api.suggestions import SuggestionAcceptApi, SuggestionPendingListApi, SuggestionRejectApi
from timesheets.api.work_patterns import WorkPatternListApi

urlpatterns = [
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
    path("allocations", AllocationRoute.as_view(), name="allocations"),
]
