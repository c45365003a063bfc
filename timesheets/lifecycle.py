"""Reads of the timesheet lifecycle: the tenant's pay periods and their locks, weeks and who may decide them.

Pay periods are computed from the tenant's policy (`PayPeriodPolicy`; none stored = calendar months); a
`PayPeriod` row exists once a period has been closed, and its status is what the database trigger reads.
"""

from __future__ import annotations

import calendar
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import Q, QuerySet, Sum

from core.errors import NotFound, PeriodLocked
from core.roles import is_manager_user, is_staff_user
from timesheets.models import (
    AttendanceRecord,
    DayNote,
    Employee,
    PayFrequency,
    PayPeriod,
    PayPeriodPolicy,
    PayPeriodStatus,
    Project,
    TimesheetProjectAllocation,
    TimesheetWeek,
    UnallocatedDay,
    WeekStatus,
)

DEFAULT_ANCHOR = date(2026, 1, 1)
MAX_LISTED_PERIODS = 60


@dataclass(frozen=True)
class Policy:
    frequency: str
    anchor_date: date


def pay_policy_get() -> Policy:
    """The tenant's pay period policy (monthly, calendar months when none was set)."""
    row = PayPeriodPolicy.objects.only("frequency", "anchor_date").first()
    if row is None:
        return Policy(frequency=PayFrequency.MONTHLY, anchor_date=DEFAULT_ANCHOR)
    return Policy(frequency=row.frequency, anchor_date=row.anchor_date)


def _add_months(day: date, months: int, anchor_day: int) -> date:
    month_index = day.year * 12 + day.month - 1 + months
    year, month = divmod(month_index, 12)
    return date(year, month + 1, min(anchor_day, calendar.monthrange(year, month + 1)[1]))


