"""Beat tasks of the timesheet records: pending suggestions past their expiry date become `expired`; reminders."""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone
from django_tenants.utils import tenant_context

from core.tasks import FanOutTask
from jobs.fanout import tenants_fan_out
from tenants.selectors import tenant_list
from timesheets.selectors import tenant_today
from timesheets.services import suggestions_expire
from timesheets.services.reminders import reminders_send


@shared_task(name="timesheets.suggestions_expire_all", base=FanOutTask)
def suggestions_expire_all_task() -> int:
    """Visit every tenant; each one's expiry is judged by its own calendar date."""
    expired = 0
    for tenant in tenant_list():
        with tenant_context(tenant):
            expired += suggestions_expire(today=tenant_today())
    return expired


REMINDERS_TASK = "timesheets.reminders_send"


@shared_task(name=REMINDERS_TASK, base=FanOutTask)
def reminders_send_task() -> int:
    """Every hour, in every tenant: the week reminders and manager digests now due in its own time zone."""
    now = timezone.now()

    def send() -> int:
        sent = reminders_send(now=now)
        return sent.due + sent.overdue + sent.digest

    return sum(tenants_fan_out(REMINDERS_TASK, send).results.values())
