"""Small factories for timesheet records, rooted at a tenant: each call runs inside that tenant's schema."""

from __future__ import annotations

import itertools
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import User
from django_tenants.utils import tenant_context

from tenants.crypto import blind_index
from tests.conftest import TenantHandle, make_user, token_for
from timesheets.models import (
    AttendanceRecord,
    Employee,
    Project,
    ProjectAllocationSuggestion,
    SuggestionStatus,
    TimesheetProjectAllocation,
    WorkPattern,
)

_sequence = itertools.count(1)

# A list request once the tenant lookup is warm: token, roles, count, page — each query preceded by
# django-tenants' `SET search_path` — whatever the number of rows.
LIST_QUERY_BUDGET = 8


def warm_up(handle: TenantHandle, token: str) -> None:
    """One request so the tenant lookup is cached in process memory, as it is for every request but the first."""
    assert handle.client().get("/api/auth/me", **auth(token)).status_code == 200


def auth(token: str) -> dict[str, Any]:
    return {"HTTP_AUTHORIZATION": f"Token {token}"}


def staff_token(handle: TenantHandle, role: str = "HR") -> str:
    return token_for(handle, make_user(handle, f"{role.lower()}-{next(_sequence)}@{handle.tenant.slug}.test", role))


def employee_user(handle: TenantHandle, **fields: Any) -> tuple[User, Employee, str]:
    """A user with the Employee role, the employee record linked to it, and its API token."""
    user = make_user(handle, f"emp-{next(_sequence)}@{handle.tenant.slug}.test", "Employee")
    employee = make_employee(handle, user=user, **fields)
    return user, employee, token_for(handle, user)


def make_employee(handle: TenantHandle, **fields: Any) -> Employee:
    n = next(_sequence)
    with tenant_context(handle.tenant):
        email = fields.pop("email", f"person{n}@{handle.tenant.slug}.test")
        national_id = fields.pop("national_id", None)
        employee = Employee(
            name=fields.pop("name", f"Person {n:04d}"),
            email=email,
            email_index=blind_index(email, purpose="email"),
            national_id=national_id,
            national_id_index=None if national_id is None else blind_index(national_id, purpose="national_id"),
            **fields,
        )
        employee.save(force_insert=True)
        return employee


def make_project(handle: TenantHandle, **fields: Any) -> Project:
    n = next(_sequence)
    with tenant_context(handle.tenant):
        return Project.objects.create(
            code=fields.pop("code", f"P{n}"), name=fields.pop("name", f"Project {n}"), **fields
        )


def make_suggestion(
    handle: TenantHandle,
    employee: Employee,
    project: Project,
    *,
    day: date = date(2026, 3, 2),
    hours: str = "4.00",
    confidence: str = "0.500",
    status: str = SuggestionStatus.PENDING,
    expiry_date: date | None = None,
) -> ProjectAllocationSuggestion:
    with tenant_context(handle.tenant):
        return ProjectAllocationSuggestion.objects.create(
            employee=employee,
            project=project,
            date=day,
            hours=Decimal(hours),
            confidence=Decimal(confidence),
            explanation="3h logged on PROJ-12",
            status=status,
            expiry_date=expiry_date or date.today() + timedelta(days=30),
        )


def make_allocation(
    handle: TenantHandle, employee: Employee, project: Project, *, day: date, hours: str = "8.00"
) -> TimesheetProjectAllocation:
    with tenant_context(handle.tenant):
        return TimesheetProjectAllocation.objects.create(
            employee=employee, project=project, date=day, hours=Decimal(hours)
        )


def make_attendance(handle: TenantHandle, employee: Employee, *, day: date, hours: int = 8) -> AttendanceRecord:
    from datetime import UTC, datetime, time

    start = datetime.combine(day, time(9), tzinfo=UTC)
    with tenant_context(handle.tenant):
        return AttendanceRecord.objects.create(
            employee=employee,
            date=day,
            check_in=start,
            check_out=start + timedelta(hours=hours),
            worked_hours=Decimal(hours),
        )


def make_pattern(handle: TenantHandle, employee: Employee, project: Project, *, day_of_week: int) -> WorkPattern:
    with tenant_context(handle.tenant):
        return WorkPattern.objects.create(
            employee=employee,
            project=project,
            day_of_week=day_of_week,
            average_hours=Decimal("4.00"),
            occurrences=3,
            weeks_observed=3,
            last_occurrence=date(2026, 3, 2),
        )
