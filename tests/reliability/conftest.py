"""Shared pieces of the reliability suite: committed data in a tenant, its clean-up, and the invariants."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import redis
from django.conf import settings
from django.db import connection, connections
from django.db.models import Count, Sum
from django_tenants.utils import tenant_context

from jobs.models import BackgroundJob
from tests.conftest import TenantHandle, make_user, token_for
from tests.intelligence.builders import World
from timesheets.models import ProjectAllocationSuggestion, TimesheetProjectAllocation, UnallocatedDay

_TENANT_TABLES = (
    "timesheets_projectallocationsuggestion, timesheets_timesheetprojectallocation, timesheets_unallocatedday, "
    "jira_sync_jiraworklog, jira_sync_jiraissueassignment, timesheets_workpattern, timesheets_attendancerecord, "
    "jobs_backgroundjob, timesheets_employee, timesheets_project, authtoken_token, "
    # A closed pay period locks its days for every later test: periods, weeks and the policy go too.
    "timesheets_payperiod, timesheets_payperiodpolicy, timesheets_timesheetweek, timesheets_daynote, "
    # A single sign-on provider that requires SSO would refuse every later test's password login.
    "accounts_ssoprovider"
)


def purge_tenant(handle: TenantHandle) -> None:
    with tenant_context(handle.tenant), connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {_TENANT_TABLES} CASCADE")


def broker_flush(url: str | None = None) -> None:
    """Empty the queues of this session's own broker database (messages left by earlier tests)."""
    client = redis.Redis.from_url(url or settings.CELERY_BROKER_URL)
    try:
        client.flushdb()
    finally:
        client.close()


@pytest.fixture
def committed(tenants: dict[str, TenantHandle], django_db_blocker: Any) -> Iterator[dict[str, TenantHandle]]:
    """Committed data (real processes see it); every tenant is emptied again afterwards."""
    with django_db_blocker.unblock():
        broker_flush()
        try:
            yield tenants
        finally:
            for handle in tenants.values():
                purge_tenant(handle)
            broker_flush()
            connections.close_all()


def hr_headers(handle: TenantHandle) -> dict[str, str]:
    user = make_user(handle, f"hr-{uuid.uuid4().hex[:8]}@{handle.tenant.slug}.test", "HR")
    return {"Authorization": f"Token {token_for(handle, user)}"}


def job_state(handle: TenantHandle, job_id: str | uuid.UUID) -> BackgroundJob:
    with tenant_context(handle.tenant):
        return BackgroundJob.objects.get(id=job_id)


def wait_until(predicate: Callable[[], bool], *, timeout: float, what: str, interval: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    if not predicate():
        raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def wait_for_job(handle: TenantHandle, job_id: str | uuid.UUID, *, timeout: float = 60) -> BackgroundJob:
    wait_until(
        lambda: job_state(handle, job_id).status in ("succeeded", "failed"), timeout=timeout, what="the job to end"
    )
    return job_state(handle, job_id)


def marker_reached(marker: Path, line: str) -> Callable[[], bool]:
    return lambda: marker.exists() and line in marker.read_text().splitlines()


def employee_day_states(handle: TenantHandle, world: World) -> dict[str, int]:
    """Classify every attended employee-day as whole (its hours fully split) or untouched; fail on anything else.

    Also fails on a duplicated suggestion or allocation for one employee, project and day.
    """
    with tenant_context(handle.tenant):
        suggested = {
            (row["employee_id"], row["date"]): row["total"]
            for row in ProjectAllocationSuggestion.objects.values("employee_id", "date").annotate(total=Sum("hours"))
        }
        flagged = set(UnallocatedDay.objects.values_list("employee_id", "date"))
        duplicates = (
            ProjectAllocationSuggestion.objects.values("employee_id", "project_id", "date")
            .annotate(n=Count("id"))
            .filter(n__gt=1)
        )
        assert not duplicates.exists(), list(duplicates)
        allocation_duplicates = (
            TimesheetProjectAllocation.objects.values("employee_id", "project_id", "date")
            .annotate(n=Count("id"))
            .filter(n__gt=1)
        )
        assert not allocation_duplicates.exists(), list(allocation_duplicates)
    states = {"whole": 0, "untouched": 0}
    days = [world.start + timedelta(days=offset) for offset in range((world.end - world.start).days + 1)]
    for employee in world.employees:
        for day in days:
            key = (employee.id, day)
            total = suggested.get(key)
            if total is None and key not in flagged:
                states["untouched"] += 1
            else:
                assert total == Decimal("8.00"), f"employee-day {key} is partly generated: {total}"
                states["whole"] += 1
    return states
