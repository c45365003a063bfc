"""Worker faults with real Celery worker processes on the real broker and database.

A killed worker, a paused worker whose lease expired, a transaction that rolls back after enqueueing, and a
task that always fails: nothing is lost, nothing is duplicated, nothing loops. (The in-process variants of
the lease and reaper behaviour are in tests/intelligence/test_generation.py.)
"""

from __future__ import annotations

import re
import signal
import time
from pathlib import Path
from typing import Any

import pytest
import redis
from django.conf import settings
from django.db import transaction
from django.test import override_settings
from django_tenants.utils import tenant_context

from audit.models import AuditEvent
from intelligence.services import generation_request
from jobs.models import BackgroundJob
from jobs.services import jobs_reap_stalled
from jobs.tasks import jobs_reap_stalled_task
from tests.conftest import TenantHandle
from tests.intelligence.builders import World, build_world
from tests.reliability.conftest import (
    employee_day_states,
    hr_headers,
    job_state,
    marker_reached,
    wait_for_job,
    wait_until,
)
from tests.support.private_services import celery_worker
from timesheets.models import ProjectAllocationSuggestion

pytestmark = pytest.mark.slow


def _request_generation(handle: TenantHandle, world: World, auth: dict[str, str]) -> str:
    response = handle.client().post(
        "/api/timesheet-intelligence/generate",
        {"start_date": str(world.start), "end_date": str(world.end)},
        content_type="application/json",
        HTTP_AUTHORIZATION=auth["Authorization"],
    )
    assert response.status_code == 202, response.content
    return str(response.json()["job_id"])


def _broker_unacked() -> int:
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    try:
        return int(client.hlen("unacked"))
    finally:
        client.close()


def _audit_actions(handle: TenantHandle, job_id: str) -> list[tuple[str, dict[str, Any]]]:
    with tenant_context(handle.tenant):
        return list(
            AuditEvent.objects.filter(object_type="job", object_id=job_id)
            .order_by("sequence")
            .values_list("action", "data")
        )


def test_a_worker_killed_mid_write_leaves_whole_or_untouched_days_and_a_rerun_completes(
    committed: dict[str, TenantHandle], tmp_path: Path
) -> None:
    handle = committed["alpha"]
    with tenant_context(handle.tenant):
        world = build_world(employees=12, days=2)
    auth = hr_headers(handle)
    marker = tmp_path / "marker"
    faults = {
        "HRMS_FAULT_CHUNK_SIZE": "3",
        "HRMS_FAULT_WRITE_DELAY": "1.0",
        "HRMS_FAULT_LEASE_TTL": "3",
        "HRMS_FAULT_MARKER": str(marker),
    }
    with celery_worker(tmp_path / "worker1.log", **faults) as worker:
        job_id = _request_generation(handle, world, auth)
        # The third chunk's rows are copied and its transaction is still open: kill the worker there.
        wait_until(marker_reached(marker, "write 3"), timeout=60, what="the third chunk's write")
        worker.signal(signal.SIGKILL)
        worker.process.wait(timeout=10)

    stuck = job_state(handle, job_id)
    assert stuck.status == "running"
    assert stuck.processed == 6
    assert employee_day_states(handle, world) == {"whole": 6 * 2, "untouched": 6 * 2}

    # The reaper fails the job once its heartbeat is older than the timeout.
    time.sleep(1.5)
    with override_settings(JOB_HEARTBEAT_TIMEOUT_SECONDS=1):
        assert jobs_reap_stalled_task.apply().get() >= 1
    reaped = job_state(handle, job_id)
    assert reaped.status == "failed"
    assert "heartbeat" in reaped.error

    # The broker redelivers the unacknowledged message; the new worker refuses to run a finished job.
    assert _broker_unacked() == 1
    with celery_worker(tmp_path / "worker2.log", HRMS_FAULT_VISIBILITY_TIMEOUT="1", HRMS_FAULT_CHUNK_SIZE="3") as w2:
        wait_until(lambda: f"{job_id} is not claimable" in w2.output(), timeout=30, what="the redelivery")
        wait_until(lambda: _broker_unacked() == 0, timeout=10, what="the redelivered message to be acknowledged")
        assert job_state(handle, job_id).status == "failed"
        assert job_state(handle, job_id).attempts == 1
        assert employee_day_states(handle, world) == {"whole": 6 * 2, "untouched": 6 * 2}

        # Re-running the period is safe: every day ends whole, nothing is duplicated.
        rerun_id = _request_generation(handle, world, auth)
        rerun = wait_for_job(handle, rerun_id)
    assert rerun.status == "succeeded", rerun.error
    assert employee_day_states(handle, world) == {"whole": 12 * 2, "untouched": 0}
    with tenant_context(handle.tenant):
        assert set(ProjectAllocationSuggestion.objects.values_list("job_id", flat=True)) == {rerun.id}


