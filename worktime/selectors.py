"""Reads of working time: the calendar and its holidays, leave, contracts, expected hours, violations."""

from __future__ import annotations

import functools
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

import holidays
from django.db.models import QuerySet

from timesheets.models import AttendanceRecord, Employee
from worktime.models import (
    ACTIVE_LEAVE,
    MONDAY_TO_FRIDAY,
    CompanyDayOff,
    ComplianceRuleSet,
    ComplianceViolation,
    Contract,
    LeaveEntitlement,
    LeavePortion,
    LeaveRecord,
    LeaveStatus,
    LeaveType,
    WorkCalendar,
)
from worktime.rules import DEFAULT_PRESET, Thresholds, thresholds_parse

ZERO = Decimal(0)
TWO_PLACES = Decimal("0.01")


def calendar_get() -> WorkCalendar:
    """The tenant's calendar row (unsaved defaults when none was written yet)."""
    return WorkCalendar.objects.filter(pk=1).first() or WorkCalendar()


@functools.lru_cache(maxsize=512)
def _public_holidays(country: str, subdivision: str, year: int) -> dict[date, str]:
    if not country:
        return {}
    found = holidays.country_holidays(country, subdiv=subdivision or None, years=year)
    return {day: str(name) for day, name in found.items()}


def countries_supported() -> dict[str, list[str]]:
    """Country codes the `holidays` package knows, with their subdivisions."""
    return {code: list(subdivisions) for code, subdivisions in holidays.list_supported_countries().items()}


@dataclass(frozen=True)
class Holiday:
    date: date
    name: str
    kind: str  # "public" or "company"
    half_day: bool = False


def holidays_list(
    *, date_from: date, date_to: date, country: str | None = None, subdivision: str = ""
) -> list[Holiday]:
    """Public holidays of the location (the company calendar's by default) and company days off, by date."""
    if country is None:
        calendar = calendar_get()
        country, subdivision = calendar.country, calendar.subdivision
    found: list[Holiday] = []
    for year in range(date_from.year, date_to.year + 1):
        for day, name in _public_holidays(country, subdivision, year).items():
            if date_from <= day <= date_to:
                found.append(Holiday(date=day, name=name, kind="public"))
    for off in CompanyDayOff.objects.filter(date__range=(date_from, date_to)):
        found.append(Holiday(date=off.date, name=off.name, kind="company", half_day=off.half_day))
    return sorted(found, key=lambda holiday: (holiday.date, holiday.kind))


def leave_types() -> QuerySet[LeaveType]:
    return LeaveType.objects.all()


def leave_list(
    *,
    employee_ids: Sequence[uuid.UUID] | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
    status: str | None = None,
) -> QuerySet[LeaveRecord]:
    records = LeaveRecord.objects.select_related("employee", "leave_type").order_by("start_date", "employee__name")
    if employee_ids is not None:
        records = records.filter(employee_id__in=employee_ids)
    if date_from is not None:
        records = records.filter(end_date__gte=date_from)
    if date_to is not None:
        records = records.filter(start_date__lte=date_to)
    if status:
        records = records.filter(status=status)
    return records


def leave_overlapping(*, employee_id: uuid.UUID, start: date, end: date, exclude: uuid.UUID | None = None) -> bool:
    clash = LeaveRecord.objects.filter(
        employee_id=employee_id, status__in=ACTIVE_LEAVE, start_date__lte=end, end_date__gte=start
    )
    if exclude is not None:
        clash = clash.exclude(pk=exclude)
    return clash.exists()


def contracts_of(employee_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, list[Contract]]:
    by_employee: dict[uuid.UUID, list[Contract]] = defaultdict(list)
    for contract in Contract.objects.filter(employee_id__in=list(employee_ids)).order_by("starts_on"):
        by_employee[contract.employee_id].append(contract)
    return by_employee


def contract_list(*, employee_id: uuid.UUID | None = None) -> QuerySet[Contract]:
    contracts = Contract.objects.select_related("employee").order_by("employee__name", "starts_on")
    return contracts if employee_id is None else contracts.filter(employee_id=employee_id)


