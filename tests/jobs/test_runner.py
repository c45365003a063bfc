"""The one job runner: claimed once, lease held for the work, start and finish audited, errors mapped."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from django_tenants.utils import tenant_context

from audit.models import AuditEvent
from audit.services import Actor
from core.errors import Conflict
from jobs.models import BackgroundJob, JobStatus
from jobs.runner import JobOutcome, JobRun, job_run
from jobs.services import job_create
from locks.services import lease_acquire, lease_release
from tests.conftest import TenantHandle

JOB_TYPE = "runner_probe"
LEASE = "runner-probe"
ACTOR = Actor(kind="job", label="runner probe")


def _actions(job_id: uuid.UUID) -> list[tuple[str, dict[str, Any]]]:
    events = AuditEvent.objects.filter(object_type="job", object_id=str(job_id)).order_by("sequence")
    return [(event.action, event.data) for event in events]


def _run(job_id: uuid.UUID, work: Any, **options: Any) -> BackgroundJob | None:
    return job_run(job_id=job_id, job_type=JOB_TYPE, actor=ACTOR, audit_action="probe", work=work, **options)


def test_it_runs_a_queued_job_once_holding_its_lease_and_audits_start_and_finish(alpha: TenantHandle) -> None:
    calls: list[int] = []

    def work(run: JobRun) -> dict[str, Any]:
        calls.append(run.lease.epoch)
        run.progress(processed=1, total=2)
        assert BackgroundJob.objects.get(id=run.job.id).progress == 50
        run.renew()
        return {"done": 2}

    with tenant_context(alpha.tenant):
        job = job_create(job_type=JOB_TYPE, parameters={})
        finished = _run(job.id, work, lease=LEASE)
        assert finished is not None
        assert (finished.status, finished.progress, finished.result) == (JobStatus.SUCCEEDED, 100, {"done": 2})
        assert _actions(job.id) == [
            ("probe.start", {}),
            ("probe.finish", {"status": "succeeded", "error": "", "done": 2}),
        ]
        assert _run(job.id, work, lease=LEASE) is None  # a finished job is never claimed again
        assert len(calls) == 1
        lease_release(lease_acquire(name=LEASE))  # released: the next holder gets it at once


def test_it_never_claims_a_job_of_another_type(alpha: TenantHandle) -> None:
    with tenant_context(alpha.tenant):
        job = job_create(job_type="something_else", parameters={})
        assert _run(job.id, lambda run: {}) is None
        job.refresh_from_db()
        assert job.status == JobStatus.QUEUED


def test_a_held_lease_fails_the_job_without_running_it_and_audits_only_the_finish(alpha: TenantHandle) -> None:
    with tenant_context(alpha.tenant):
        job = job_create(job_type=JOB_TYPE, parameters={})
        holder = lease_acquire(name=LEASE)
        try:
            finished = _run(job.id, lambda run: pytest.fail("the work ran without the lease"), lease=LEASE)
        finally:
            lease_release(holder)
        assert finished is not None
        assert finished.status == JobStatus.FAILED
        assert "already running" in finished.error
        assert [action for action, _ in _actions(job.id)] == ["probe.finish"]


def test_a_failed_precondition_fails_the_job_before_the_lease_is_taken(alpha: TenantHandle) -> None:
    def refuse() -> None:
        raise Conflict("Nothing to do here.")

    with tenant_context(alpha.tenant):
        job = job_create(job_type=JOB_TYPE, parameters={})
        holder = lease_acquire(name=LEASE)  # held elsewhere: the precondition's reason must still be the one given
        try:
            finished = _run(job.id, lambda run: {}, lease=LEASE, precondition=refuse)
        finally:
            lease_release(holder)
        assert finished is not None
        assert (finished.status, finished.error) == (JobStatus.FAILED, "Nothing to do here.")


def test_an_application_error_fails_the_job_with_its_message_records_the_partial_result_and_releases_the_lease(
    alpha: TenantHandle,
) -> None:
    outcomes: list[JobOutcome] = []

    def work(run: JobRun) -> dict[str, Any]:
        raise Conflict("Stopped half-way.")

    with tenant_context(alpha.tenant):
        job = job_create(job_type=JOB_TYPE, parameters={})
        finished = _run(job.id, work, lease=LEASE, partial_result=lambda: {"pages": 3}, on_finish=outcomes.append)
        assert finished is not None
        assert (finished.status, finished.error, finished.result) == (
            JobStatus.FAILED,
            "Stopped half-way.",
            {"pages": 3},
        )
        assert [(o.status, o.error, o.result) for o in outcomes] == [("failed", "Stopped half-way.", {"pages": 3})]
        assert _actions(job.id)[-1] == ("probe.finish", {"status": "failed", "error": "Stopped half-way.", "pages": 3})
        lease_release(lease_acquire(name=LEASE))


def test_an_error_the_caller_expects_is_mapped_like_an_application_error(alpha: TenantHandle) -> None:
    class UpstreamSaidNo(Exception):
        def __init__(self, message: str) -> None:
            super().__init__(message)
            self.message = message

    def work(run: JobRun) -> dict[str, Any]:
        raise UpstreamSaidNo("The other system refused.")

    with tenant_context(alpha.tenant):
        job = job_create(job_type=JOB_TYPE, parameters={})
        finished = _run(job.id, work, expected_errors=(UpstreamSaidNo,))
        assert finished is not None
        assert (finished.status, finished.error) == (JobStatus.FAILED, "The other system refused.")


def test_an_unexpected_error_fails_the_job_and_reaches_the_worker(alpha: TenantHandle) -> None:
    def work(run: JobRun) -> dict[str, Any]:
        return {"ratio": 1 // 0}

    with tenant_context(alpha.tenant):
        job = job_create(job_type=JOB_TYPE, parameters={})
        with pytest.raises(ZeroDivisionError):
            _run(job.id, work, lease=LEASE)
        job.refresh_from_db()
        assert (job.status, job.error) == (JobStatus.FAILED, "ZeroDivisionError: integer division or modulo by zero")
        assert [action for action, _ in _actions(job.id)] == ["probe.start", "probe.finish"]
        lease_release(lease_acquire(name=LEASE))
