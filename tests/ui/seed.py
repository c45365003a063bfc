"""Known data for the browser tests, written straight into a tenant (the UI under test then reads it)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from django.contrib.auth.models import User
from django_tenants.utils import tenant_context

from tenants.crypto import blind_index
from tests.conftest import TenantHandle, make_user
from timesheets.models import AttendanceRecord, Employee, Project, ProjectAllocationSuggestion
from timesheets.selectors import tenant_today

LOW, HIGH = Decimal("0.450"), Decimal("0.920")


@dataclass
class Week:
    monday: date
    projects: list[Project]
    employees: list[Employee]
    low_hours: Decimal  # per employee-day, on projects[0], at LOW confidence
    high_hours: Decimal  # per employee-day, on projects[1], at HIGH confidence

    @property
    def days(self) -> list[date]:
        return [self.monday + timedelta(days=offset) for offset in range(5)]

    @property
    def iso_week(self) -> str:
        year, week, _ = self.monday.isocalendar()
        return f"{year}-W{week:02d}"


def this_monday(handle: TenantHandle) -> date:
    with tenant_context(handle.tenant):
        today = tenant_today()
    return today - timedelta(days=today.weekday())


def employee_named(handle: TenantHandle, name: str, *, user: User | None = None) -> Employee:
    email = f"{name.split()[0].lower()}@{handle.tenant.slug}.example"
    with tenant_context(handle.tenant):
        return Employee.objects.create(
            name=name, email=email, email_index=blind_index(email, purpose="email"), user=user
        )


def review_week(handle: TenantHandle, *, names: tuple[str, ...] = ("Ada Lovelace", "Grace Hopper")) -> Week:
    """This week, Monday to Friday: 8h attended a day; per day a doubtful 5h suggestion and a confident 3h one."""
    monday = this_monday(handle)
    employees = [employee_named(handle, name) for name in names]
    week = Week(monday=monday, projects=[], employees=employees, low_hours=Decimal(5), high_hours=Decimal(3))
    with tenant_context(handle.tenant):
        week.projects = [
            Project.objects.create(code="APOLLO", name="Apollo platform"),
            Project.objects.create(code="HERMES", name="Hermes billing"),
        ]
        for employee in employees:
            for day in week.days:
                check_in = datetime.combine(day, time(9), UTC)
                AttendanceRecord.objects.create(
                    employee=employee,
                    date=day,
                    check_in=check_in,
                    check_out=check_in + timedelta(hours=8),
                    worked_hours=Decimal(8),
                )
                for project, hours, confidence, why in (
                    (week.projects[0], week.low_hours, LOW, "4-week pattern only"),
                    (week.projects[1], week.high_hours, HIGH, f"3h logged on HERMES-{day.day}"),
                ):
                    ProjectAllocationSuggestion.objects.create(
                        employee=employee,
                        project=project,
                        date=day,
                        hours=hours,
                        confidence=confidence,
                        explanation=f"{why} ({employee.name})",
                        expiry_date=day + timedelta(days=30),
                    )
    return week


def user_with_role(handle: TenantHandle, username: str, role: str) -> User:
    return make_user(handle, f"{username}@{handle.tenant.slug}.example", role)
