"""Celery tasks of the Jira sync: the per-tenant sync job, and the beat fan-out that starts due syncs (docs/jira.md)."""

from __future__ import annotations

import uuid

from celery import shared_task

from core.tasks import FanOutTask
from jira_sync.services.schedule import START_DUE_TASK, jira_syncs_start_due
from jira_sync.services.sync import jira_sync_run


@shared_task(name="jira_sync.sync", queue="sync")
def jira_sync_task(job_id: str) -> None:
    jira_sync_run(job_id=uuid.UUID(job_id))


@shared_task(name=START_DUE_TASK, base=FanOutTask)
def jira_syncs_start_due_task() -> int:
    """Every minute: request a sync in each tenant whose interval has passed (staggered, skipping running ones)."""
    return len(jira_syncs_start_due())
