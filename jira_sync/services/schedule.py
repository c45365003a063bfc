"""Sync requests: one on demand (API, UI, command), and the beat's fan-out that starts every due tenant's."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone
from django_tenants.utils import tenant_context

from audit.services import Actor, audit_append
from core.errors import ValidationFailed
from jira_sync.selectors import jira_connection_get, jira_sync_due_schemas
from jira_sync.services.sync import JOB_TYPE
from jobs.models import BackgroundJob
from jobs.services import JobAlreadyRunning, job_create
from tenants.models import Tenant

logger = logging.getLogger(__name__)

SCHEDULE_ACTOR = Actor(kind="system", label="jira sync schedule")


@transaction.atomic
def jira_sync_request(*, actor: Any, trigger: str = "manual", enqueue: bool = True) -> BackgroundJob:
    """Queue a sync job; 400 without an enabled connection, 409 naming the job if one is already active."""
    from jira_sync.tasks import jira_sync_task

    row = jira_connection_get()
    if row is None or not row.enabled:
        raise ValidationFailed(
            "There is no enabled Jira connection for this tenant.",
            fields={"connection": ["Set one up (and enable it) with PUT /api/jira/connection first."]},
        )
    job = job_create(job_type=JOB_TYPE, parameters={"trigger": trigger}, created_by=actor)
    audit_append(
        actor=actor, action="jira.sync.request", object_type="job", object_id=job.id, data={"trigger": trigger}
    )
    if enqueue:
        job_id = str(job.id)
        transaction.on_commit(lambda: jira_sync_task.delay(job_id))
    return job


def jira_syncs_start_due(*, now: datetime | None = None) -> list[str]:
    """From the public schema: request a sync in every tenant that is due one; returns their schemas."""
    now = now or timezone.now()
    due = jira_sync_due_schemas(now=now, job_type=JOB_TYPE)
    started: list[str] = []
    for tenant in Tenant.objects.filter(schema_name__in=due).order_by("schema_name"):
        with tenant_context(tenant):
            try:
                jira_sync_request(actor=SCHEDULE_ACTOR, trigger="schedule")
            except (JobAlreadyRunning, ValidationFailed):
                continue
            except Exception:
                # One tenant's problem must not keep the others from syncing.
                logger.exception("could not start the scheduled Jira sync of %s", tenant.schema_name)
                continue
        started.append(tenant.schema_name)
    return started
