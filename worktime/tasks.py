"""Tasks of working time: attendance checked against the rules after an import, and every night in every tenant."""

from __future__ import annotations

from datetime import date, timedelta

from celery import shared_task

from core.tasks import FanOutTask
from jobs.fanout import tenants_fan_out
from timesheets.selectors import tenant_today
from worktime.services import compliance_check, compliance_check_imported

COMPLIANCE_TASK = "worktime.compliance_check_nightly"
IMPORTED_TASK = "worktime.compliance_check_imported"
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


@shared_task(name=IMPORTED_TASK)
def compliance_check_imported_task(employee_ids: list[str], date_from: str, date_to: str) -> int:
    """Recheck the employees and days an attendance import changed, in the tenant the message carries."""
    run = compliance_check_imported(
        actor=NIGHTLY_ACTOR,
        employee_ids=employee_ids,
        date_from=date.fromisoformat(date_from),
        date_to=date.fromisoformat(date_to),
    )
    return run.violations