def rules_get() -> tuple[str, Thresholds]:
    row = ComplianceRuleSet.objects.filter(pk=1).first()
    if row is None:
        return DEFAULT_PRESET, thresholds_parse(DEFAULT_PRESET)
    return row.preset, thresholds_parse(row.preset, row.thresholds)


def violation_list(
    *,
    employee_ids: Sequence[uuid.UUID] | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
    rule: str | None = None,
    acknowledged: bool | None = None,
) -> QuerySet[ComplianceViolation]:
    found = ComplianceViolation.objects.select_related("employee").order_by("-date", "employee__name", "rule")
    if employee_ids is not None:
        found = found.filter(employee_id__in=employee_ids)
    if date_from is not None:
        found = found.filter(date__gte=date_from)
    if date_to is not None:
        found = found.filter(date__lte=date_to)
    if rule:
        found = found.filter(rule=rule)
    if acknowledged is not None:
        found = found.filter(acknowledged_at__isnull=not acknowledged)
    return found


# --- Expected hours -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DayHours:
    """One employee-day: what the contract expects after holidays and leave, and what was worked."""

    date: date
    scheduled: Decimal  # the contract's hours for the day, before holidays and leave
    holiday: Decimal  # hours the calendar takes off
    leave: Decimal  # hours approved leave takes off
    expected: Decimal
    worked: Decimal
    holiday_name: str = ""
    leave_type: str = ""

    @property
    def overtime(self) -> Decimal:
        return self.worked - self.expected


def _contract_on(contracts: list[Contract], day: date) -> Contract | None:
    current = None
    for contract in contracts:
        if contract.starts_on <= day and (contract.ends_on is None or contract.ends_on >= day):
            current = contract
    return current


def _scheduled(contract: Contract | None, default_weekly: Decimal, day: date) -> Decimal:
    work_days = list(contract.work_days or MONDAY_TO_FRIDAY) if contract is not None else MONDAY_TO_FRIDAY
    if day.isoweekday() not in work_days:
        return ZERO
    if contract is not None and contract.daily_hours is not None:
        return Decimal(contract.daily_hours)
    weekly = Decimal(contract.weekly_hours) if contract is not None else default_weekly
    return (weekly / len(work_days)).quantize(TWO_PLACES, rounding=ROUND_HALF_UP)


def expected_days(
    *, employee_ids: Sequence[uuid.UUID], date_from: date, date_to: date
) -> dict[uuid.UUID, list[DayHours]]:
    """Day by day, per employee, in five queries whatever the number of employees."""
    weekly = dict(Employee.objects.filter(pk__in=employee_ids).values_list("id", "weekly_hours"))
    contracts = contracts_of(employee_ids)
    calendar = calendar_get()
    company_off = {off.date: off for off in CompanyDayOff.objects.filter(date__range=(date_from, date_to))}
    leave: dict[uuid.UUID, list[LeaveRecord]] = defaultdict(list)
    for record in LeaveRecord.objects.filter(
        employee_id__in=employee_ids, status=LeaveStatus.APPROVED, start_date__lte=date_to, end_date__gte=date_from
    ).select_related("leave_type"):
        leave[record.employee_id].append(record)
    worked: dict[tuple[uuid.UUID, date], Decimal] = {
        (employee_id, day): Decimal(hours or 0)
        for employee_id, day, hours in AttendanceRecord.objects.filter(
            employee_id__in=employee_ids, date__range=(date_from, date_to)
        ).values_list("employee_id", "date", "worked_hours")
    }
    days = [date_from + timedelta(days=offset) for offset in range((date_to - date_from).days + 1)]
    result: dict[uuid.UUID, list[DayHours]] = {}
    for employee_id in employee_ids:
        own = contracts.get(employee_id, [])
        default_weekly = Decimal(weekly.get(employee_id) or 0)
        rows: list[DayHours] = []
        for day in days:
            contract = _contract_on(own, day)
            country = (contract.country if contract is not None and contract.country else calendar.country) or ""
            subdivision = contract.subdivision if contract is not None and contract.country else calendar.subdivision
            scheduled = _scheduled(contract, default_weekly, day)
            holiday = ZERO
            holiday_name = _public_holidays(country, subdivision or "", day.year).get(day, "")
            if holiday_name:
                holiday = scheduled
            elif day in company_off:
                holiday_name = company_off[day].name
                holiday = (
                    (scheduled / 2).quantize(TWO_PLACES, rounding=ROUND_HALF_UP)
                    if company_off[day].half_day
                    else scheduled
                )
            remaining = scheduled - holiday
            leave_hours, leave_code = ZERO, ""
            for record in leave.get(employee_id, []):
                if record.start_date <= day <= record.end_date:
                    leave_code = record.leave_type.code
                    if record.portion == LeavePortion.FULL_DAY:
                        leave_hours = remaining
                    elif record.portion == LeavePortion.HALF_DAY:
                        leave_hours = (remaining / 2).quantize(TWO_PLACES, rounding=ROUND_HALF_UP)
                    else:
                        leave_hours = min(remaining, Decimal(record.hours or 0))
            rows.append(
                DayHours(
                    date=day,
                    scheduled=scheduled,
                    holiday=holiday,
                    leave=leave_hours,
                    expected=remaining - leave_hours,
                    worked=worked.get((employee_id, day), ZERO),
                    holiday_name=holiday_name,
                    leave_type=leave_code,
                )
            )
        result[employee_id] = rows
    return result


