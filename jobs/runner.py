"""The one life of a background job: claim, lease, audited start, work, error mapping, audited finish, release.

Generation, the Jira sync and model training each describe their work; `job_run` does the rest the same way
for all of them:

1. claim: a conditional UPDATE queued → running that must touch exactly one row (jobs/services.py), so a
   redelivered message or a second worker never runs the job twice;
2. preconditions, then the tenant lease (locks/); either failing fails the job with the reason, audited;
3. `<action>.start` audited, then the work, which reports progress (the heartbeat) through `JobRun`;
4. the outcome: a result on success; an ApplicationError (or an error the caller names as expected) fails
   the job with its message; anything else fails it with the exception's type and message and is re-raised
   so the worker logs it. The finish (job row, the caller's own bookkeeping, `<action>.finish`) is one
   transaction;
5. the lease is released whatever happened.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from django.db import transaction

from audit.services import Actor, audit_append
from core.errors import ApplicationError
from jobs.models import BackgroundJob
from jobs.services import job_claim, job_fail, job_progress, job_succeed
from locks.services import Lease, lease_acquire, lease_release, lease_renew

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class JobOutcome:
    """How a job ended, handed to the caller's `on_finish` inside the finishing transaction."""

    job_id: uuid.UUID
    status: Literal["succeeded", "failed"]
    result: dict[str, Any]
    error: str

    @property
    def succeeded(self) -> bool:
        return self.status == "succeeded"


class JobRun:
    """What the work sees of its job: the row as claimed, the lease it holds, and where progress goes."""

    def __init__(self, job: BackgroundJob, lease: Lease | None) -> None:
        self.job = job
        self._lease = lease

    @property
    def lease(self) -> Lease:
        if self._lease is None:
            raise RuntimeError(f"job {self.job.id} runs without a lease; pass lease= to job_run")
        return self._lease

    def progress(self, *, processed: int, total: int, result: dict[str, Any] | None = None) -> None:
        """Record progress; it is also the heartbeat the reaper watches."""
        job_progress(job_id=self.job.id, processed=processed, total=total, result=result)

    def renew(self) -> None:
        """Extend the lease between steps; LeaseLost stops the job when a newer holder took it over."""
        lease_renew(self.lease)


Work = Callable[[JobRun], dict[str, Any]]


def _error_message(error: BaseException) -> str:
    message = getattr(error, "message", None)
    return message if isinstance(message, str) else str(error)


def job_run(
    *,
    job_id: uuid.UUID,
    job_type: str,
    actor: Actor,
    audit_action: str,
    work: Work,
    lease: str | None = None,
    lease_ttl_seconds: int | None = None,
    precondition: Callable[[], None] | None = None,
    expected_errors: tuple[type[Exception], ...] = (),
    partial_result: Callable[[], dict[str, Any]] | None = None,
    on_finish: Callable[[JobOutcome], None] | None = None,
) -> BackgroundJob | None:
    """Run a queued job of `job_type` through its whole life; returns the job as it ended, None if not claimable.

    `work` returns the job's result. `precondition` may raise an ApplicationError to fail the job before the
    lease is taken. `partial_result` is what a failed job records as its result (None: the result its progress
    last wrote stays). `on_finish` runs inside the finishing transaction, before the job row is closed.
    """
    job = job_claim(job_id=job_id, job_type=job_type)
    if job is None:
        logger.info("%s job %s is not claimable (already running or finished)", job_type, job_id)
        return None

    def finish(*, result: dict[str, Any] | None = None, error: str | None = None) -> BackgroundJob:
        if error is not None and result is None and partial_result is not None:
            result = partial_result()
        outcome = JobOutcome(
            job_id=job_id,
            status="succeeded" if error is None else "failed",
            result=result or {},
            error=error or "",
        )
        with transaction.atomic():
            if on_finish is not None:
                on_finish(outcome)
            if error is None:
                job_succeed(job_id=job_id, result=outcome.result)
            else:
                job_fail(job_id=job_id, error=error, result=result)
            audit_append(
                actor=actor,
                action=f"{audit_action}.finish",
                object_type="job",
                object_id=job_id,
                # The job's own status and error win over result keys of the same name (a model's status).
                data={**outcome.result, "status": outcome.status, "error": outcome.error},
            )
        return BackgroundJob.objects.get(id=job_id)

    stopping: tuple[type[Exception], ...] = (ApplicationError, *expected_errors)
    held: Lease | None = None
    try:
        if precondition is not None:
            precondition()
        if lease is not None:
            # No TTL of its own: the lease takes lease_acquire's default, set in one place.
            if lease_ttl_seconds is None:
                held = lease_acquire(name=lease)
            else:
                held = lease_acquire(name=lease, ttl_seconds=lease_ttl_seconds)
    except ApplicationError as exc:
        logger.warning("%s job %s could not start: %s", job_type, job_id, exc.message)
        return finish(error=exc.message)
    try:
        with transaction.atomic():
            audit_append(actor=actor, action=f"{audit_action}.start", object_type="job", object_id=job_id, data={})
        try:
            result = work(JobRun(job, held))
        except stopping as exc:
            logger.warning("%s job %s stopped: %s", job_type, job_id, _error_message(exc))
            return finish(error=_error_message(exc))
        except Exception as exc:
            logger.exception("%s job %s failed", job_type, job_id)
            finish(error=f"{type(exc).__name__}: {exc}")
            raise
        return finish(result=result)
    finally:
        if held is not None:
            lease_release(held)
