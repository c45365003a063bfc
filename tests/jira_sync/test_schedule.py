"""The beat fan-out: which tenants are due a sync, staggering first syncs, and skipping running or disabled ones."""

from __future__ import annotations

import zlib
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.utils import timezone
from django_tenants.utils import tenant_context

from hrms.celery import app
from jira_sync.models import JiraConnection
from jira_sync.selectors import sync_is_due
from jira_sync.services.schedule import jira_syncs_start_due
from jira_sync.tasks import jira_syncs_start_due_task
from jobs.models import BackgroundJob, JobStatus
from tests.conftest import TenantHandle
from tests.support.jira_standin import (
    JiraStandin,
    jira_standin_fixture,  # noqa: F401 - provides the `jira_standin` fixture
    standin_connect,
)

NINE = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def test_a_tenant_that_never_synced_starts_in_its_own_minute_slot() -> None:
    due = [
        m
        for m in range(60)
        if sync_is_due(schema="t_acme", last_sync_at=None, interval_minutes=30, now=NINE + timedelta(minutes=m))
    ]
    assert len(due) == 2
    assert due[1] - due[0] == 30
    slot = zlib.crc32(b"t_acme") % 30
    assert all((int((NINE + timedelta(minutes=m)).timestamp() // 60)) % 30 == slot for m in due)
    # A thousand tenants configured at once spread over the whole interval instead of one minute.
    slots = {
        next(
            m
            for m in range(30)
            if sync_is_due(schema=f"t_{n}", last_sync_at=None, interval_minutes=30, now=NINE + timedelta(minutes=m))
        )
        for n in range(1000)
    }
    assert len(slots) == 30


def test_a_tenant_is_due_once_its_interval_has_passed_since_the_last_attempt() -> None:
    last = NINE - timedelta(minutes=30)
    assert sync_is_due(schema="t_x", last_sync_at=last, interval_minutes=30, now=NINE)
    assert not sync_is_due(schema="t_x", last_sync_at=last + timedelta(seconds=1), interval_minutes=30, now=NINE)


def test_the_fan_out_requests_syncs_only_where_due_enabled_and_not_running(
    alpha: TenantHandle, beta: TenantHandle, jira_standin: JiraStandin
) -> None:
    now = timezone.now()
    with tenant_context(alpha.tenant):
        standin_connect(jira_standin, last_sync_at=now - timedelta(minutes=31), sync_interval_minutes=30)
    with tenant_context(beta.tenant):
        standin_connect(jira_standin, last_sync_at=now - timedelta(minutes=5), sync_interval_minutes=30)

    started = jira_syncs_start_due(now=now)
    assert alpha.tenant.schema_name in started
    assert beta.tenant.schema_name not in started
    with tenant_context(alpha.tenant):
        job = BackgroundJob.objects.get(job_type="jira_sync")
        assert (job.status, job.parameters) == (JobStatus.QUEUED, {"trigger": "schedule"})
    with tenant_context(beta.tenant):
        assert not BackgroundJob.objects.filter(job_type="jira_sync").exists()

    # Still queued a minute later: not requested twice.
    assert alpha.tenant.schema_name not in jira_syncs_start_due(now=now + timedelta(minutes=1))

    with tenant_context(beta.tenant):
        JiraConnection.objects.update(enabled=False, last_sync_at=now - timedelta(days=1))
    assert beta.tenant.schema_name not in jira_syncs_start_due(now=now)


def test_the_fan_out_runs_every_minute_from_the_public_schema(alpha: TenantHandle, jira_standin: JiraStandin) -> None:
    entry = settings.CELERY_BEAT_SCHEDULE["start-due-jira-syncs"]
    assert (entry["task"], entry["schedule"]) == ("jira_sync.start_due", 60.0)
    task = app.tasks["jira_sync.start_due"]
    assert task.tenant_required is False
    with tenant_context(alpha.tenant):
        standin_connect(jira_standin, last_sync_at=timezone.now() - timedelta(hours=1))
    assert jira_syncs_start_due_task() >= 1
    with tenant_context(alpha.tenant):
        assert BackgroundJob.objects.filter(job_type="jira_sync").count() == 1
