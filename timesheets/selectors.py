"""Reads of timesheet records, always scoped to what the asking user may see."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.contrib.auth.models import User
from django.db import connection
from django.db.models import Count, F, Min, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce, Trunc
from django.utils import timezone

from core.errors import NotFound
from core.roles import is_manager_user, is_staff_user
from tenants.crypto import blind_index_candidates
from timesheets.models import (
    AttendanceRecord,
    Employee,
    Project,
    ProjectAllocationSuggestion,
    SuggestionStatus,
    TimesheetProjectAllocation,
    WorkPattern,
)


@functools.lru_cache(maxsize=256)
def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def tenant_zone() -> ZoneInfo:
    """The current tenant's time zone (UTC when there is no tenant or its zone is unknown)."""
    tenant = getattr(connection, "tenant", None)
    return _zone(str(getattr(tenant, "timezone", "") or "UTC"))


def tenant_today() -> date:
    """Today's calendar date in the current tenant's time zone."""
    return timezone.now().astimezone(tenant_zone()).date()


DEFAULT_AUTO_ACCEPT_THRESHOLD = Decimal("0.90")


def tenant_auto_accept_threshold() -> Decimal:
    """The current tenant's auto-accept threshold (0 to 1): the confidence the review calls "confident"."""
    tenant = getattr(connection, "tenant", None)
    value = getattr(tenant, "auto_accept_threshold", None)
    return DEFAULT_AUTO_ACCEPT_THRESHOLD if value is None else Decimal(str(value))


def uuid_or_none(value: object) -> uuid.UUID | None:
    """The value as a UUID, or None when it is not one (never raises)."""
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except (ValueError, TypeError, AttributeError):
        return None


def visible_employee_ids(user: Any) -> set[uuid.UUID] | None:
    """The employees a user may see and decide for: None for HR and Admin (everyone); for a Manager their own
    record and their team's (employees whose `manager` is the Manager's record); for anyone else their own."""
    if is_staff_user(user):
        return None
    if user is None or not getattr(user, "is_authenticated", False):
        return set()
    own = Q(user=user)
    if is_manager_user(user):
        own |= Q(manager__user=user)
    return set(Employee.objects.filter(own).values_list("id", flat=True))


def _own_only(queryset: QuerySet[Any], user: Any, path: str = "employee__user") -> QuerySet[Any]:
    """HR and Admin see every row; a Manager rows of their own record and their team's; anyone else only rows
    of the employee record linked to them. (The same rule as `visible_employee_ids`, as one join.)"""
    if is_staff_user(user):
        return queryset
    if user is None or not getattr(user, "is_authenticated", False):
        return queryset.none()
    scope = Q(**{path: user})
    if is_manager_user(user):
        employee = path.removesuffix("user")  # "employee__" or "" (the Employee table itself)
        scope |= Q(**{f"{employee}manager__user": user})
    return queryset.filter(scope)


# Employees ---------------------------------------------------------------------------------------------------


EMPLOYEE_SORTS = {"name": ("name", "id"), "email": ("email", "id"), "hours": ("weekly_hours", "name", "id")}


def employee_list(
    *,
    user: Any,
    email: str | None = None,
    active: bool | None = None,
    search: str | None = None,
    sort: str = "name",
    descending: bool = False,
) -> QuerySet[Employee]:
    """Employees the user may see; `search` matches a part of the name or the start of the e-mail address.

    A NUL character in `search` is dropped: no name or address holds one, and PostgreSQL refuses it in a query."""
    employees = _own_only(Employee.objects.all(), user, path="user")
    text = (search or "").replace("\x00", "").strip()
    if text:
        employees = employees.filter(Q(name__icontains=text) | Q(email__istartswith=text))
    if email:
        # Every live data key's index: rows not yet re-indexed after a key rotation still match.
        employees = employees.filter(email_index__in=blind_index_candidates(email, purpose="email"))
    if active is not None:
        employees = employees.filter(active=active)
    order = EMPLOYEE_SORTS.get(sort, EMPLOYEE_SORTS["name"])
    return employees.order_by(*(f"-{name}" if descending else name for name in order))


def employee_get(*, employee_id: uuid.UUID, user: Any) -> Employee:
    """An employee the user may see; NotFound for unknown ids, other tenants' ids and others' records."""
    employee = employee_list(user=user).filter(id=employee_id).first()
    if employee is None:
        raise NotFound("No such employee.")
    return employee


