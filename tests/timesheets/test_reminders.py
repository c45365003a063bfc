"""Reminders by e-mail, delivered to a real SMTP server on loopback: due and overdue weeks, the manager's digest,
a rejected week; at most once per person and period; opt-out; and the beat task run by a real Celery worker."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from celery.contrib.testing.worker import start_worker
from django.contrib.auth.models import User
from django_tenants.utils import tenant_context

from hrms.celery import app
from tests.conftest import TenantHandle, make_user
from tests.support.smtp import SmtpServer
from tests.timesheets.factories import make_attendance, make_employee
from timesheets.models import ReminderPreference, ReminderSent, TimesheetWeek
from timesheets.services.reminders import reminders_send
from timesheets.services.weeks import week_decide
from timesheets.tasks import reminders_send_task

# The tenants of the tests keep UTC; Friday 6 March 2026 and the Monday after.
MONDAY = date(2026, 3, 2)
FRIDAY_AFTERNOON = datetime(2026, 3, 6, 15, 0, tzinfo=UTC)
FRIDAY_MORNING = datetime(2026, 3, 6, 10, 0, tzinfo=UTC)
NEXT_TUESDAY_MORNING = datetime(2026, 3, 10, 9, 30, tzinfo=UTC)


def _person(handle: TenantHandle, name: str, *roles: str, manager: Any = None) -> tuple[User, Any]:
    user = make_user(handle, f"{name.lower()}-{uuid.uuid4().hex[:6]}@{handle.tenant.slug}.test", *roles)
    with tenant_context(handle.tenant):
        user.email = user.username
        user.save(update_fields=["email"])
    return user, make_employee(handle, name=name, user=user, manager=manager)


def _send(handle: TenantHandle, now: datetime, django_capture_on_commit_callbacks: Any) -> Any:
    with tenant_context(handle.tenant), django_capture_on_commit_callbacks(execute=True):
        return reminders_send(now=now)


def test_due_overdue_and_digest_reminders_go_once_each_and_respect_opt_outs(
    alpha: TenantHandle, smtp: SmtpServer, eager_tasks: None, django_capture_on_commit_callbacks: Any
) -> None:
    with tenant_context(alpha.tenant):
        # HR users an earlier run committed to the shared tenant (a reused test database) would get the digest
        # too: they stay out of it, so the figures below are this test's own.
        for reviewer in User.objects.filter(groups__name="HR"):
            ReminderPreference.objects.update_or_create(user=reviewer, defaults={"manager_digest": False})
    boss_user, boss = _person(alpha, "Boss", "Manager")
    ann_user, ann = _person(alpha, "Ann", "Employee", manager=boss)
    bob_user, bob = _person(alpha, "Bob", "Employee", manager=boss)
    quiet_user, quiet = _person(alpha, "Quiet", "Employee")
    for employee in (ann, bob, quiet):
        make_attendance(alpha, employee, day=MONDAY)
    with tenant_context(alpha.tenant):
        ReminderPreference.objects.create(user=quiet_user, week_reminders=False)
        TimesheetWeek.objects.create(employee=bob, week_start=MONDAY, status="submitted")

    # Friday morning: nothing is due yet; the digest tells Bob's manager his week waits.
    sent = _send(alpha, FRIDAY_MORNING, django_capture_on_commit_callbacks)
    assert (sent.due, sent.digest) == (0, 1)
    digest = smtp.wait_for(1)[-1]
    assert digest.to == [boss_user.email]
    assert "Bob, week of 2 March 2026" in digest.body
    assert digest.links() == ["https://alpha.localhost/weeks"]

    # Friday afternoon: Ann's week is due (Bob submitted, Quiet turned reminders off); the digest was sent today.
    sent = _send(alpha, FRIDAY_AFTERNOON, django_capture_on_commit_callbacks)
    assert (sent.due, sent.digest) == (1, 0)
    due = smtp.wait_for(2)[-1]
    assert due.to == [ann_user.email]
    assert "is due" in due.subject
    assert due.links() == ["https://alpha.localhost/my-week?week=2026-W10"]

    # The task runs again (a retry, or twice at once): nobody gets a second copy.
    assert _send(alpha, FRIDAY_AFTERNOON, django_capture_on_commit_callbacks).due == 0
    # The next Tuesday the week is overdue: Ann hears once more, as overdue; the digest is a new day's.
    sent = _send(alpha, NEXT_TUESDAY_MORNING, django_capture_on_commit_callbacks)
    assert (sent.overdue, sent.digest) == (1, 1)
    received = smtp.wait_for(4)
    to_ann = [m for m in received if m.to == [ann_user.email]]
    assert len(to_ann) == 2
    assert to_ann[1].subject == "Overdue: your timesheet for the week of 2 March 2026"
    with tenant_context(alpha.tenant):
        assert ReminderSent.objects.filter(user=quiet_user).count() == 0
        assert ReminderSent.objects.filter(user__in=[boss_user, ann_user, bob_user, quiet_user]).count() == 4
    assert quiet_user.email not in {address for message in smtp.messages for address in message.to}


def test_a_rejected_week_is_told_to_its_employee_with_the_comment(
    alpha: TenantHandle, smtp: SmtpServer, eager_tasks: None, django_capture_on_commit_callbacks: Any
) -> None:
    hr = make_user(alpha, f"hr-{uuid.uuid4().hex[:6]}@alpha.test", "HR")
    ann_user, ann = _person(alpha, "Ann", "Employee")
    with tenant_context(alpha.tenant), django_capture_on_commit_callbacks(execute=True):
        ReminderPreference.objects.create(user=ann_user, week_reminders=False)  # not for this one: always told
        week = TimesheetWeek.objects.create(employee=ann, week_start=MONDAY, status="submitted")
        week_decide(actor=hr, week=week, approve=False, comment="Tuesday is missing the client call.")
    told = smtp.wait_for(1)[0]
    assert told.to == [ann_user.email]
    assert "was returned" in told.subject
    assert "Tuesday is missing the client call." in told.body
    assert told.links() == ["https://alpha.localhost/my-week?week=2026-W10"]


@pytest.fixture
def committed_alpha(tenants: dict[str, TenantHandle], django_db_blocker: Any) -> Iterator[TenantHandle]:
    """alpha with committed rows, for a real worker's own connection; what the test made is removed after."""
    handle = tenants["alpha"]
    with django_db_blocker.unblock():
        yield handle
        with tenant_context(handle.tenant):
            ReminderSent.objects.filter(user__username__startswith="remind-").delete()
            TimesheetWeek.objects.filter(employee__name__startswith="Remind ").delete()
            User.objects.filter(username__startswith="remind-").delete()
            from timesheets.models import AttendanceRecord, Employee

            AttendanceRecord.objects.filter(employee__name__startswith="Remind ").delete()
            Employee.objects.filter(name__startswith="Remind ").delete()