def test_a_paused_worker_past_its_lease_has_its_writes_refused_by_the_fencing_epoch(
    committed: dict[str, TenantHandle], tmp_path: Path
) -> None:
    handle = committed["alpha"]
    with tenant_context(handle.tenant):
        world = build_world(employees=12, days=2)
    auth = hr_headers(handle)
    marker = tmp_path / "marker"
    faults = {
        "HRMS_FAULT_CHUNK_SIZE": "3",
        "HRMS_FAULT_COMPUTE_DELAY": "1.5",
        "HRMS_FAULT_LEASE_TTL": "2",
        "HRMS_FAULT_MARKER": str(marker),
    }
    with celery_worker(tmp_path / "paused.log", **faults) as paused:
        first_id = _request_generation(handle, world, auth)
        # Chunk 1 is written; chunk 2 is computed and about to be written when the worker freezes.
        wait_until(marker_reached(marker, "compute 2"), timeout=60, what="the second chunk")
        paused.signal(signal.SIGSTOP)
        try:
            time.sleep(2.5)  # the lease (2 s) expires while the holder is frozen
            with tenant_context(handle.tenant):
                assert jobs_reap_stalled(heartbeat_timeout_seconds=1) == 1
            with celery_worker(tmp_path / "second.log", HRMS_FAULT_CHUNK_SIZE="3") as _second:
                second_id = _request_generation(handle, world, auth)
                second = wait_for_job(handle, second_id)
                assert second.status == "succeeded", second.error
        finally:
            paused.signal(signal.SIGCONT)
        wait_until(
            lambda: any(action == "generation.finish" for action, _ in _audit_actions(handle, first_id)),
            timeout=30,
            what="the resumed worker to finish its job",
        )
    finish = dict(_audit_actions(handle, first_id))["generation.finish"]
    assert finish["status"] == "failed"
    assert "Stale 'timesheet-generation' holder" in finish["error"]
    assert job_state(handle, first_id).status == "failed"
    # Only the successor's rows exist: the stale holder's chunk 2 never landed.
    assert employee_day_states(handle, world) == {"whole": 12 * 2, "untouched": 0}
    with tenant_context(handle.tenant):
        assert set(ProjectAllocationSuggestion.objects.values_list("job_id", flat=True)) == {second.id}


def _request_then_roll_back(world: World) -> BackgroundJob:
    try:
        with transaction.atomic():
            job = generation_request(actor=None, start=world.start, end=world.end)
            raise _Abort
    except _Abort:
        return job


class _Abort(Exception):
    """Rolls back the transaction that requested the generation."""


def test_a_generation_requested_in_a_transaction_that_rolls_back_never_runs(
    committed: dict[str, TenantHandle], tmp_path: Path
) -> None:
    handle = committed["alpha"]
    with tenant_context(handle.tenant):
        world = build_world(employees=2, days=1)
        doomed = _request_then_roll_back(world)
        assert not BackgroundJob.objects.filter(id=doomed.id).exists()
    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    try:
        assert broker.llen("generation") == 0  # nothing was published
    finally:
        broker.close()
    auth = hr_headers(handle)
    with celery_worker(tmp_path / "worker.log") as worker:
        control_id = _request_generation(handle, world, auth)  # committed: enqueued and run
        assert wait_for_job(handle, control_id).status == "succeeded"
        time.sleep(1)
        log = worker.output()
    assert log.count("intelligence.timesheets_generate[") >= 1
    assert str(doomed.id) not in log
    assert len(re.findall(r"Task intelligence\.timesheets_generate\[[^\]]+\] received", log)) == 1
    assert [a for a, _ in _audit_actions(handle, str(doomed.id))] == []


def test_a_generation_that_always_fails_ends_failed_once_without_redelivery(
    committed: dict[str, TenantHandle], tmp_path: Path
) -> None:
    handle = committed["alpha"]
    with tenant_context(handle.tenant):
        world = build_world(employees=6, days=1)
    auth = hr_headers(handle)
    faults = {"HRMS_FAULT_CHUNK_SIZE": "2", "HRMS_FAULT_GENERATION_RAISES": "1", "HRMS_FAULT_VISIBILITY_TIMEOUT": "1"}
    with celery_worker(tmp_path / "worker.log", **faults) as worker:
        job_id = _request_generation(handle, world, auth)
        failed = wait_for_job(handle, job_id)
        # Long enough for an unacknowledged message to come back (visibility timeout 1 s) if it were left so.
        time.sleep(4)
        log = worker.output()
    assert failed.status == "failed"
    assert "RuntimeError: injected fault" in failed.error
    assert job_state(handle, job_id).attempts == 1
    assert [a for a, _ in _audit_actions(handle, job_id)].count("generation.start") == 1
    assert len(re.findall(r"Task intelligence\.timesheets_generate\[[^\]]+\] received", log)) == 1
    assert _broker_unacked() == 0
    # The first chunk was committed before the crash; the period can be generated again safely.
    assert employee_day_states(handle, world) == {"whole": 2, "untouched": 4}
