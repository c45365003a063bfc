"""Writes to BackgroundJob rows: create, claim, progress, finish, and reap stalled jobs."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from core import metrics
from core.errors import Conflict
from jobs.models import ACTIVE_STATUSES, BackgroundJob, JobStatus


class JobAlreadyRunning(Conflict):
    code = "job_running"


def job_create(*, job_type: str, parameters: dict[str, Any], created_by: Any = None) -> BackgroundJob:
    """Record a queued job; a second active job of the same type in this tenant is a Conflict naming the first."""
    try:
        with transaction.atomic():
            return BackgroundJob.objects.create(
                job_type=job_type,
                parameters=parameters,
                created_by=created_by if getattr(created_by, "pk", None) else None,
            )
    except IntegrityError:
        running = BackgroundJob.objects.filter(job_type=job_type, status__in=ACTIVE_STATUSES).first()
        raise JobAlreadyRunning(
            f"A {job_type} job is already {running.status if running else 'active'} for this tenant.",
            extra={"job_id": str(running.id) if running else None, "status_url": job_status_url(running)},
        ) from None


def job_status_url(job: BackgroundJob | None) -> str | None:
    return f"/api/jobs/{job.id}" if job is not None else None


def job_claim(
    *, job_id: uuid.UUID, job_type: str | None = None, stale_after_seconds: int = 300
) -> BackgroundJob | None:
    """Mark the job running if it is queued (or running with a dead heartbeat, i.e. redelivered).

    A conditional UPDATE that must touch exactly one row: two workers can never both claim a job, and a
    runner given `job_type` never claims a job of another type.
    """
    now = timezone.now()
    stale = now - timedelta(seconds=stale_after_seconds)
    claimable = Q(status=JobStatus.QUEUED) | Q(status=JobStatus.RUNNING, heartbeat_at__lt=stale)
    claimable_jobs = BackgroundJob.objects.filter(claimable, id=job_id)
    if job_type is not None:
        claimable_jobs = claimable_jobs.filter(job_type=job_type)
    claimed = claimable_jobs.update(
        status=JobStatus.RUNNING,
        started_at=now,
        heartbeat_at=now,
        attempts=F("attempts") + 1,
        error="",
    )
    if claimed != 1:
        return None
    job = BackgroundJob.objects.get(id=job_id)
    metrics.job_claimed(job_id=job.id, job_type=job.job_type)
    return job


def job_progress(*, job_id: uuid.UUID, processed: int, total: int, result: dict[str, Any] | None = None) -> None:
    progress = 100 if total == 0 else min(99, int(processed * 100 / total))
    fields: dict[str, Any] = {
        "processed": processed,
        "total": total,
        "progress": progress,
        "heartbeat_at": timezone.now(),
    }
    if result is not None:
        fields["result"] = result
    BackgroundJob.objects.filter(id=job_id, status=JobStatus.RUNNING).update(**fields)


def job_succeed(*, job_id: uuid.UUID, result: dict[str, Any]) -> None:
    now = timezone.now()
    finished = BackgroundJob.objects.filter(id=job_id, status=JobStatus.RUNNING).update(
        status=JobStatus.SUCCEEDED, progress=100, result=result, finished_at=now, heartbeat_at=now
    )
    if finished:
        metrics.job_closed(job_id=job_id, outcome=JobStatus.SUCCEEDED, job_type_of=lambda: _job_type(job_id))


def job_fail(*, job_id: uuid.UUID, error: str, result: dict[str, Any] | None = None) -> None:
    now = timezone.now()
    fields: dict[str, Any] = {"status": JobStatus.FAILED, "error": error[:2000], "finished_at": now}
    if result is not None:
        fields["result"] = result
    if BackgroundJob.objects.filter(id=job_id, status__in=ACTIVE_STATUSES).update(**fields):
        metrics.job_closed(job_id=job_id, outcome=JobStatus.FAILED, job_type_of=lambda: _job_type(job_id))


def _job_type(job_id: uuid.UUID) -> str | None:
    return BackgroundJob.objects.filter(id=job_id).values_list("job_type", flat=True).first()


def jobs_reap_stalled(*, heartbeat_timeout_seconds: int, queued_timeout_seconds: int = 3600) -> int:
    """Fail running jobs whose heartbeat stopped (their worker died) and queued jobs nobody picked up."""
    now = timezone.now()
    dead = BackgroundJob.objects.filter(
        status=JobStatus.RUNNING, heartbeat_at__lt=now - timedelta(seconds=heartbeat_timeout_seconds)
    ).update(
        status=JobStatus.FAILED,
        error=f"No heartbeat for {heartbeat_timeout_seconds}s: the worker stopped. Re-running the period is safe.",
        finished_at=now,
    )
    lost = BackgroundJob.objects.filter(
        status=JobStatus.QUEUED, created_at__lt=now - timedelta(seconds=queued_timeout_seconds)
    ).update(
        status=JobStatus.FAILED,
        error=f"Not started within {queued_timeout_seconds}s: the task was lost. Submit it again.",
        finished_at=now,
    )
    metrics.jobs_reaped(count=dead + lost)
    return dead + lost
