"""Pay periods: the tenant's policy, closing a period (which locks its allocations in the database), reopening."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from audit.services import ActorLike, acting_user, audit_append
from core.errors import Conflict, PermissionDenied, ValidationFailed
from core.roles import is_admin_user
from timesheets.lifecycle import pay_policy_get, period_bounds, weeks_unapproved_in
from timesheets.models import (
    PayFrequency,
    PayPeriod,
    PayPeriodPolicy,
    PayPeriodStatus,
    TimesheetProjectAllocation,
)

MAX_REASON = 500


@transaction.atomic
def pay_policy_update(*, actor: ActorLike, frequency: str, anchor_date: date) -> PayPeriodPolicy:
    """Set the tenant's pay period. Closed periods keep their dates; refused while a period is closed whose
    dates the new policy would cut through (reopen it first)."""
    if frequency not in PayFrequency.values:
        raise ValidationFailed("Invalid input.", fields={"frequency": ["Unknown pay frequency."]})
    if frequency == PayFrequency.MONTHLY and anchor_date.day > 28:
        raise ValidationFailed("Invalid input.", fields={"anchor_date": ["A monthly period starts on day 1 to 28."]})
    row = PayPeriodPolicy.objects.select_for_update().first()
    before = {"frequency": row.frequency, "anchor_date": row.anchor_date.isoformat()} if row else None
    if row is None:
        row = PayPeriodPolicy(frequency=frequency, anchor_date=anchor_date)
    row.frequency, row.anchor_date = frequency, anchor_date
    row.updated_by = acting_user(actor)
    row.save()
    audit_append(
        actor=actor,
        action="pay_policy.update",
        object_type="pay_policy",
        object_id=row.id,
        data={"before": before, "after": {"frequency": frequency, "anchor_date": anchor_date.isoformat()}},
    )
    return row


@dataclass(frozen=True)
class CloseResult:
    period: PayPeriod
    unapproved: list[dict[str, Any]]


@transaction.atomic
def pay_period_close(*, actor: ActorLike, day: date, override: bool = False, override_reason: str = "") -> CloseResult:
    """Close the pay period containing `day`: from then on the database refuses any change to its allocations.

    Every employee week with attendance in the period must be approved; otherwise the close is refused with
    the list of those that are not, unless `override` is set (with a reason), in which case that list is
    stored on the period. Writers to the allocation table wait for the close (a SHARE lock) so no allocation
    commits into the period between the check and the close.
    """
    start, end = period_bounds(day, pay_policy_get())
    row = PayPeriod.objects.select_for_update().filter(start_date__lte=day, end_date__gte=day).first()
    if row is not None:
        start, end = row.start_date, row.end_date
        if row.status == PayPeriodStatus.CLOSED:
            raise Conflict(f"The pay period {start} to {end} is already closed.", extra={"period": str(row.id)})
    elif PayPeriod.objects.filter(start_date__lte=end, end_date__gte=start).exists():
        raise Conflict("This period overlaps a stored pay period with other dates; reopen or close that one.")
    with connection.cursor() as cursor:
        cursor.execute(f"LOCK TABLE {TimesheetProjectAllocation._meta.db_table} IN SHARE MODE")
    unapproved = weeks_unapproved_in(start=start, end=end)
    if unapproved and not override:
        raise Conflict(
            f"{len(unapproved)} week(s) in the period {start} to {end} are not approved.",
            extra={"unapproved": unapproved[:1000], "unapproved_count": len(unapproved)},
        )
    reason = override_reason.strip()
    if unapproved and not reason:
        raise ValidationFailed("Invalid input.", fields={"override_reason": ["Say why the period closes anyway."]})
    if row is None:
        row = PayPeriod(start_date=start, end_date=end)
    row.status = PayPeriodStatus.CLOSED
    row.closed_at = timezone.now()
    row.closed_by = acting_user(actor)
    row.override = bool(unapproved)
    row.override_reason = reason[:MAX_REASON] if unapproved else ""
    row.unapproved = unapproved
    row.save()
    audit_append(
        actor=actor,
        action="pay_period.close",
        object_type="pay_period",
        object_id=row.id,
        data={
            "start_date": start.isoformat(),
            "end_date": end.isoformat(),
            "override": row.override,
            "override_reason": row.override_reason,
            "unapproved_count": len(unapproved),
        },
    )
    return CloseResult(period=row, unapproved=unapproved)


@transaction.atomic
def pay_period_reopen(*, actor: ActorLike, period: PayPeriod, reason: str) -> PayPeriod:
    """Reopen a closed period (Admin only, with a reason): its allocations can change again."""
    if not is_admin_user(acting_user(actor)):
        raise PermissionDenied("Only an Admin can reopen a pay period.")
    reason = reason.strip()
    if not reason:
        raise ValidationFailed("Invalid input.", fields={"reason": ["Say why the period is reopened."]})
    row = PayPeriod.objects.select_for_update().get(id=period.id)
    if row.status != PayPeriodStatus.CLOSED:
        raise Conflict(f"The pay period {row.start_date} to {row.end_date} is not closed.")
    row.status = PayPeriodStatus.OPEN
    row.reopened_at = timezone.now()
    row.reopened_by = acting_user(actor)
    row.reopen_reason = reason[:MAX_REASON]
    row.save(update_fields=["status", "reopened_at", "reopened_by", "reopen_reason"])
    audit_append(
        actor=actor,
        action="pay_period.reopen",
        object_type="pay_period",
        object_id=row.id,
        data={
            "start_date": row.start_date.isoformat(),
            "end_date": row.end_date.isoformat(),
            "reason": row.reopen_reason,
        },
    )
    return row
