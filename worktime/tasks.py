"""Beat task of working time: every night, each tenant's recent attendance is checked against its rules."""

from __future__ import annotations

from datetime import timedelta

from celery import shared_task

from core.tasks import FanOutTask
from jobs.fanout import tenants_fan_out
from timesheets.selectors import tenant_today
from worktime.services import compliance_check

COMPLIANCE_TASK = "worktime.compliance_check_nightly"
# Attendance arrives late (imports, corrections): the last two weeks are checked again each night.
RECHECK_DAYS = 14
NIGHTLY_ACTOR = None


def _recheck() -> int:
    today = tenant_today()
    run = compliance_check(actor=NIGHTLY_ACTOR, date_from=today - timedelta(days=RECHECK_DAYS), date_to=today)
    return run.violations


@shared_task(name=COMPLIANCE_TASK, base=FanOutTask)
def compliance_check_nightly_task() -> int:
    """Recompute the last two weeks' violations in every tenant, in its own calendar (idempotent)."""
    found = tenants_fan_out(COMPLIANCE_TASK, _recheck)
    return sum(found.results.values())
