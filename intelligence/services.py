"""Intelligence writes: generation and training requests (a BackgroundJob, enqueued on commit) and model records."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from django.db import transaction
from django.utils import timezone

from audit.services import Actor, ActorLike, audit_append
from core.errors import ValidationFailed
from intelligence.features import FEATURE_NAMES
from intelligence.generation import JOB_TYPE, MAX_PERIOD_DAYS
from intelligence.models import ArtifactStatus, ModelArtifact
from intelligence.registry import artifact_dump, artifact_next_version
from intelligence.training import Progress, TrainingRun, beats_rules, library_versions, training_run
from jobs.models import BackgroundJob
from jobs.runner import JobRun, job_run
from jobs.services import job_create
from locks.services import Lease, lease_acquire, lease_guard, lease_release, lease_renew
from timesheets.models import Employee


def validate_period(*, start: date, end: date, employee_ids: list[uuid.UUID] | None) -> None:
    errors: dict[str, list[str]] = {}
    if end < start:
        errors["end_date"] = ["Must be on or after start_date."]
    elif (end - start).days + 1 > MAX_PERIOD_DAYS:
        errors["end_date"] = [f"The period may span at most {MAX_PERIOD_DAYS} days."]
    if employee_ids:
        known = set(Employee.objects.filter(id__in=employee_ids).values_list("id", flat=True))
        missing = [str(e) for e in employee_ids if e not in known]
        if missing:
            errors["employee_ids"] = [f"Unknown employee ids: {', '.join(missing[:10])}"]
    if errors:
        raise ValidationFailed("The generation request is invalid.", fields=errors)


@transaction.atomic
def generation_request(
    *,
    actor: ActorLike,
    start: date,
    end: date,
    employee_ids: list[uuid.UUID] | None = None,
    generate_suggestions: bool = True,
    auto_accept: bool = False,
) -> BackgroundJob:
    """Queue a generation job; Conflict (409) naming the running job if one is active for this tenant."""
    from intelligence.tasks import timesheets_generate_task

    validate_period(start=start, end=end, employee_ids=employee_ids)
    job = job_create(
        job_type=JOB_TYPE,
        parameters={
            "start_date": start.isoformat(),
            "end_date": end.isoformat(),
            "employee_ids": [str(e) for e in employee_ids] if employee_ids else None,
            "generate_suggestions": generate_suggestions,
            "auto_accept_high_confidence": auto_accept,
        },
        created_by=actor,
    )
    audit_append(
        actor=actor,
        action="generation.request",
        object_type="job",
        object_id=job.id,
        data={key: value for key, value in job.parameters.items() if key != "employee_ids"}
        | {"employees": len(employee_ids) if employee_ids else "all"},
    )
    job_id = str(job.id)
    transaction.on_commit(lambda: timesheets_generate_task.delay(job_id))
    return job


# Model training ------------------------------------------------------------------------------------------------

TRAIN_JOB_TYPE = "model_training"
TRAIN_LEASE_NAME = "model-training"
TRAIN_LEASE_TTL_SECONDS = 1800
TRAIN_ACTOR = Actor(kind="job", label="model training")
NIGHTLY_ACTOR = Actor(kind="system", label="nightly model training")
DUE_ACTOR = Actor(kind="system", label="model training after new decisions")


@transaction.atomic
def training_request(*, actor: ActorLike, countdown_seconds: int = 0) -> BackgroundJob:
    """Queue a training job for the current tenant; Conflict (409) naming the running one if there is one."""
    from intelligence.tasks import model_train_task

    job = job_create(job_type=TRAIN_JOB_TYPE, parameters={}, created_by=actor)
    audit_append(actor=actor, action="model.train_request", object_type="job", object_id=job.id, data={})
    job_id = str(job.id)
    transaction.on_commit(lambda: model_train_task.apply_async(args=(job_id,), countdown=countdown_seconds))
    return job


@transaction.atomic
def model_record(*, run: TrainingRun, actor: ActorLike, job_id: uuid.UUID | None = None) -> ModelArtifact:
    """Store a training run as the next versioned artifact; it becomes active only if it beat the rules engine."""
    version = artifact_next_version()
    now = timezone.now()
    window = run.window
    artifact = ModelArtifact(
        version=version,
        trained_at=now,
        samples=run.samples,
        employee_days=run.employee_days,
        holdout_samples=run.holdout_samples,
        data_start=window.data_start if window else None,
        holdout_start=window.holdout_start if window else None,
        data_end=window.data_end if window else None,
        metrics=run.metrics,
        feature_names=list(FEATURE_NAMES),
        training_seconds=round(run.seconds, 3),
        library_versions=library_versions(),
        job_id=job_id,
    )
    if run.bundle is None or not run.usable:
        artifact.status, artifact.reason = ArtifactStatus.FAILED, run.reason
    else:
        better, reason = beats_rules(run.metrics)
        artifact.reason = reason
        artifact.feature_importance = {
            name: round(float(value), 5) for name, value in zip(FEATURE_NAMES, run.bundle.importance, strict=True)
        }
        run.bundle.version, run.bundle.trained_at = version, now.isoformat()
        if better:
            payload, digest = artifact_dump(run.bundle)
            artifact.artifact, artifact.artifact_sha256, artifact.artifact_bytes = payload, digest, len(payload)
            ModelArtifact.objects.filter(status=ArtifactStatus.ACTIVE).update(status=ArtifactStatus.SUPERSEDED)
            artifact.status, artifact.activated_at = ArtifactStatus.ACTIVE, now
        else:
            artifact.status = ArtifactStatus.REJECTED
    artifact.save()
    audit_append(
        actor=actor,
        action="model.train",
        object_type="model",
        object_id=f"v{version}",
        data={
            "status": artifact.status,
            "reason": artifact.reason,
            "samples": artifact.samples,
            "holdout_samples": artifact.holdout_samples,
            "metrics": run.metrics,
        },
    )
    return artifact


def _model_train_holding(
    *, lease: Lease, actor: Actor, job_id: uuid.UUID | None, on_progress: Progress | None
) -> ModelArtifact:
    run = training_run(on_progress=on_progress)
    lease_renew(lease)
    with transaction.atomic():
        lease_guard(lease)
        return model_record(run=run, actor=actor, job_id=job_id)


def model_train(*, actor: Actor = TRAIN_ACTOR, on_progress: Progress | None = None) -> ModelArtifact:
    """Train the current tenant's model in the foreground (`manage.py train_model`); one at a time per tenant."""
    lease = lease_acquire(name=TRAIN_LEASE_NAME, ttl_seconds=TRAIN_LEASE_TTL_SECONDS)
    try:
        return _model_train_holding(lease=lease, actor=actor, job_id=None, on_progress=on_progress)
    finally:
        lease_release(lease)


def model_train_job(*, job_id: uuid.UUID) -> BackgroundJob | None:
    """Run a queued training job to completion or failure (jobs/runner.py); returns the job as it ended."""

    def work(run: JobRun) -> dict[str, Any]:
        def progress(done: int, total: int) -> None:
            run.progress(processed=done, total=total)

        artifact = _model_train_holding(lease=run.lease, actor=TRAIN_ACTOR, job_id=job_id, on_progress=progress)
        return {
            "version": artifact.version,
            "status": artifact.status,
            "reason": artifact.reason,
            "samples": artifact.samples,
            "metrics": artifact.metrics,
        }

    return job_run(
        job_id=job_id,
        job_type=TRAIN_JOB_TYPE,
        actor=TRAIN_ACTOR,
        audit_action="model.training",
        lease=TRAIN_LEASE_NAME,
        lease_ttl_seconds=TRAIN_LEASE_TTL_SECONDS,
        work=work,
    )
