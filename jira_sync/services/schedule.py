"""Sync requests: one on demand (API, UI, command), and the beat's fan-out that starts every due tenant's."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from audit.services import Actor, ActorLike, audit_append
from core.errors import ValidationFailed
from jira_sync.selectors import jira_connection_get, jira_sync_due_schemas
from jira_sync.services.sync import JOB_TYPE
from jobs.fanout import tenants_fan_out
from jobs.models import BackgroundJob
from jobs.services import JobAlreadyRunning, job_create
from tenants.models import Tenant

SCHEDULE_ACTOR = Actor(kind="system", label="jira sync schedule")
# The beat task that calls jira_syncs_start_due (jira_sync/tasks.py): it names the fan-out's failures.
START_DUE_TASK = "jira_sync.start_due"


@transaction.atomic
def jira_sync_request(*, actor: ActorLike, trigger: str = "manual", enqueue: bool = True) -> BackgroundJob:
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

    def start() -> bool:
        try:
            jira_sync_request(actor=SCHEDULE_ACTOR, trigger="schedule")
        except (JobAlreadyRunning, ValidationFailed):
            return False  # running already, or no enabled connection any more: nothing to start
        return True

    fanned = tenants_fan_out(
        START_DUE_TASK, start, tenants=Tenant.objects.filter(schema_name__in=due).order_by("schema_name")
    )
    return [schema for schema, started in fanned.results.items() if started]
