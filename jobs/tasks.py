"""Beat task: fail jobs whose worker died, in every tenant."""

from __future__ import annotations

from django.conf import settings
from django_tenants.utils import tenant_context

from hrms.celery import app
from jobs.services import jobs_reap_stalled
from tenants.selectors import tenant_list


@app.task(name="jobs.reap_stalled", tenant_required=False)  # type: ignore[untyped-decorator]
def jobs_reap_stalled_task() -> int:
    reaped = 0
    for tenant in tenant_list():
        with tenant_context(tenant):
            reaped += jobs_reap_stalled(heartbeat_timeout_seconds=settings.JOB_HEARTBEAT_TIMEOUT_SECONDS)
    return reaped