@pytest.mark.slow
def test_the_beat_task_run_by_a_worker_reminds_an_overdue_week_once(
    committed_alpha: TenantHandle, smtp: SmtpServer
) -> None:
    handle = committed_alpha
    user = make_user(handle, f"remind-{uuid.uuid4().hex[:6]}@alpha.test", "Employee")
    with tenant_context(handle.tenant):
        user.email = user.username
        user.save(update_fields=["email"])
    employee = make_employee(handle, name="Remind Me", user=user)
    with tenant_context(handle.tenant):
        from timesheets.selectors import tenant_today

        last_monday = tenant_today() - timedelta(days=tenant_today().weekday() + 7)
    make_attendance(handle, employee, day=last_monday)
    with start_worker(app, perform_ping_check=False, pool="solo", queues=["celery"], loglevel="WARNING"):
        reminders_send_task.delay().get(timeout=60)
        reminders_send_task.delay().get(timeout=60)  # the beat fires twice: still one message
        smtp.wait_for(1, to=user.email)
        time.sleep(1)  # a second message, were there one, would be delivered by now
    mine = smtp.wait_for(1, to=user.email, timeout=0)
    assert len(mine) == 1
    assert "Overdue" in mine[0].subject
    with tenant_context(handle.tenant):
        assert ReminderSent.objects.filter(user=user, kind="overdue", period_start=last_monday).count() == 1
