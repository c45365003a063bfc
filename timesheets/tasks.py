"""Beat task of the timesheet records: pending suggestions past their expiry date become `expired`."""

from __future__ import annotations

from celery import shared_task
from django_tenants.utils import tenant_context

from core.tasks import FanOutTask
from tenants.selectors import tenant_list
from timesheets.selectors import tenant_today
from timesheets.services import suggestions_expire


@shared_task(name="timesheets.suggestions_expire_all", base=FanOutTask)
def suggestions_expire_all_task() -> int:
    """Visit every tenant; each one's expiry is judged by its own calendar date."""
    expired = 0
    for tenant in tenant_list():
        with tenant_context(tenant):
            expired += suggestions_expire(today=tenant_today())
    return expired
