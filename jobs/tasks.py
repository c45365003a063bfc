"""Beat tasks that fan out over every tenant: fail jobs whose worker died; sign every audit chain head."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings

from audit.services import audit_checkpoint
from core.tasks import FanOutTask
from jobs.fanout import tenants_fan_out
from jobs.services import jobs_reap_stalled

REAP_TASK = "jobs.reap_stalled"
CHECKPOINT_TASK = "audit.checkpoint_all"


@shared_task(name=REAP_TASK, base=FanOutTask)
def jobs_reap_stalled_task() -> int:
    reaped = tenants_fan_out(
        REAP_TASK, lambda: jobs_reap_stalled(heartbeat_timeout_seconds=settings.JOB_HEARTBEAT_TIMEOUT_SECONDS)
    )
    return sum(reaped.results.values())


@shared_task(name=CHECKPOINT_TASK, base=FanOutTask)
def audit_checkpoint_all_task() -> int:
    """Sign every chain head (the public one, then each tenant's) into the public schema."""
    signed = tenants_fan_out(CHECKPOINT_TASK, lambda: audit_checkpoint() is not None, public=True)
    return sum(signed.results.values())