def employee_ids_existing(*, ids: Iterable[uuid.UUID]) -> set[uuid.UUID]:
    wanted = set(ids)
    if not wanted:
        return set()
    return set(Employee.objects.filter(id__in=wanted).values_list("id", flat=True))


# Projects ----------------------------------------------------------------------------------------------------


def project_list(*, active: bool | None = None, code: str | None = None) -> QuerySet[Project]:
    """Every user of the tenant may read projects: they are not personal data."""
    projects = Project.objects.all()
    if active is not None:
        projects = projects.filter(active=active)
    if code:
        projects = projects.filter(code=code)
    return projects.order_by("code")


def project_get(*, project_id: uuid.UUID) -> Project:
    project = Project.objects.filter(id=project_id).first()
    if project is None:
        raise NotFound("No such project.")
    return project


def project_ids_existing(*, ids: Iterable[uuid.UUID]) -> set[uuid.UUID]:
    wanted = set(ids)
    if not wanted:
        return set()
    return set(Project.objects.filter(id__in=wanted).values_list("id", flat=True))


# Attendance and work patterns --------------------------------------------------------------------------------


def attendance_list(
    *,
    user: Any,
    employee_id: uuid.UUID | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
) -> QuerySet[AttendanceRecord]:
    records = _own_only(AttendanceRecord.objects.all(), user)
    if employee_id is not None:
        records = records.filter(employee_id=employee_id)
    if date_from is not None:
        records = records.filter(date__gte=date_from)
    if date_to is not None:
        records = records.filter(date__lte=date_to)
    return records.order_by("date", "employee_id")


def work_pattern_list(
    *,
    user: Any,
    employee_id: uuid.UUID | None = None,
    project_id: uuid.UUID | None = None,
    day_of_week: int | None = None,
    is_active: bool | None = None,
) -> QuerySet[WorkPattern]:
    patterns = _own_only(WorkPattern.objects.all(), user)
    if employee_id is not None:
        patterns = patterns.filter(employee_id=employee_id)
    if project_id is not None:
        patterns = patterns.filter(project_id=project_id)
    if day_of_week is not None:
        patterns = patterns.filter(day_of_week=day_of_week)
    if is_active is not None:
        patterns = patterns.filter(is_active=is_active)
    annotated: QuerySet[WorkPattern] = patterns.annotate(project_code=F("project__code"))
    return annotated.order_by("employee_id", "day_of_week", "project_id")


# Suggestions and allocations ---------------------------------------------------------------------------------


def suggestion_pending_list(
    *,
    user: Any,
    employee_id: uuid.UUID | None = None,
    project_id: uuid.UUID | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
    confidence_below: Decimal | None = None,
    confidence_above: Decimal | None = None,
    today: date | None = None,
    named: bool = True,
) -> QuerySet[ProjectAllocationSuggestion]:
    """Pending suggestions still open for review (not past their expiry date), least confident first; `named`
    adds the employee's name and the project's code (two joins a count or a bulk action does without)."""
    suggestions = _own_only(
        ProjectAllocationSuggestion.objects.filter(
            status=SuggestionStatus.PENDING, expiry_date__gte=today or tenant_today()
        ),
        user,
    )
    if employee_id is not None:
        suggestions = suggestions.filter(employee_id=employee_id)
    if project_id is not None:
        suggestions = suggestions.filter(project_id=project_id)
    if date_from is not None:
        suggestions = suggestions.filter(date__gte=date_from)
    if date_to is not None:
        suggestions = suggestions.filter(date__lte=date_to)
    if confidence_below is not None:
        suggestions = suggestions.filter(confidence__lt=confidence_below)
    if confidence_above is not None:
        suggestions = suggestions.filter(confidence__gt=confidence_above)
    if not named:
        return suggestions.order_by("confidence", "date", "id")
    # Annotations instead of select_related: the employee's encrypted columns are never read here.
    annotated: QuerySet[ProjectAllocationSuggestion] = suggestions.annotate(
        employee_name=F("employee__name"), project_code=F("project__code")
    )
    return annotated.order_by("confidence", "date", "id")