def period_bounds(day: date, policy: Policy) -> tuple[date, date]:
    """First and last day of the pay period containing `day` (a tenant calendar date)."""
    if policy.frequency in (PayFrequency.WEEKLY, PayFrequency.BIWEEKLY):
        length = 7 if policy.frequency == PayFrequency.WEEKLY else 14
        start = policy.anchor_date + timedelta(days=((day - policy.anchor_date).days // length) * length)
        return start, start + timedelta(days=length - 1)
    if policy.frequency == PayFrequency.SEMI_MONTHLY:
        if day.day <= 15:
            return day.replace(day=1), day.replace(day=15)
        return day.replace(day=16), day.replace(day=calendar.monthrange(day.year, day.month)[1])
    anchor_day = min(policy.anchor_date.day, 28)
    start = _add_months(day, 0, anchor_day)
    if start > day:
        start = _add_months(day, -1, anchor_day)
    return start, _add_months(start, 1, anchor_day) - timedelta(days=1)


@dataclass(frozen=True)
class PeriodView:
    start_date: date
    end_date: date
    status: str
    row: PayPeriod | None

    @property
    def id(self) -> uuid.UUID | None:
        return self.row.id if self.row is not None else None


def pay_periods_between(*, date_from: date, date_to: date) -> list[PeriodView]:
    """The periods overlapping [date_from, date_to], newest first, with their stored state where one exists.

    A stored period that no longer matches the policy (the policy changed after it was closed) is listed as
    stored: a closed period keeps its dates.
    """
    policy = pay_policy_get()
    stored = {row.start_date: row for row in PayPeriod.objects.filter(start_date__lte=date_to, end_date__gte=date_from)}
    found: dict[date, PeriodView] = {}
    day = date_from
    while day <= date_to and len(found) < MAX_LISTED_PERIODS:
        start, end = period_bounds(day, policy)
        row = stored.get(start)
        found[start] = PeriodView(start, row.end_date if row else end, row.status if row else PayPeriodStatus.OPEN, row)
        day = end + timedelta(days=1)
    for start, row in stored.items():
        if start not in found and not any(v.start_date <= start <= v.end_date for v in found.values()):
            found[start] = PeriodView(start, row.end_date, row.status, row)
    return sorted(found.values(), key=lambda view: view.start_date, reverse=True)


def pay_period_get(*, period_id: uuid.UUID) -> PayPeriod:
    row = PayPeriod.objects.filter(id=period_id).first()
    if row is None:
        raise NotFound("No such pay period.")
    return row


def closed_periods(*, date_from: date, date_to: date) -> QuerySet[PayPeriod]:
    return PayPeriod.objects.filter(status=PayPeriodStatus.CLOSED, start_date__lte=date_to, end_date__gte=date_from)


def locked_dates(start: date, end: date) -> frozenset[date]:
    """The days in [start, end] that fall inside a closed pay period: nothing may change their allocations."""
    days: set[date] = set()
    for period in closed_periods(date_from=start, date_to=end).only("start_date", "end_date"):
        day = max(start, period.start_date)
        while day <= min(end, period.end_date):
            days.add(day)
            day += timedelta(days=1)
    return frozenset(days)


def period_lock_check(dates: Iterable[date]) -> None:
    """Raise `period_locked` naming the first closed period that holds one of `dates` (the trigger's twin, so a
    service refuses before it writes anything)."""
    wanted = sorted(set(dates))
    if not wanted:
        return
    for period in closed_periods(date_from=wanted[0], date_to=wanted[-1]).order_by("start_date"):
        if any(period.start_date <= day <= period.end_date for day in wanted):
            raise period_locked_error(period)


def period_locked_error(period: PayPeriod) -> PeriodLocked:
    return PeriodLocked(
        f"The pay period {period.start_date} to {period.end_date} is closed: its allocations cannot change.",
        extra={
            "period": {
                "id": str(period.id),
                "start_date": period.start_date.isoformat(),
                "end_date": period.end_date.isoformat(),
            }
        },
    )


# Weeks ----------------------------------------------------------------------------------------------------------


def week_start_of(day: date) -> date:
    return day - timedelta(days=day.weekday())


def may_decide_week(user: Any, employee: Employee) -> bool:
    """Whether `user` may approve, reject or reopen `employee`'s weeks: HR and Admin for everyone, a Manager for
    the employees of their team (whose `manager` is the Manager's own record), never for their own week."""
    if is_staff_user(user):
        return True
    if not is_manager_user(user) or employee.manager_id is None:
        return False
    return Employee.objects.filter(id=employee.manager_id, user=user).exists()


def may_edit_week(user: Any, employee: Employee) -> bool:
    """Whether `user` may correct and submit `employee`'s week: the employee, or HR/Admin on their behalf."""
    return is_staff_user(user) or (employee.user_id is not None and employee.user_id == getattr(user, "id", None))


def week_status_of(*, employee_id: uuid.UUID, week_start: date) -> TimesheetWeek | None:
    return TimesheetWeek.objects.filter(employee_id=employee_id, week_start=week_start).first()


def frozen_weeks(*, employee_ids: Iterable[uuid.UUID], date_from: date, date_to: date) -> set[tuple[str, date]]:
    """(employee id as text, week start) of the approved weeks overlapping the range: their rows are frozen."""
    rows = TimesheetWeek.objects.filter(
        employee_id__in=list(employee_ids),
        status=WeekStatus.APPROVED,
        week_start__gte=week_start_of(date_from),
        week_start__lte=date_to,
    ).values_list("employee_id", "week_start")
    return {(str(employee_id), start) for employee_id, start in rows}


def weeks_frozen_check(keys: Iterable[tuple[uuid.UUID, date]]) -> None:
    """Raise `period_locked` (409) when one of these (employee, day) falls in an approved week: approved rows are
    frozen until the week is reopened."""
    wanted = set(keys)
    if not wanted:
        return
    days = [day for _, day in wanted]
    frozen = frozen_weeks(employee_ids={employee for employee, _ in wanted}, date_from=min(days), date_to=max(days))
    for employee_id, day in sorted(wanted, key=lambda key: (key[1], str(key[0]))):
        if (str(employee_id), week_start_of(day)) in frozen:
            raise PeriodLocked(
                f"The week of {week_start_of(day)} is approved: reopen it before changing its hours.",
                extra={"week": {"employee": str(employee_id), "week_start": week_start_of(day).isoformat()}},
            )


def week_list(
    *,
    user: Any,
    status: str | None = None,
    employee_id: uuid.UUID | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
) -> QuerySet[TimesheetWeek]:
    weeks = TimesheetWeek.objects.select_related("employee").order_by("-week_start", "employee__name", "id")
    if is_manager_user(user) and not is_staff_user(user):
        weeks = weeks.filter(Q(employee__user=user) | Q(employee__manager__user=user))
    elif not is_staff_user(user):
        weeks = weeks.filter(employee__user=user)
    if status:
        weeks = weeks.filter(status=status)
    if employee_id:
        weeks = weeks.filter(employee_id=employee_id)
    if date_from:
        weeks = weeks.filter(week_start__gte=week_start_of(date_from))
    if date_to:
        weeks = weeks.filter(week_start__lte=date_to)
    return weeks


@dataclass
class DayView:
    date: date
    attended: Decimal
    allocated: Decimal
    note: str
    unallocated_reason: str
    locked: bool
    allocations: list[dict[str, Any]] = field(default_factory=list)

    @property
    def difference(self) -> Decimal:
        """Allocated minus attended: negative = hours still to allocate."""
        return self.allocated - self.attended

    @property
    def complete(self) -> bool:
        return self.attended == 0 or self.difference >= 0 or bool(self.note.strip())


@dataclass
class WeekView:
    employee: Employee
    week_start: date
    status: str
    comment: str
    week: TimesheetWeek | None
    days: list[DayView]
    projects: list[dict[str, Any]]

    @property
    def missing(self) -> list[dict[str, Any]]:
        """The attended days that are neither fully allocated nor explained by a note."""
        return [
            {"date": day.date.isoformat(), "attended": f"{day.attended:.2f}", "allocated": f"{day.allocated:.2f}"}
            for day in self.days
            if not day.complete
        ]

    @property
    def total_allocated(self) -> Decimal:
        return sum((day.allocated for day in self.days), Decimal(0))

    @property
    def total_attended(self) -> Decimal:
        return sum((day.attended for day in self.days), Decimal(0))


def week_view(*, employee: Employee, week_start: date) -> WeekView:
    """One employee's week: per day attended and allocated hours, the split, notes, unallocated reasons, locks."""
    end = week_start + timedelta(days=6)
    attended = dict(
        AttendanceRecord.objects.filter(employee=employee, date__range=(week_start, end)).values_list(
            "date", "worked_hours"
        )
    )
    notes = dict(DayNote.objects.filter(employee=employee, date__range=(week_start, end)).values_list("date", "note"))
    reasons = dict(
        UnallocatedDay.objects.filter(employee=employee, date__range=(week_start, end)).values_list("date", "reason")
    )
    locked = locked_dates(week_start, end)
    days = {
        week_start + timedelta(days=offset): DayView(
            date=week_start + timedelta(days=offset),
            attended=attended.get(week_start + timedelta(days=offset)) or Decimal(0),
            allocated=Decimal(0),
            note=notes.get(week_start + timedelta(days=offset), ""),
            unallocated_reason=reasons.get(week_start + timedelta(days=offset), ""),
            locked=week_start + timedelta(days=offset) in locked,
        )
        for offset in range(7)
    }
    projects: dict[uuid.UUID, dict[str, Any]] = {}
    allocations = (
        TimesheetProjectAllocation.objects.filter(employee=employee, date__range=(week_start, end))
        .select_related("project")
        .order_by("project__code", "date")
    )
    for allocation in allocations:
        day = days[allocation.date]
        hours = allocation.hours or Decimal(0)
        day.allocated += hours
        day.allocations.append(
            {
                "id": str(allocation.id),
                "project": str(allocation.project_id),
                "project_code": allocation.project.code,
                "hours": str(hours),
                "suggestion_accepted": allocation.suggestion_accepted,
            }
        )
        row = projects.setdefault(
            allocation.project_id,
            {"project": str(allocation.project_id), "project_code": allocation.project.code, "hours": {}},
        )
        row["hours"][allocation.date.isoformat()] = str(hours)
    week = week_status_of(employee_id=employee.id, week_start=week_start)
    return WeekView(
        employee=employee,
        week_start=week_start,
        status=week.status if week else WeekStatus.DRAFT,
        comment=week.comment if week else "",
        week=week,
        days=list(days.values()),
        projects=list(projects.values()),
    )


def active_projects_for_rows() -> QuerySet[Project]:
    return Project.objects.filter(active=True).order_by("code").only("id", "code", "name")


def unallocated_day_list(
    *, user: Any, employee_id: uuid.UUID | None = None, date_from: date | None = None, date_to: date | None = None
) -> QuerySet[UnallocatedDay]:
    """The days left to HR: attendance that no evidence split, still not fully allocated by hand."""
    days = UnallocatedDay.objects.select_related("employee").order_by("date", "employee__name", "id")
    if not is_staff_user(user):
        days = days.filter(employee__user=user)
    if employee_id:
        days = days.filter(employee_id=employee_id)
    if date_from:
        days = days.filter(date__gte=date_from)
    if date_to:
        days = days.filter(date__lte=date_to)
    return days


def unallocated_day_get(*, user: Any, day_id: uuid.UUID) -> UnallocatedDay:
    days = UnallocatedDay.objects.select_related("employee").filter(id=day_id)
    if not is_staff_user(user):
        days = days.filter(employee__user=user)
    row = days.first()
    if row is None:
        raise NotFound("No such unallocated day.")
    return row


def weeks_unapproved_in(*, start: date, end: date) -> list[dict[str, Any]]:
    """Employee weeks with attendance in [start, end] that are not approved: what closing a period would skip.

    One grouped query over attendance plus one over weeks, whatever the number of employees.
    """
    approved = {
        (employee_id, week)
        for employee_id, week in TimesheetWeek.objects.filter(
            status=WeekStatus.APPROVED, week_start__gte=week_start_of(start), week_start__lte=end
        ).values_list("employee_id", "week_start")
    }
    statuses = dict(
        ((employee_id, week), status)
        for employee_id, week, status in TimesheetWeek.objects.filter(
            week_start__gte=week_start_of(start), week_start__lte=end
        ).values_list("employee_id", "week_start", "status")
    )
    attended = (
        AttendanceRecord.objects.filter(date__range=(start, end))
        .values_list("employee_id", "date")
        .order_by("employee_id", "date")
    )
    missing: dict[tuple[uuid.UUID, date], dict[str, Any]] = {}
    for employee_id, day in attended.iterator(chunk_size=5000):
        key = (employee_id, week_start_of(day))
        if key in approved or key in missing:
            continue
        missing[key] = {
            "employee": str(employee_id),
            "week_start": key[1].isoformat(),
            "status": statuses.get(key, WeekStatus.DRAFT),
        }
    return list(missing.values())


def allocated_hours_between(*, employee_ids: Iterable[uuid.UUID], start: date, end: date) -> dict[str, Decimal]:
    rows = (
        TimesheetProjectAllocation.objects.filter(employee_id__in=list(employee_ids), date__range=(start, end))
        .values("employee_id")
        .annotate(total=Sum("hours"))
    )
    return {str(row["employee_id"]): row["total"] or Decimal(0) for row in rows}


def periods_overlapping_week(week_start: date) -> Iterator[PayPeriod]:
    yield from closed_periods(date_from=week_start, date_to=week_start + timedelta(days=6))


def employees_visible(*, user: Any) -> QuerySet[Employee]:
    employees = Employee.objects.filter(active=True).order_by("name", "id")
    if not is_staff_user(user):
        employees = employees.filter(Q(user=user))
    return employees
