"""Writes of working time: calendar, company days off, leave, entitlements, contracts, rules and violations."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from audit.services import ActorLike, acting_user, audit_append
from core.errors import Conflict, NotFound, PeriodLocked, PermissionDenied, ValidationFailed
from timesheets.lifecycle import closed_periods, may_decide_week
from timesheets.models import Employee
from worktime.compliance import ComplianceRun, affected_until, violations_compute
from worktime.models import (
    ACTIVE_LEAVE,
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
from worktime.selectors import countries_supported, leave_overlapping

# A compliance check runs in the request: it is bounded to a year of attendance.
MAX_CHECK_DAYS = 366
MAX_LEAVE_DAYS = 366


class LeaveOverlap(Conflict):
    code = "leave_overlap"


class LeaveNotPending(Conflict):
    code = "leave_not_pending"


class ContractOverlap(Conflict):
    code = "contract_overlap"


def _location_check(country: str, subdivision: str, *, field: str = "country") -> None:
    if not country:
        if subdivision:
            raise ValidationFailed("A subdivision needs a country.", fields={"subdivision": ["Set a country first."]})
        return
    supported = countries_supported()
    if country not in supported:
        raise ValidationFailed(
            "Unknown country code.", fields={field: [f"'{country}' is not an ISO 3166 country with known holidays."]}
        )
    if subdivision and subdivision not in supported[country]:
        raise ValidationFailed(
            "Unknown subdivision.",
            fields={"subdivision": [f"One of {', '.join(supported[country]) or 'none'} for {country}."]},
        )


@transaction.atomic
def calendar_save(*, actor: ActorLike, country: str, subdivision: str = "") -> WorkCalendar:
    country, subdivision = country.upper(), subdivision.upper()
    _location_check(country, subdivision)
    calendar, _ = WorkCalendar.objects.update_or_create(pk=1, defaults={"country": country, "subdivision": subdivision})
    audit_append(
        actor=actor,
        action="calendar.update",
        object_type="calendar",
        object_id=1,
        data={"country": country, "subdivision": subdivision},
    )
    return calendar


@transaction.atomic
def day_off_add(*, actor: ActorLike, day: date, name: str, half_day: bool = False) -> CompanyDayOff:
    if CompanyDayOff.objects.filter(date=day).exists():
        raise Conflict("That day is already a company day off.", fields={"date": ["Already a day off."]})
    off = CompanyDayOff.objects.create(date=day, name=name, half_day=half_day)
    audit_append(
        actor=actor,
        action="day_off.create",
        object_type="company_day_off",
        object_id=off.id,
        data={"date": day.isoformat(), "name": name, "half_day": half_day},
    )
    return off


@transaction.atomic
def day_off_delete(*, actor: ActorLike, day_off: CompanyDayOff) -> None:
    audit_append(
        actor=actor,
        action="day_off.delete",
        object_type="company_day_off",
        object_id=day_off.id,
        data={"date": day_off.date.isoformat()},
    )
    day_off.delete()


@transaction.atomic
def leave_type_create(
    *, actor: ActorLike, code: str, name: str, paid: bool, requires_approval: bool, uses_entitlement: bool
) -> LeaveType:
    if LeaveType.objects.filter(code=code).exists():
        raise Conflict("A leave type with that code exists.", fields={"code": ["Already used."]})
    leave_type = LeaveType.objects.create(
        code=code, name=name, paid=paid, requires_approval=requires_approval, uses_entitlement=uses_entitlement
    )
    audit_append(
        actor=actor,
        action="leave_type.create",
        object_type="leave_type",
        object_id=leave_type.code,
        data={"name": name},
    )
    return leave_type


@dataclass(frozen=True)
class LeaveInput:
    """One leave entry as sent; `index` is its row in an import, for error messages."""

    employee_id: uuid.UUID
    leave_type: LeaveType
    start_date: date
    end_date: date
    portion: str = LeavePortion.FULL_DAY
    hours: Decimal | None = None
    note: str = ""
    index: int | None = None


def _leave_errors(entry: LeaveInput) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if entry.end_date < entry.start_date:
        errors["end_date"] = ["Must be on or after start_date."]
    elif (entry.end_date - entry.start_date).days >= MAX_LEAVE_DAYS:
        errors["end_date"] = [f"At most {MAX_LEAVE_DAYS} days in one entry."]
    if entry.portion != LeavePortion.FULL_DAY and entry.end_date != entry.start_date:
        errors["end_date"] = ["Half days and hours are entered for one day at a time."]
    if entry.portion == LeavePortion.HOURS:
        if entry.hours is None or not entry.hours.is_finite() or not Decimal(0) < entry.hours <= Decimal(24):
            errors["hours"] = ["Between 0 and 24 hours."]
    elif entry.hours is not None:
        errors["hours"] = ["Hours are given only with portion 'hours'."]
    if not entry.leave_type.active:
        errors["leave_type"] = ["This leave type is no longer in use."]
    return errors


def _closed_period_check(spans: Sequence[tuple[date, date, int | None]]) -> None:
    """409 `period_locked` when leave would change the hours of a closed pay period (expected and leave hours go
    to payroll), naming the period and the field, and the row of an import."""
    if not spans:
        return
    periods = list(
        closed_periods(date_from=min(span[0] for span in spans), date_to=max(span[1] for span in spans)).order_by(
            "start_date"
        )
    )
    for start, end, index in spans:
        for period in periods:
            if period.start_date <= end and period.end_date >= start:
                problem = {"start_date": [f"In the closed pay period {period.start_date} to {period.end_date}."]}
                raise PeriodLocked(
                    f"The pay period {period.start_date} to {period.end_date} is closed: its leave cannot change.",
                    fields=problem if index is None else {"rows": {str(index): problem}},
                    extra={
                        "period": {
                            "id": str(period.id),
                            "start_date": period.start_date.isoformat(),
                            "end_date": period.end_date.isoformat(),
                        }
                    },
                )


def _lock_employees(ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Employee]:
    """Lock the employees in a fixed order so that two overlapping requests cannot both pass the overlap check."""
    return {
        employee.id: employee for employee in Employee.objects.select_for_update().filter(pk__in=ids).order_by("pk")
    }


def _leave_write(*, actor: ActorLike, entries: Sequence[LeaveInput], as_request: bool) -> list[LeaveRecord]:
    employees = _lock_employees(sorted({entry.employee_id for entry in entries}))
    errors: dict[str, Any] = {}
    batch: list[LeaveInput] = []
    for entry in entries:
        problems = _leave_errors(entry)
        if entry.employee_id not in employees:
            problems["employee"] = ["No such employee."]
        if not problems:
            clash = leave_overlapping(employee_id=entry.employee_id, start=entry.start_date, end=entry.end_date) or any(
                other.employee_id == entry.employee_id
                and other.start_date <= entry.end_date
                and other.end_date >= entry.start_date
                for other in batch
            )
            if clash:
                if len(entries) == 1:
                    raise LeaveOverlap(
                        "The employee already has leave on some of these days.",
                        fields={"start_date": ["Overlaps other leave."]},
                    )
                problems["start_date"] = ["Overlaps other leave of the same employee."]
        if problems and entry.index is not None:
            # An import names the row, then its fields, like every row import of the API.
            errors.setdefault("rows", {})[str(entry.index)] = problems
        else:
            errors.update(problems)
        batch.append(entry)
    if errors:
        raise ValidationFailed("Some leave entries are invalid; nothing was written.", fields=errors)
    _closed_period_check([(entry.start_date, entry.end_date, entry.index) for entry in entries])
    now = timezone.now()
    user = acting_user(actor)
    records = []
    for entry in entries:
        needs_approval = as_request and entry.leave_type.requires_approval
        records.append(
            LeaveRecord(
                employee_id=entry.employee_id,
                leave_type=entry.leave_type,
                start_date=entry.start_date,
                end_date=entry.end_date,
                portion=entry.portion,
                hours=entry.hours,
                note=entry.note,
                status=LeaveStatus.REQUESTED if needs_approval else LeaveStatus.APPROVED,
                requested_by=user,
                decided_by=None if needs_approval else user,
                decided_at=None if needs_approval else now,
            )
        )
    return LeaveRecord.objects.bulk_create(records)


@transaction.atomic
def leave_create(*, actor: ActorLike, entry: LeaveInput, as_request: bool) -> LeaveRecord:
    """Record leave (HR: approved at once) or request it (an employee: approved later when the type needs it)."""
    (record,) = _leave_write(actor=actor, entries=[entry], as_request=as_request)
    audit_append(
        actor=actor,
        action="leave.request" if record.status == LeaveStatus.REQUESTED else "leave.create",
        object_type="leave",
        object_id=record.id,
        data={
            "employee": str(record.employee_id),
            "type": entry.leave_type.code,
            "start": record.start_date.isoformat(),
            "end": record.end_date.isoformat(),
            "portion": record.portion,
        },
    )
    return record


@transaction.atomic
def leave_import(*, actor: ActorLike, entries: Sequence[LeaveInput]) -> int:
    """Import approved leave in one transaction: a bad row is a 400 naming row and field, and nothing is written."""
    records = _leave_write(actor=actor, entries=entries, as_request=False)
    audit_append(actor=actor, action="leave.import", object_type="leave", data={"rows": len(records)})
    return len(records)


@transaction.atomic
def leave_decide(*, actor: ActorLike, record: LeaveRecord, approve: bool, comment: str = "") -> LeaveRecord:
    locked = LeaveRecord.objects.select_for_update().filter(pk=record.pk).first()
    if locked is None:
        raise NotFound("No such leave.")
    if locked.status != LeaveStatus.REQUESTED:
        raise LeaveNotPending(f"This leave is {locked.status}, not waiting for a decision.")
    if approve:
        _closed_period_check([(locked.start_date, locked.end_date, None)])
    locked.status = LeaveStatus.APPROVED if approve else LeaveStatus.REJECTED
    locked.decided_by = acting_user(actor)
    locked.decided_at = timezone.now()
    locked.decision_comment = comment
    locked.save(update_fields=["status", "decided_by", "decided_at", "decision_comment", "updated_at"])
    audit_append(
        actor=actor,
        action="leave.approve" if approve else "leave.reject",
        object_type="leave",
        object_id=locked.id,
        data={"comment": comment},
    )
    return locked


@transaction.atomic
def leave_cancel(*, actor: ActorLike, record: LeaveRecord) -> LeaveRecord:
    locked = LeaveRecord.objects.select_for_update().get(pk=record.pk)
    if locked.status not in ACTIVE_LEAVE:
        raise LeaveNotPending(f"This leave is {locked.status} already.")
    if locked.status == LeaveStatus.APPROVED:
        _closed_period_check([(locked.start_date, locked.end_date, None)])
    locked.status = LeaveStatus.CANCELLED
    locked.save(update_fields=["status", "updated_at"])
    audit_append(actor=actor, action="leave.cancel", object_type="leave", object_id=locked.id, data={})
    return locked


@transaction.atomic
def entitlement_set(
    *, actor: ActorLike, employee: Employee, leave_type: LeaveType, year: int, days: Decimal
) -> LeaveEntitlement:
    if not days.is_finite() or not Decimal(0) <= days <= Decimal(366):
        raise ValidationFailed("Days out of range.", fields={"days": ["Between 0 and 366."]})
    row, _ = LeaveEntitlement.objects.update_or_create(
        employee=employee, leave_type=leave_type, year=year, defaults={"days": days}
    )
    audit_append(
        actor=actor,
        action="entitlement.set",
        object_type="leave_entitlement",
        object_id=row.id,
        data={"employee": str(employee.id), "type": leave_type.code, "year": year, "days": str(days)},
    )
    return row


@dataclass(frozen=True)
class ContractInput:
    starts_on: date
    weekly_hours: Decimal
    work_days: list[int]
    ends_on: date | None = None
    daily_hours: Decimal | None = None
    country: str = ""
    subdivision: str = ""


@transaction.atomic
def contract_create(*, actor: ActorLike, employee: Employee, terms: ContractInput) -> Contract:
    """New terms from a date. An open contract before it ends the day before; any other overlap is a 409."""
    errors: dict[str, list[str]] = {}
    if terms.ends_on is not None and terms.ends_on < terms.starts_on:
        errors["ends_on"] = ["Must be on or after starts_on."]
    if not terms.work_days or sorted(set(terms.work_days)) != sorted(terms.work_days):
        errors["work_days"] = ["At least one weekday, each once (1 = Monday … 7 = Sunday)."]
    if not Decimal(0) <= terms.weekly_hours <= Decimal(168):
        errors["weekly_hours"] = ["Between 0 and 168."]
    if terms.daily_hours is not None and not Decimal(0) < terms.daily_hours <= Decimal(24):
        errors["daily_hours"] = ["Between 0 and 24."]
    if errors:
        raise ValidationFailed("The contract terms are invalid.", fields=errors)
    _location_check(terms.country.upper(), terms.subdivision.upper())
    # Read under the employee's row lock, so a start date changed meanwhile is the one checked.
    start_date = _lock_employees([employee.id])[employee.id].start_date
    if start_date is not None and terms.starts_on < start_date:
        raise ValidationFailed(
            "The contract starts before the employee does.",
            fields={"starts_on": [f"Must be on or after the employee's start date, {start_date.isoformat()}."]},
        )
    existing = list(Contract.objects.filter(employee=employee).order_by("starts_on"))
    new_end = terms.ends_on or date.max
    for contract in existing:
        if contract.starts_on >= terms.starts_on:
            if contract.starts_on <= new_end:
                raise ContractOverlap(
                    "Another contract of this employee starts inside this one.",
                    fields={"starts_on": [f"A contract starts on {contract.starts_on.isoformat()}."]},
                )
            continue
        if contract.ends_on is None:
            contract.ends_on = terms.starts_on - timedelta(days=1)
            contract.save(update_fields=["ends_on"])
        elif contract.ends_on >= terms.starts_on:
            raise ContractOverlap(
                "The previous contract runs past this start.",
                fields={"starts_on": [f"The previous contract ends on {contract.ends_on.isoformat()}."]},
            )
    try:
        with transaction.atomic():
            contract = Contract.objects.create(
                employee=employee,
                starts_on=terms.starts_on,
                ends_on=terms.ends_on,
                weekly_hours=terms.weekly_hours,
                work_days=sorted(terms.work_days),
                daily_hours=terms.daily_hours,
                country=terms.country.upper(),
                subdivision=terms.subdivision.upper(),
            )
    except IntegrityError as error:
        raise ContractOverlap("A contract of this employee starts on that day.") from error
    audit_append(
        actor=actor,
        action="contract.create",
        object_type="contract",
        object_id=contract.id,
        data={
            "employee": str(employee.id),
            "starts_on": terms.starts_on.isoformat(),
            "weekly": str(terms.weekly_hours),
        },
    )
    return contract


@transaction.atomic
def contract_delete(*, actor: ActorLike, contract: Contract) -> None:
    audit_append(
        actor=actor,
        action="contract.delete",
        object_type="contract",
        object_id=contract.id,
        data={"employee": str(contract.employee_id), "starts_on": contract.starts_on.isoformat()},
    )
    contract.delete()


@transaction.atomic
def rules_save(*, actor: ActorLike, preset: str, thresholds: dict[str, Any]) -> ComplianceRuleSet:
    parsed = thresholds_parse(preset, thresholds)
    row, _ = ComplianceRuleSet.objects.update_or_create(
        pk=1, defaults={"preset": preset, "thresholds": {k: v for k, v in parsed.as_json().items() if k in thresholds}}
    )
    audit_append(
        actor=actor,
        action="compliance_rules.update",
        object_type="compliance_rules",
        object_id=1,
        data={"preset": preset},
    )
    return row


def _rules_for_a_check() -> Thresholds:
    """The thresholds in force, holding the rules row until the caller's transaction ends: checks of one tenant
    (an import's, the nightly one, one on request) run one at a time, so a check computed from older attendance
    cannot leave its rows behind a newer one's, and the rules cannot change under a running check."""
    ComplianceRuleSet.objects.get_or_create(pk=1, defaults={"preset": DEFAULT_PRESET, "thresholds": {}})
    row = ComplianceRuleSet.objects.select_for_update().get(pk=1)
    return thresholds_parse(row.preset, row.thresholds)


@transaction.atomic
def compliance_check(*, actor: ActorLike, date_from: date, date_to: date) -> ComplianceRun:
    """Recompute the violations of a date range from attendance (idempotent; acknowledged violations stay)."""
    if date_to < date_from:
        raise ValidationFailed("Invalid range.", fields={"date_to": ["Must be on or after date_from."]})
    if (date_to - date_from).days >= MAX_CHECK_DAYS:
        raise ValidationFailed("Range too long.", fields={"date_to": [f"At most {MAX_CHECK_DAYS} days."]})
    thresholds = _rules_for_a_check()
    run = violations_compute(thresholds=thresholds, date_from=date_from, date_to=date_to)
    audit_append(
        actor=actor,
        action="compliance.check",
        object_type="compliance",
        data={"from": date_from.isoformat(), "to": date_to.isoformat(), "violations": run.violations},
    )
    return run


@transaction.atomic
def violation_acknowledge(*, actor: ActorLike, violation: ComplianceViolation, comment: str) -> ComplianceViolation:
    """Whoever may approve the employee's weeks acknowledges their violations, with a reason."""
    if actor is not None and not may_decide_week(acting_user(actor), violation.employee):
        raise PermissionDenied("You may not acknowledge this employee's violations.")
    if not comment.strip():
        raise ValidationFailed("Say why it is acknowledged.", fields={"comment": ["Required."]})
    if violation.acknowledged_at is not None:
        raise Conflict("This violation is acknowledged already.")
    violation.acknowledged_by = acting_user(actor)
    violation.acknowledged_at = timezone.now()
    violation.acknowledgement = comment.strip()
    violation.save(update_fields=["acknowledged_by", "acknowledged_at", "acknowledgement"])
    audit_append(
        actor=actor,
        action="violation.acknowledge",
        object_type="compliance_violation",
        object_id=violation.id,
        data={"rule": violation.rule, "date": violation.date.isoformat()},
    )
    return violation


@transaction.atomic
def compliance_check_imported(
    *, actor: ActorLike, employee_ids: Sequence[str], date_from: date, date_to: date
) -> ComplianceRun:
    """Recompute the violations an attendance import can have changed: those employees, from the first imported
    day to the last day the imported days reach (rest, runs of days, reference periods); idempotent."""
    thresholds = _rules_for_a_check()
    last = affected_until(date_to, thresholds)
    by_rule: dict[str, int] = {}
    start = date_from
    # In windows of at most a year, like every check, whatever the span of the import.
    while start <= last:
        end = min(last, start + timedelta(days=MAX_CHECK_DAYS - 1))
        run = violations_compute(thresholds=thresholds, date_from=start, date_to=end, employee_ids=employee_ids)
        for rule, count in run.by_rule.items():
            by_rule[rule] = by_rule.get(rule, 0) + count
        start = end + timedelta(days=1)
    total = sum(by_rule.values())
    audit_append(
        actor=actor,
        action="compliance.check",
        object_type="compliance",
        data={
            "from": date_from.isoformat(),
            "to": last.isoformat(),
            "employees": len(employee_ids),
            "trigger": "attendance_import",
            "violations": total,
        },
    )
    return ComplianceRun(date_from=date_from, date_to=last, violations=total, by_rule=by_rule)