def allocation_list(
    *,
    user: Any,
    employee_id: uuid.UUID | None = None,
    project_id: uuid.UUID | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
) -> QuerySet[TimesheetProjectAllocation]:
    allocations = _own_only(TimesheetProjectAllocation.objects.all(), user)
    if employee_id is not None:
        allocations = allocations.filter(employee_id=employee_id)
    if project_id is not None:
        allocations = allocations.filter(project_id=project_id)
    if date_from is not None:
        allocations = allocations.filter(date__gte=date_from)
    if date_to is not None:
        allocations = allocations.filter(date__lte=date_to)
    annotated: QuerySet[TimesheetProjectAllocation] = allocations.annotate(
        employee_name=F("employee__name"), project_code=F("project__code")
    )
    return annotated.order_by("date", "employee_id", "project_id")


ALLOCATION_EXPORT_COLUMNS = ("date", "employee_id", "employee_name", "project_code", "hours", "source")
_EXPORT_FIELDS = ("date", "employee_id", "employee_name", "project_code", "hours", "suggestion_accepted")


def allocation_export_rows(
    *, allocations: QuerySet[TimesheetProjectAllocation], chunk_size: int = 2000
) -> Iterator[tuple[Any, ...]]:
    """Rows for the CSV export, streamed from a server-side cursor so memory stays flat for any period."""
    rows = allocations.values_list(*_EXPORT_FIELDS)
    for day, employee_id, employee_name, project_code, hours, from_suggestion in rows.iterator(chunk_size=chunk_size):
        yield day, employee_id, employee_name, project_code, hours, "suggestion" if from_suggestion else "manual"


# Web UI summaries --------------------------------------------------------------------------------------------


def attendance_days_unallocated_count(*, user: Any, date_from: date, date_to: date) -> int:
    """Attended employee-days in the period whose allocations fall short of the attended hours (none, or some).

    Counted by one statement: the allocated sum per attended day against its worked hours.
    """
    allocated = (
        TimesheetProjectAllocation.objects.filter(employee_id=OuterRef("employee_id"), date=OuterRef("date"))
        .values("employee_id", "date")
        .annotate(total=Sum("hours"))
        .values("total")
    )
    return (
        attendance_list(user=user, date_from=date_from, date_to=date_to)
        .filter(worked_hours__gt=0)
        .annotate(allocated=Coalesce(Subquery(allocated), Decimal(0)))
        .filter(allocated__lt=F("worked_hours") - Decimal("0.01"))
        .count()
    )


@dataclass(frozen=True)
class ProjectHours:
    project_id: uuid.UUID
    code: str
    name: str
    hours: Decimal


def allocation_hours_by_project(*, user: Any, date_from: date, date_to: date) -> list[ProjectHours]:
    """Allocated hours per project in the period (one GROUP BY), most hours first."""
    rows = (
        _own_only(TimesheetProjectAllocation.objects.filter(date__gte=date_from, date__lte=date_to), user)
        .values("project_id", "project__code", "project__name")
        .annotate(total=Sum("hours"))
        .order_by("-total", "project__code")
    )
    return [
        ProjectHours(
            project_id=row["project_id"], code=row["project__code"], name=row["project__name"], hours=row["total"]
        )
        for row in rows
    ]


def user_link_choices(*, employee: Employee | None) -> QuerySet[User]:
    """Tenant logins HR may link to this employee record: those not linked to another employee."""
    free = Q(employee__isnull=True)
    if employee is not None and employee.user_id is not None:
        free |= Q(id=employee.user_id)
    return User.objects.filter(free, is_active=True).order_by("username")


