"""Suggestion review: accepting (with corrected hours) and rejecting pending suggestions, per-id outcomes."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import cast

from django.db import transaction
from django.utils import timezone

from audit.services import ActorLike, acting_user, audit_append
from core.errors import ValidationFailed
from core.roles import is_staff_user
from timesheets.lifecycle import period_lock_check, weeks_frozen_check
from timesheets.models import ProjectAllocationSuggestion, SuggestionStatus, TimesheetProjectAllocation
from timesheets.selectors import tenant_today, uuid_or_none, visible_employee_ids
from timesheets.services.pending import suggestions_cache_invalidate
from timesheets.services.records import MAX_DAY_HOURS, TWO_PLACES

MAX_DECISION_IDS = 1_000


class DecisionOutcome(StrEnum):
    ACCEPTED = "accepted"
    ALREADY_ACCEPTED = "already_accepted"
    REJECTED = "rejected"
    ALREADY_REJECTED = "already_rejected"
    EXPIRED = "expired"
    NOT_PENDING = "not_pending"
    NOT_FOUND = "not_found"


@dataclass(frozen=True)
class DecisionItem:
    """An id as the caller sent it (it may not even be a UUID) and, on accept, optional corrected hours."""

    id: str
    hours: Decimal | None = None


@dataclass
class DecisionResult:
    results: list[tuple[str, DecisionOutcome]] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        totals = dict.fromkeys((outcome.value for outcome in DecisionOutcome), 0)
        for _, outcome in self.results:
            totals[outcome.value] += 1
        return totals


def _decision_targets(
    *, actor: ActorLike, items: Sequence[DecisionItem]
) -> tuple[list[tuple[str, uuid.UUID | None, DecisionItem]], dict[uuid.UUID, ProjectAllocationSuggestion]]:
    """Parse and de-duplicate ids (first one wins), then lock the rows the actor may decide on."""
    if not items:
        raise ValidationFailed("Invalid input.", fields={"ids": ["Send at least one id."]})
    if len(items) > MAX_DECISION_IDS:
        raise ValidationFailed("Invalid input.", fields={"ids": [f"At most {MAX_DECISION_IDS} ids per request."]})
    targets: list[tuple[str, uuid.UUID | None, DecisionItem]] = []
    seen: set[str] = set()
    for item in items:
        key = uuid_or_none(item.id)
        label = str(key) if key is not None else str(item.id)
        if label in seen:
            continue
        seen.add(label)
        targets.append((label, key, item))
    ids = [key for _, key, _ in targets if key is not None]
    rows = ProjectAllocationSuggestion.objects.filter(id__in=ids)
    if actor is not None and not is_staff_user(actor):
        # Others' suggestions are reported exactly like unknown ids. (No actor = the system, e.g. a job.)
        rows = rows.filter(employee_id__in=visible_employee_ids(acting_user(actor)) or ())
    locked = rows.select_for_update(of=("self",)).only(
        "id", "employee_id", "project_id", "date", "hours", "status", "expiry_date"
    )
    return targets, {row.id: row for row in locked}


_ACCEPTED_STATUSES = frozenset({SuggestionStatus.ACCEPTED, SuggestionStatus.AUTO_ACCEPTED})


def _expired_mark(*, actor: ActorLike, ids: list[uuid.UUID]) -> None:
    """Pending suggestions a reviewer reached after their expiry date: their status now says `expired`.

    They were already out of the pending list (it filters on the expiry date), so no cached page changes.
    """
    if not ids:
        return
    ProjectAllocationSuggestion.objects.filter(id__in=ids, status=SuggestionStatus.PENDING).update(
        status=SuggestionStatus.EXPIRED
    )
    audit_append(
        actor=actor, action="suggestions.expire", object_type="suggestion", data={"ids": [str(i) for i in ids]}
    )


@transaction.atomic
def suggestions_expire(*, today: date) -> int:
    """Mark every pending suggestion whose expiry date is before `today` (the tenant's date) `expired`.

    One UPDATE over the pending rows (the (status, date) index finds them). Generation replaces only pending
    suggestions, so an expired one stays as the record of what was proposed and never reviewed.
    """
    expired = ProjectAllocationSuggestion.objects.filter(status=SuggestionStatus.PENDING, expiry_date__lt=today).update(
        status=SuggestionStatus.EXPIRED
    )
    if expired:
        audit_append(
            actor=None,
            action="suggestions.expire",
            object_type="suggestion",
            data={"expired": expired, "expiry_before": today.isoformat()},
        )
    return expired


@transaction.atomic
def suggestions_accept(*, actor: ActorLike, items: Sequence[DecisionItem]) -> DecisionResult:
    """Accept pending suggestions, with corrected hours where given, and write their allocations.

    One transaction: the pending rows are locked, their statuses set in one bulk UPDATE, and the allocations
    upserted in one INSERT. Idempotent: a repeat reports `already_accepted`. A suggestion past its expiry date
    is reported `expired` and marked so. `actor` is the deciding user (HR/Admin: any suggestion; anyone else:
    their own), or None for the system.
    """
    for item in items:
        if item.hours is not None and not Decimal(0) < item.hours <= MAX_DAY_HOURS:
            raise ValidationFailed("Invalid input.", fields={"hours": ["Must be more than 0 and at most 24."]})
    targets, rows = _decision_targets(actor=actor, items=items)
    today = tenant_today()
    now = timezone.now()
    result = DecisionResult()
    accepted: list[ProjectAllocationSuggestion] = []
    expired: list[uuid.UUID] = []
    for label, key, item in targets:
        row = rows.get(key) if key is not None else None
        if row is None:
            outcome = DecisionOutcome.NOT_FOUND
        elif row.status in _ACCEPTED_STATUSES:
            outcome = DecisionOutcome.ALREADY_ACCEPTED
        elif row.status == SuggestionStatus.EXPIRED:
            outcome = DecisionOutcome.EXPIRED
        elif row.status != SuggestionStatus.PENDING:
            outcome = DecisionOutcome.NOT_PENDING
        elif row.expiry_date < today:
            outcome = DecisionOutcome.EXPIRED
            expired.append(row.id)
        else:
            outcome = DecisionOutcome.ACCEPTED
            row.status = SuggestionStatus.ACCEPTED
            hours = item.hours if item.hours is not None else cast(Decimal, row.hours)
            row.accepted_hours = hours.quantize(TWO_PLACES)
            row.decided_by = acting_user(actor)
            row.decided_at = now
            accepted.append(row)
        result.results.append((label, outcome))
    _expired_mark(actor=actor, ids=expired)
    if accepted:
        period_lock_check(row.date for row in accepted)
        weeks_frozen_check({(row.employee_id, row.date) for row in accepted})
        ProjectAllocationSuggestion.objects.bulk_update(
            accepted, ["status", "accepted_hours", "decided_by", "decided_at"], batch_size=1000
        )
        TimesheetProjectAllocation.objects.bulk_create(
            [
                TimesheetProjectAllocation(
                    employee_id=row.employee_id,
                    project_id=row.project_id,
                    date=row.date,
                    hours=row.accepted_hours,
                    suggestion_id=row.id,
                    suggestion_accepted=True,
                )
                for row in accepted
            ],
            batch_size=1000,
            update_conflicts=True,
            unique_fields=["employee", "project", "date"],
            update_fields=["hours", "suggestion", "suggestion_accepted", "updated_at"],
        )
        audit_append(
            actor=actor,
            action="suggestions.accept",
            object_type="suggestion",
            data={
                "ids": [str(row.id) for row in accepted],
                "corrected": [str(row.id) for row in accepted if row.accepted_hours != row.hours],
            },
        )
        suggestions_cache_invalidate()
    return result


@transaction.atomic
def suggestions_reject(*, actor: ActorLike, ids: Sequence[str]) -> DecisionResult:
    """Reject pending suggestions in one bulk UPDATE; idempotent (a repeat reports `already_rejected`)."""
    targets, rows = _decision_targets(actor=actor, items=[DecisionItem(id=value) for value in ids])
    today = tenant_today()
    result = DecisionResult()
    rejected: list[uuid.UUID] = []
    expired: list[uuid.UUID] = []
    for label, key, _ in targets:
        row = rows.get(key) if key is not None else None
        if row is None:
            outcome = DecisionOutcome.NOT_FOUND
        elif row.status == SuggestionStatus.REJECTED:
            outcome = DecisionOutcome.ALREADY_REJECTED
        elif row.status == SuggestionStatus.EXPIRED:
            outcome = DecisionOutcome.EXPIRED
        elif row.status != SuggestionStatus.PENDING:
            outcome = DecisionOutcome.NOT_PENDING
        elif row.expiry_date < today:
            outcome = DecisionOutcome.EXPIRED
            expired.append(row.id)
        else:
            outcome = DecisionOutcome.REJECTED
            rejected.append(row.id)
        result.results.append((label, outcome))
    _expired_mark(actor=actor, ids=expired)
    if rejected:
        ProjectAllocationSuggestion.objects.filter(id__in=rejected).update(
            status=SuggestionStatus.REJECTED, accepted_hours=None, decided_by=actor, decided_at=timezone.now()
        )
        audit_append(
            actor=actor, action="suggestions.reject", object_type="suggestion", data={"ids": [str(i) for i in rejected]}
        )
        suggestions_cache_invalidate()
    return result
