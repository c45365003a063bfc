"""Reminders by e-mail: a week due or overdue, the weeks waiting for a manager, and a rejected week.

Run hourly in every tenant (beat, through the tenant fan-out), in the tenant's own time zone:

- **due**: from Friday 14:00, to each employee with a login whose current week has attendance and is not yet
  submitted or approved;
- **overdue**: during the following week, for last week still not submitted;
- **digest**: on weekdays from 09:00, to each Manager (their team's weeks) and each HR user (every week) with
  submitted weeks waiting for a decision.

What is sent is recorded first (`ReminderSent`, unique per kind, person and period, written with ON CONFLICT DO
NOTHING in the same transaction as the queued message), so a retried or doubled run sends nothing twice. Each user
can turn the due/overdue reminders and the digest off (`ReminderPreference`); a rejected week is always told.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.contrib.auth.models import User
from django.db import connection, transaction
from django.db.models import Exists, OuterRef, Q

from accounts.links import tenant_home_url
from audit.services import audit_append
from core.roles import ROLE_HR, ROLE_MANAGER
from notifications.services import Recipient, emails_queue
from timesheets.models import (
    AttendanceRecord,
    Employee,
    ReminderKind,
    ReminderPreference,
    ReminderSent,
    TimesheetWeek,
    WeekStatus,
)
from timesheets.selectors import tenant_zone

DUE_FROM = time(14, 0)  # Friday afternoon, the tenant's local time
DIGEST_FROM = time(9, 0)
FRIDAY = 4


@dataclass(frozen=True)
class RemindersSent:
    due: int = 0
    overdue: int = 0
    digest: int = 0


def _claim(kind: str, period_start: date, user_ids: list[int]) -> list[int]:
    """Record the reminders about to be sent; returns the users not already reminded of this period."""
    if not user_ids:
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {ReminderSent._meta.db_table} (id, kind, user_id, period_start, sent_at)
            SELECT gen_random_uuid(), %s, u, %s, now() FROM unnest(%s::int[]) AS u
            ON CONFLICT (kind, user_id, period_start) DO NOTHING
            RETURNING user_id
            """,  # noqa: S608 - the table name comes from the model
            [kind, period_start, user_ids],
        )
        return [row[0] for row in cursor.fetchall()]


def _opted_out(field: str) -> Q:
    return Q(Exists(ReminderPreference.objects.filter(user=OuterRef("user_id"), **{field: False})))


def _unsubmitted(monday: date) -> list[tuple[int, str, str]]:
    """(user id, e-mail, name) of active employees with a login, attendance that week, and the week not submitted."""
    sunday = monday + timedelta(days=6)
    done = TimesheetWeek.objects.filter(
        employee=OuterRef("pk"), week_start=monday, status__in=[WeekStatus.SUBMITTED, WeekStatus.APPROVED]
    )
    attended = AttendanceRecord.objects.filter(employee=OuterRef("pk"), date__range=(monday, sunday))
    people = (
        Employee.objects.filter(active=True, user__isnull=False, user__is_active=True)
        .filter(Exists(attended), ~Exists(done))
        .exclude(_opted_out("week_reminders"))
        .exclude(user__email="")
    )
    return [(int(u), str(e), str(n)) for u, e, n in people.values_list("user_id", "user__email", "name")]


def _send_week_reminders(kind: str, monday: date, base: str) -> int:
    people = _unsubmitted(monday)
    claimed = set(_claim(kind, monday, [user_id for user_id, _, _ in people]))
    recipients = [
        Recipient(
            to=email,
            context={
                "name": name,
                "week_start": monday,
                "overdue": kind == ReminderKind.OVERDUE,
                "link": f"{base}/my-week?week={monday:%G-W%V}",
            },
        )
        for user_id, email, name in people
        if user_id in claimed
    ]
    emails_queue(template="week_reminder", recipients=recipients)
    return len(recipients)


def _waiting_weeks() -> list[TimesheetWeek]:
    return list(
        TimesheetWeek.objects.filter(status=WeekStatus.SUBMITTED)
        .select_related("employee", "employee__manager")
        .order_by("week_start", "employee__name")
    )


def _send_digests(today: date, base: str) -> int:
    waiting = _waiting_weeks()
    if not waiting:
        return 0
    deciders = (
        User.objects.filter(is_active=True, groups__name__in=[ROLE_HR, ROLE_MANAGER])
        .exclude(email="")
        .exclude(Exists(ReminderPreference.objects.filter(user=OuterRef("pk"), manager_digest=False)))
        .distinct()
    )
    hr_ids = set(User.objects.filter(groups__name=ROLE_HR).values_list("id", flat=True))
    per_user: dict[int, tuple[str, list[TimesheetWeek]]] = {}
    for user in deciders:
        mine = [
            week
            for week in waiting
            if user.pk in hr_ids or (week.employee.manager is not None and week.employee.manager.user_id == user.pk)
        ]
        if mine:
            per_user[user.pk] = (user.email, mine)
    claimed = set(_claim(ReminderKind.DIGEST, today, list(per_user)))
    recipients = [
        Recipient(
            to=email,
            context={
                "weeks": [(week.employee.name, week.week_start) for week in weeks],
                "count": len(weeks),
                "link": f"{base}/weeks",
            },
        )
        for user_id, (email, weeks) in per_user.items()
        if user_id in claimed
    ]
    emails_queue(template="weeks_digest", recipients=recipients)
    return len(recipients)


@transaction.atomic
def reminders_send(*, now: datetime) -> RemindersSent:
    """Send the reminders due at `now` in the current tenant (its local time decides); idempotent per period."""
    local = now.astimezone(tenant_zone())
    today = local.date()
    monday = today - timedelta(days=today.weekday())
    base = tenant_home_url()
    due = overdue = digest = 0
    if today.weekday() >= FRIDAY and (today.weekday() > FRIDAY or local.time() >= DUE_FROM):
        due = _send_week_reminders(ReminderKind.DUE, monday, base)
    overdue = _send_week_reminders(ReminderKind.OVERDUE, monday - timedelta(days=7), base)
    if today.weekday() < 5 and local.time() >= DIGEST_FROM:
        digest = _send_digests(today, base)
    return RemindersSent(due=due, overdue=overdue, digest=digest)


def week_rejected_tell(*, week: TimesheetWeek, base: str | None = None) -> uuid.UUID | None:
    """Tell the employee their week was rejected, with the comment and a link to it (always sent)."""
    employee = week.employee
    user: Any = employee.user
    if user is None or not user.is_active or not user.email:
        return None
    ids = emails_queue(
        template="week_rejected",
        recipients=[
            Recipient(
                to=user.email,
                context={
                    "name": employee.name,
                    "week_start": week.week_start,
                    "comment": week.comment,
                    "link": f"{base or tenant_home_url()}/my-week?week={week.week_start:%G-W%V}",
                },
            )
        ],
    )
    return ids[0]


def reminder_preference_get(*, user: Any) -> ReminderPreference:
    return ReminderPreference.objects.filter(user=user).first() or ReminderPreference(user=user)


@transaction.atomic
def reminder_preference_set(*, user: Any, week_reminders: bool, manager_digest: bool) -> ReminderPreference:
    preference, _ = ReminderPreference.objects.update_or_create(
        user=user, defaults={"week_reminders": week_reminders, "manager_digest": manager_digest}
    )
    audit_append(
        actor=user,
        action="reminders.preference",
        object_type="user",
        object_id=user.pk,
        data={"week_reminders": week_reminders, "manager_digest": manager_digest},
    )
    return preference