@dataclass(frozen=True)
class Flexitime:
    """An employee's flexitime account over a period: the balance carried in, the period's days, carried out.

    The account opens on the first day of the first contract or the first day with attendance, whichever is
    earlier; each day from then adds what was worked beyond what was expected (negative when short)."""

    opens: date | None
    carried_in: Decimal
    days: list[DayHours]
    change: Decimal

    @property
    def carried_out(self) -> Decimal:
        return self.carried_in + self.change

    @property
    def expected(self) -> Decimal:
        return sum((day.expected for day in self.days), ZERO)

    @property
    def worked(self) -> Decimal:
        return sum((day.worked for day in self.days), ZERO)

    @property
    def leave(self) -> Decimal:
        return sum((day.leave for day in self.days), ZERO)

    @property
    def overtime(self) -> Decimal:
        return sum((day.overtime for day in self.days), ZERO)


def flexitime_opens(*, employee_id: uuid.UUID) -> date | None:
    first_contract = (
        Contract.objects.filter(employee_id=employee_id).order_by("starts_on").values_list("starts_on", flat=True)[:1]
    )
    first_attendance = (
        AttendanceRecord.objects.filter(employee_id=employee_id).order_by("date").values_list("date", flat=True)[:1]
    )
    known = [*first_contract, *first_attendance]
    return min(known) if known else None


def flexitime_balance(*, employee_id: uuid.UUID, date_from: date, date_to: date) -> Flexitime:
    """The period's expected and worked hours day by day, and the flexitime balance carried into and out of it."""
    opens = flexitime_opens(employee_id=employee_id)
    start = min(opens, date_from) if opens is not None else date_from
    every_day = expected_days(employee_ids=[employee_id], date_from=start, date_to=date_to)[employee_id]
    counted = [day for day in every_day if opens is not None and day.date >= opens]
    return Flexitime(
        opens=opens,
        carried_in=sum((day.overtime for day in counted if day.date < date_from), ZERO),
        days=[day for day in every_day if day.date >= date_from],
        change=sum((day.overtime for day in counted if day.date >= date_from), ZERO),
    )


def leave_days_taken(*, employee_id: uuid.UUID, leave_type_id: str, year: int) -> Decimal:
    """Working days of approved leave of a type in a year (a half day counts half, hours as a share of the day)."""
    start, end = date(year, 1, 1), date(year, 12, 31)
    days = expected_days(employee_ids=[employee_id], date_from=start, date_to=end)[employee_id]
    by_day = {row.date: row for row in days}
    taken = ZERO
    for record in LeaveRecord.objects.filter(
        employee_id=employee_id,
        leave_type_id=leave_type_id,
        status=LeaveStatus.APPROVED,
        start_date__lte=end,
        end_date__gte=start,
    ):
        day = max(record.start_date, start)
        while day <= min(record.end_date, end):
            row = by_day[day]
            base = row.scheduled - row.holiday
            if base > 0:
                taken += row.leave / base
            day += timedelta(days=1)
    return taken.quantize(Decimal("0.1"))


