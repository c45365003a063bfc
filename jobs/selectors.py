"""Reads of BackgroundJob rows."""

from __future__ import annotations

import uuid
from typing import Any

from core.errors import NotFound
from core.roles import is_staff_user
from jobs.models import ACTIVE_STATUSES, BackgroundJob


def job_get(*, job_id: uuid.UUID | str, user: Any) -> BackgroundJob:
    """A job of this tenant the user may see (staff: any; others: their own); NotFound otherwise."""
    try:
        key = uuid.UUID(str(job_id))
    except ValueError:
        raise NotFound("No such job.") from None
    jobs = BackgroundJob.objects.filter(id=key)
    if not is_staff_user(user):
        jobs = jobs.filter(created_by=user)
    job = jobs.first()
    if job is None:
        raise NotFound("No such job.")
    return job


def job_active(*, job_type: str) -> BackgroundJob | None:
    return BackgroundJob.objects.filter(job_type=job_type, status__in=ACTIVE_STATUSES).first()


def jobs_recent(*, limit: int = 10, job_type: str | None = None) -> list[BackgroundJob]:
    jobs = BackgroundJob.objects.all() if job_type is None else BackgroundJob.objects.filter(job_type=job_type)
    return list(jobs.order_by("-created_at")[:limit])
