"""Beat tasks that fan out over every tenant: fail jobs whose worker died; sign every audit chain head."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings
from django_tenants.utils import schema_context, tenant_context

from audit.services import audit_checkpoint
from core.tasks import FanOutTask
from jobs.services import jobs_reap_stalled
from tenants.selectors import tenant_list


@shared_task(name="jobs.reap_stalled", base=FanOutTask)
def jobs_reap_stalled_task() -> int:
    reaped = 0
    for tenant in tenant_list():
        with tenant_context(tenant):
            reaped += jobs_reap_stalled(heartbeat_timeout_seconds=settings.JOB_HEARTBEAT_TIMEOUT_SECONDS)
    return reaped


@shared_task(name="audit.checkpoint_all", base=FanOutTask)
def audit_checkpoint_all_task() -> int:
    """Sign every chain head (each tenant's and the public one) into the public schema."""
    signed = 0
    with schema_context("public"):
        signed += audit_checkpoint() is not None
    for tenant in tenant_list():
        with tenant_context(tenant):
            signed += audit_checkpoint() is not None
    return signed