def entitlements_of(*, employee_id: uuid.UUID, year: int) -> QuerySet[LeaveEntitlement]:
    return LeaveEntitlement.objects.filter(employee_id=employee_id, year=year).select_related("leave_type")


def days_off(*, employee_ids: Sequence[uuid.UUID], date_from: date, date_to: date) -> dict[tuple[str, date], str]:
    """Employee-days nobody should be working: public holidays of their location, whole company days off and
    whole days of approved leave, keyed by (employee id as text, day), with what the day is."""
    calendar = calendar_get()
    contracts = contracts_of(employee_ids)
    company = {
        off.date: off.name for off in CompanyDayOff.objects.filter(date__range=(date_from, date_to), half_day=False)
    }
    found: dict[tuple[str, date], str] = {}
    for record in LeaveRecord.objects.filter(
        employee_id__in=employee_ids,
        status=LeaveStatus.APPROVED,
        portion=LeavePortion.FULL_DAY,
        start_date__lte=date_to,
        end_date__gte=date_from,
    ).select_related("leave_type"):
        day = max(record.start_date, date_from)
        while day <= min(record.end_date, date_to):
            found[(str(record.employee_id), day)] = f"leave ({record.leave_type.name})"
            day += timedelta(days=1)
    days = [date_from + timedelta(days=offset) for offset in range((date_to - date_from).days + 1)]
    for employee_id in employee_ids:
        own = contracts.get(employee_id, [])
        for day in days:
            key = (str(employee_id), day)
            if key in found:
                continue
            contract = _contract_on(own, day)
            local = contract is not None and bool(contract.country)
            country = contract.country if local and contract is not None else calendar.country
            subdivision = contract.subdivision if local and contract is not None else calendar.subdivision
            name = _public_holidays(country, subdivision or "", day.year).get(day) or company.get(day)
            if name:
                found[key] = f"holiday ({name})"
    return found


@dataclass(frozen=True)
class PartDayOff:
    """An employee-day of which only part is working time: half-day or hours of leave, or a company half day."""

    working: Decimal  # the hours the day still expects (the working part)
    what: str


def part_days_off(
    *, employee_ids: Sequence[uuid.UUID], date_from: date, date_to: date
) -> dict[tuple[str, date], PartDayOff]:
    """Employee-days with approved half-day or hours leave, or on a company half day off, that the contract
    schedules work on, keyed by (employee id as text, day). Two small queries when there are none; otherwise
    expected_days over the employees and dates concerned (five more)."""
    records = list(
        LeaveRecord.objects.filter(
            employee_id__in=employee_ids,
            status=LeaveStatus.APPROVED,
            start_date__lte=date_to,
            end_date__gte=date_from,
        )
        .exclude(portion=LeavePortion.FULL_DAY)
        .select_related("leave_type")
    )
    half_days = {
        off.date: off.name for off in CompanyDayOff.objects.filter(date__range=(date_from, date_to), half_day=True)
    }
    if not records and not half_days:
        return {}
    leave_names = {(record.employee_id, record.start_date): record.leave_type.name for record in records}
    concerned = sorted({record.employee_id for record in records}) if not half_days else list(employee_ids)
    days = [record.start_date for record in records] + list(half_days)
    found: dict[tuple[str, date], PartDayOff] = {}
    by_employee = expected_days(employee_ids=concerned, date_from=min(days), date_to=max(days))
    for employee_id, rows in by_employee.items():
        for row in rows:
            name = leave_names.get((employee_id, row.date))
            if name is not None and row.leave > 0:
                found[(str(employee_id), row.date)] = PartDayOff(working=row.expected, what=f"part-day leave ({name})")
            elif row.date in half_days and 0 < row.holiday < row.scheduled:
                found[(str(employee_id), row.date)] = PartDayOff(
                    working=row.expected, what=f"half day off ({half_days[row.date]})"
                )
    return found