def employee_for_user(*, user: Any) -> Employee | None:
    """The employee record linked to this login, whatever its role (None when there is none)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return Employee.objects.filter(user=user).first()


# The day around a suggestion ----------------------------------------------------------------------------------


@dataclass
class DayShare:
    suggestion_id: uuid.UUID | None
    project_code: str
    hours: Decimal
    allocated: bool  # an allocation already written; otherwise a pending suggestion


@dataclass
class DayContext:
    """One employee-day as a reviewer needs it beside a suggestion: attended hours and every share of the day."""

    attended: Decimal | None = None
    shares: list[DayShare] = field(default_factory=list)

    @property
    def total(self) -> Decimal:
        return sum((share.hours for share in self.shares), Decimal(0))

    def others(self, suggestion_id: uuid.UUID) -> list[DayShare]:
        return [share for share in self.shares if share.suggestion_id != suggestion_id]


def suggestion_day_contexts(
    *, user: Any, days: Iterable[tuple[uuid.UUID, date]], today: date | None = None
) -> dict[tuple[uuid.UUID, date], DayContext]:
    """Attended hours, allocations and pending suggestions of the given employee-days, in three queries.

    A pending suggestion for a project that already has an allocation that day is not counted twice: the
    allocation is what the day holds.
    """
    wanted = set(days)
    if not wanted:
        return {}
    employees = {employee for employee, _ in wanted}
    dates = {day for _, day in wanted}
    contexts = {key: DayContext() for key in wanted}
    for employee_id, day, hours in (
        attendance_list(user=user)
        .filter(employee_id__in=employees, date__in=dates)
        .values_list("employee_id", "date", "worked_hours")
    ):
        if (employee_id, day) in contexts:
            contexts[(employee_id, day)].attended = hours
    allocated: set[tuple[uuid.UUID, date, str]] = set()
    for employee_id, day, code, hours in (
        _own_only(TimesheetProjectAllocation.objects.filter(employee_id__in=employees, date__in=dates), user)
        .order_by("project__code")
        .values_list("employee_id", "date", "project__code", "hours")
    ):
        if (employee_id, day) in contexts:
            contexts[(employee_id, day)].shares.append(DayShare(None, code, hours, allocated=True))
            allocated.add((employee_id, day, code))
    pending = _own_only(
        ProjectAllocationSuggestion.objects.filter(
            status=SuggestionStatus.PENDING,
            expiry_date__gte=today or tenant_today(),
            employee_id__in=employees,
            date__in=dates,
        ),
        user,
    )
    for suggestion_id, employee_id, day, code, hours in pending.order_by("project__code").values_list(
        "id", "employee_id", "date", "project__code", "hours"
    ):
        if (employee_id, day) in contexts and (employee_id, day, code) not in allocated:
            contexts[(employee_id, day)].shares.append(DayShare(suggestion_id, code, hours, allocated=False))
    return contexts


# The lifecycle reads live in timesheets/lifecycle.py; these two are the ones other apps call.
from timesheets.lifecycle import locked_dates as locked_dates  # noqa: E402
from timesheets.lifecycle import may_decide_week as may_decide_week  # noqa: E402

# Suggestions grouped by employee and week ---------------------------------------------------------------------


@dataclass
class WeekGroupDay:
    date: date
    context: DayContext
    suggestions: list[ProjectAllocationSuggestion] = field(default_factory=list)


@dataclass
class WeekGroup:
    """One employee's pending week: each day's whole split (allocated and suggested) against attended hours."""

    employee_id: uuid.UUID
    employee_name: str
    monday: date
    pending: int
    lowest: Decimal
    days: list[WeekGroupDay] = field(default_factory=list)

    @property
    def sunday(self) -> date:
        return self.monday + timedelta(days=6)


def suggestion_week_groups(
    *, suggestions: QuerySet[ProjectAllocationSuggestion], user: Any, offset: int, limit: int, today: date
) -> tuple[int, list[WeekGroup]]:
    """The employee-weeks of `suggestions` (the review's filtered pending list), least confident week first.

    One GROUP BY counts and orders the weeks; the page's weeks are then read with their days around them.
    """
    weeks = (
        suggestions.order_by()
        .annotate(monday=Trunc("date", "week"))
        .values("employee_id", "monday")
        .annotate(pending=Count("id"), lowest=Min("confidence"), name=Min("employee__name"))
    )
    total = weeks.count()
    chosen = list(weeks.order_by("lowest", "name", "employee_id", "monday")[offset : offset + limit])
    groups = [
        WeekGroup(
            employee_id=row["employee_id"],
            employee_name=row["name"],
            monday=row["monday"],
            pending=row["pending"],
            lowest=row["lowest"],
        )
        for row in chosen
    ]
    if not groups:
        return total, groups
    keys = [(group.employee_id, group.monday + timedelta(days=offset)) for group in groups for offset in range(7)]
    contexts = suggestion_day_contexts(user=user, days=keys, today=today)
    by_day: dict[tuple[uuid.UUID, date], list[ProjectAllocationSuggestion]] = {}
    wanted = Q()
    for group in groups:
        wanted |= Q(employee_id=group.employee_id, date__range=(group.monday, group.sunday))
    for suggestion in suggestions.filter(wanted).order_by("date", "project__code"):
        by_day.setdefault((suggestion.employee_id, suggestion.date), []).append(suggestion)
    for group in groups:
        for offset in range(7):
            day = group.monday + timedelta(days=offset)
            found = by_day.get((group.employee_id, day), [])
            context = contexts[(group.employee_id, day)]
            if found or context.attended:
                group.days.append(WeekGroupDay(date=day, context=context, suggestions=found))
    return total, groups
