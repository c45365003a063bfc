"""The week of an employee: correcting a day's split, submitting, approving or rejecting, reopening, bulk approval.

Who may do what is decided by `timesheets.lifecycle.may_edit_week` (the employee or HR/Admin) and
`may_decide_week` (HR/Admin; the one place a manager rule goes). Approved weeks are frozen: their
allocations refuse changes until the week is reopened; a closed pay period refuses them in the database.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from typing import Any

from django.db import transaction
from django.utils import timezone

from audit.services import ActorLike, acting_user, audit_append
from core.errors import ApplicationError, Conflict, PermissionDenied, ValidationFailed
from timesheets.lifecycle import (
    may_decide_week,
    may_edit_week,
    period_lock_check,
    week_start_of,
    week_view,
    weeks_frozen_check,
)
from timesheets.models import (
    DayNote,
    Employee,
    Project,
    TimesheetProjectAllocation,
    TimesheetWeek,
    UnallocatedDay,
    WeekStatus,
)
from timesheets.selectors import uuid_or_none
from timesheets.services.records import MAX_DAY_HOURS, TWO_PLACES
from timesheets.services.reminders import week_rejected_tell

MAX_COMMENT = 1000
MAX_NOTE = 500
MAX_BULK_WEEKS = 1000
MAX_DAY_ROWS = 50


class WeekIncomplete(ApplicationError):
    """Submission refused: attended days that are neither fully allocated nor explained by a note."""

    status = 400
    code = "week_incomplete"


@dataclass(frozen=True)
class DaySplitRow:
    project_id: uuid.UUID
    hours: Decimal


@dataclass(frozen=True)
class DaySaved:
    created: int
    updated: int
    deleted: int
    allocated: Decimal


def _week_for_update(*, employee: Employee, week_start: date) -> TimesheetWeek | None:
    return TimesheetWeek.objects.select_for_update().filter(employee=employee, week_start=week_start).first()


@transaction.atomic
def day_split_save(
    *, actor: ActorLike, employee: Employee, day: date, rows: Sequence[DaySplitRow], note: str | None
) -> DaySaved:
    """Replace one day's allocations with `rows` (a row per project; a project left out is removed) and set
    its note (`None` keeps it, "" removes it). Saving resolves the day's `UnallocatedDay` entry.

    Refused in an approved week (reopen it first) and in a closed pay period (409 `period_locked`).
    """
    user = acting_user(actor)
    if actor is not None and not may_edit_week(user, employee):
        raise PermissionDenied("You may not change this employee's timesheet.")
    errors: dict[str, list[str]] = {}
    seen: set[uuid.UUID] = set()
    for index, row in enumerate(rows):
        if not Decimal(0) < row.hours <= MAX_DAY_HOURS:
            errors.setdefault("allocations", []).append(f"Row {index}: hours must be more than 0 and at most 24.")
        if row.project_id in seen:
            errors.setdefault("allocations", []).append(f"Row {index}: the same project twice in one day.")
        seen.add(row.project_id)
    if len(rows) > MAX_DAY_ROWS:
        errors.setdefault("allocations", []).append(f"At most {MAX_DAY_ROWS} projects in one day.")
    total = sum((row.hours for row in rows), Decimal(0))
    if total > MAX_DAY_HOURS:
        errors.setdefault("allocations", []).append("A day holds at most 24 hours.")
    existing = {
        allocation.project_id: allocation
        for allocation in TimesheetProjectAllocation.objects.select_for_update().filter(employee=employee, date=day)
    }
    projects = {p.id: p for p in Project.objects.filter(id__in=seen).only("id", "active")}
    for index, row in enumerate(rows):
        project = projects.get(row.project_id)
        if project is None:
            errors.setdefault("allocations", []).append(f"Row {index}: no such project.")
        elif not project.active and row.project_id not in existing:
            errors.setdefault("allocations", []).append(f"Row {index}: the project is not active.")
    if note is not None and len(note) > MAX_NOTE:
        errors.setdefault("note", []).append(f"At most {MAX_NOTE} characters.")
    if errors:
        raise ValidationFailed("Invalid input.", fields=errors)
    period_lock_check([day])
    weeks_frozen_check([(employee.id, day)])
    wanted = {row.project_id: row.hours.quantize(TWO_PLACES, rounding=ROUND_HALF_UP) for row in rows}
    removed = [a for project_id, a in existing.items() if project_id not in wanted]
    changed = [a for project_id, a in existing.items() if project_id in wanted and a.hours != wanted[project_id]]
    added = [project_id for project_id in wanted if project_id not in existing]
    before = {str(project_id): str(a.hours) for project_id, a in existing.items()}
    if removed:
        TimesheetProjectAllocation.objects.filter(id__in=[a.id for a in removed]).delete()
    for allocation in changed:
        allocation.hours = wanted[allocation.project_id]
        allocation.suggestion_accepted = False
    if changed:
        TimesheetProjectAllocation.objects.bulk_update(changed, ["hours", "suggestion_accepted", "updated_at"])
    if added:
        TimesheetProjectAllocation.objects.bulk_create(
            [
                TimesheetProjectAllocation(employee=employee, project_id=project_id, date=day, hours=wanted[project_id])
                for project_id in added
            ]
        )
    note_before = DayNote.objects.filter(employee=employee, date=day).values_list("note", flat=True).first()
    if note is not None:
        if note.strip():
            DayNote.objects.update_or_create(employee=employee, date=day, defaults={"note": note.strip()})
        else:
            DayNote.objects.filter(employee=employee, date=day).delete()
    resolved = UnallocatedDay.objects.filter(employee=employee, date=day).delete()[0]
    # An employee changing a week already submitted takes it back: it is a draft again until resubmitted, so an
    # approver never approves hours other than those submitted. HR's corrections leave the status as it is.
    returned = 0
    if actor is not None and not may_decide_week(user, employee):
        returned = TimesheetWeek.objects.filter(
            employee=employee, week_start=week_start_of(day), status=WeekStatus.SUBMITTED
        ).update(status=WeekStatus.DRAFT)
    audit_append(
        actor=actor,
        action="timesheet.day_save",
        object_type="employee",
        object_id=employee.id,
        data={
            "date": day.isoformat(),
            "before": before,
            "after": {str(project_id): str(hours) for project_id, hours in wanted.items()},
            "deleted_allocations": [str(a.id) for a in removed],
            "note_changed": note is not None and (note.strip() or None) != note_before,
            "unallocated_resolved": bool(resolved),
            "week_returned_to_draft": bool(returned),
        },
    )
    return DaySaved(
        created=len(added), updated=len(changed), deleted=len(removed), allocated=sum(wanted.values(), Decimal(0))
    )


@transaction.atomic
def week_submit(*, actor: ActorLike, employee: Employee, week_start: date) -> TimesheetWeek:
    """Submit a week (the employee, or HR for them). Every attended day must be fully allocated or carry a
    note; otherwise 400 `week_incomplete` listing the days. A submitted or approved week cannot be submitted."""
    user = acting_user(actor)
    if actor is not None and not may_edit_week(user, employee):
        raise PermissionDenied("You may not submit this employee's week.")
    if week_start.weekday() != 0:
        raise ValidationFailed("Invalid input.", fields={"week_start": ["A week starts on a Monday."]})
    week = _week_for_update(employee=employee, week_start=week_start)
    if week is not None and week.status in (WeekStatus.SUBMITTED, WeekStatus.APPROVED):
        raise Conflict(f"The week is already {week.status}.", extra={"status": week.status})
    missing = week_view(employee=employee, week_start=week_start).missing
    if missing:
        raise WeekIncomplete(
            f"{len(missing)} attended day(s) are not fully allocated and carry no note.",
            fields={
                "days": {row["date"]: [f"{row['allocated']} of {row['attended']} h allocated."] for row in missing}
            },
            extra={"missing": missing},
        )
    if week is None:
        week = TimesheetWeek(employee=employee, week_start=week_start)
    week.status = WeekStatus.SUBMITTED
    week.submitted_at = timezone.now()
    week.submitted_by = user
    week.decided_at, week.decided_by = None, None
    week.save()
    audit_append(
        actor=actor,
        action="week.submit",
        object_type="week",
        object_id=week.id,
        data={"employee": str(employee.id), "week_start": week_start.isoformat()},
    )
    return week


def _decide_one(week: TimesheetWeek, *, user: Any, approve: bool, comment: str, now: Any) -> None:
    week.status = WeekStatus.APPROVED if approve else WeekStatus.REJECTED
    week.decided_at, week.decided_by, week.comment = now, user, comment


@transaction.atomic
def week_decide(*, actor: ActorLike, week: TimesheetWeek, approve: bool, comment: str = "") -> TimesheetWeek:
    """Approve or reject a submitted week. A rejection needs a comment and returns the week to the employee."""
    user = acting_user(actor)
    if actor is not None and not may_decide_week(user, week.employee):
        raise PermissionDenied("You may not decide this employee's week.")
    comment = comment.strip()
    if not approve and not comment:
        raise ValidationFailed("Invalid input.", fields={"comment": ["Say what to fix."]})
    locked = TimesheetWeek.objects.select_for_update().get(id=week.id)
    if locked.status != WeekStatus.SUBMITTED:
        raise Conflict(
            f"Only a submitted week can be decided; this one is {locked.status}.", extra={"status": locked.status}
        )
    _decide_one(locked, user=user, approve=approve, comment=comment[:MAX_COMMENT], now=timezone.now())
    locked.save(update_fields=["status", "decided_at", "decided_by", "comment", "updated_at"])
    if not approve:
        week_rejected_tell(week=locked)
    audit_append(
        actor=actor,
        action="week.approve" if approve else "week.reject",
        object_type="week",
        object_id=locked.id,
        data={
            "employee": str(locked.employee_id),
            "week_start": locked.week_start.isoformat(),
            "comment": locked.comment,
        },
    )
    return locked


@transaction.atomic
def week_reopen(*, actor: ActorLike, week: TimesheetWeek, reason: str) -> TimesheetWeek:
    """Reopen an approved week (with a reason): back to draft, its rows editable again. Refused while the
    week lies in a closed pay period."""
    user = acting_user(actor)
    if actor is not None and not may_decide_week(user, week.employee):
        raise PermissionDenied("You may not reopen this employee's week.")
    reason = reason.strip()
    if not reason:
        raise ValidationFailed("Invalid input.", fields={"reason": ["Say why the week is reopened."]})
    locked = TimesheetWeek.objects.select_for_update().get(id=week.id)
    if locked.status != WeekStatus.APPROVED:
        raise Conflict(f"Only an approved week can be reopened; this one is {locked.status}.")
    period_lock_check(locked.week_start + timedelta(days=offset) for offset in range(7))
    locked.status, locked.comment = WeekStatus.DRAFT, reason[:MAX_COMMENT]
    locked.decided_at, locked.decided_by = timezone.now(), user
    locked.save(update_fields=["status", "comment", "decided_at", "decided_by", "updated_at"])
    audit_append(
        actor=actor,
        action="week.reopen",
        object_type="week",
        object_id=locked.id,
        data={
            "employee": str(locked.employee_id),
            "week_start": locked.week_start.isoformat(),
            "reason": locked.comment,
        },
    )
    return locked


class WeekOutcome(StrEnum):
    APPROVED = "approved"
    ALREADY_APPROVED = "already_approved"
    NOT_SUBMITTED = "not_submitted"
    NOT_FOUND = "not_found"
    FORBIDDEN = "forbidden"


@dataclass
class BulkResult:
    results: list[tuple[str, WeekOutcome]] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        totals = dict.fromkeys((outcome.value for outcome in WeekOutcome), 0)
        for _, outcome in self.results:
            totals[outcome.value] += 1
        return totals


@transaction.atomic
def weeks_approve(*, actor: ActorLike, ids: Sequence[str], comment: str = "") -> BulkResult:
    """Approve many submitted weeks in one action, with an outcome per week; one UPDATE and one audit event."""
    if not ids:
        raise ValidationFailed("Invalid input.", fields={"ids": ["Send at least one id."]})
    if len(ids) > MAX_BULK_WEEKS:
        raise ValidationFailed("Invalid input.", fields={"ids": [f"At most {MAX_BULK_WEEKS} ids per request."]})
    user = acting_user(actor)
    labels: list[tuple[str, uuid.UUID | None]] = []
    seen: set[str] = set()
    for value in ids:
        key = uuid_or_none(value)
        label = str(key) if key is not None else str(value)
        if label not in seen:
            seen.add(label)
            labels.append((label, key))
    weeks = {
        week.id: week
        for week in TimesheetWeek.objects.select_for_update(of=("self",))
        .select_related("employee")
        .filter(id__in=[key for _, key in labels if key is not None])
    }
    now = timezone.now()
    result = BulkResult()
    approved: list[TimesheetWeek] = []
    for label, key in labels:
        week = weeks.get(key) if key is not None else None
        if week is None:
            outcome = WeekOutcome.NOT_FOUND
        elif actor is not None and not may_decide_week(user, week.employee):
            outcome = WeekOutcome.FORBIDDEN
        elif week.status == WeekStatus.APPROVED:
            outcome = WeekOutcome.ALREADY_APPROVED
        elif week.status != WeekStatus.SUBMITTED:
            outcome = WeekOutcome.NOT_SUBMITTED
        else:
            outcome = WeekOutcome.APPROVED
            _decide_one(week, user=user, approve=True, comment=comment.strip()[:MAX_COMMENT], now=now)
            approved.append(week)
        result.results.append((label, outcome))
    if approved:
        TimesheetWeek.objects.filter(id__in=[week.id for week in approved]).update(
            status=WeekStatus.APPROVED,
            decided_at=now,
            decided_by=user,
            comment=comment.strip()[:MAX_COMMENT],
            updated_at=now,
        )
        audit_append(
            actor=actor,
            action="weeks.approve",
            object_type="week",
            data={"ids": [str(week.id) for week in approved], "comment": comment.strip()[:MAX_COMMENT]},
        )
    return result


def week_start_checked(day: date) -> date:
    if day != week_start_of(day):
        raise ValidationFailed("Invalid input.", fields={"week_start": ["A week starts on a Monday."]})
    return day
