"""Training on seeded data with known structure: the model must beat the rules engine and be calibrated."""

from __future__ import annotations

import io
from datetime import date

import numpy as np
import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings
from django_tenants.utils import tenant_context
from sklearn.dummy import DummyClassifier, DummyRegressor

from audit.models import AuditEvent
from intelligence import training
from intelligence.features import FEATURE_NAMES
from intelligence.models import ArtifactStatus, ModelArtifact
from intelligence.predictor import ModelBundle, predictor_active
from intelligence.selectors import decisions_since_training, training_due
from intelligence.services import TRAIN_JOB_TYPE, TRAIN_LEASE_NAME, model_train, model_train_job, training_request
from intelligence.tasks import models_train_nightly_task, models_train_when_due_task
from intelligence.training import Part
from jobs.models import BackgroundJob, JobStatus
from locks.services import lease_acquire, lease_release
from tests.conftest import TenantHandle
from tests.intelligence.builders import build_world

END = date(2026, 3, 27)


def seed(handle: TenantHandle, *, employees: int = 60, days: int = 120, seed: int = 11) -> None:
    argv = ["--tenant", handle.tenant.slug, "--employees", str(employees), "--days", str(days)]
    argv += ["--seed", str(seed), "--end-date", END.isoformat(), "--reset"]
    call_command("seed_demo", *argv, stdout=io.StringIO())


def _ignorant_fit(train: Part, *, calibration_from_day: int, seed: int = 0) -> ModelBundle:
    """A 'model' that knows nothing: the mean share and the base rate for every candidate."""
    X = train.matrix()
    hours = train.column("hours")
    return ModelBundle(
        regressor=DummyRegressor().fit(X, training._share(hours, X)),
        classifier=DummyClassifier(strategy="prior").fit(X, (hours > 0).astype(int)),
        feature_names=FEATURE_NAMES,
        feature_mean=X.mean(axis=0),
        feature_scale=X.std(axis=0) + 1.0,
        importance=np.ones(len(FEATURE_NAMES), dtype=np.float32),
    )


def test_the_trained_model_beats_the_rules_engine_on_the_holdout_and_is_calibrated(alpha: TenantHandle) -> None:
    seed(alpha)
    with tenant_context(alpha.tenant):
        artifact = model_train()
        assert artifact.samples > 1000, artifact.metrics
        assert artifact.holdout_samples > 300, artifact.metrics
        model, rules = artifact.metrics["model"], artifact.metrics["rules"]
        # Known structure (mixes, weekday habits, phases) that the rules engine's heuristics only half use.
        assert model["hours_mae"] <= 0.8 * rules["hours_mae"], artifact.metrics
        assert model["ece"] <= 0.1, artifact.metrics
        assert model["acceptance_log_loss"] < rules["acceptance_log_loss"], artifact.metrics
        assert artifact.status == ArtifactStatus.ACTIVE, artifact.reason
        assert artifact.holdout_start is not None
        assert artifact.data_end is not None
        assert (artifact.data_end - artifact.holdout_start).days == training.HOLDOUT_DAYS - 1
        assert ModelArtifact.objects.filter(status=ArtifactStatus.ACTIVE).count() == 1
        active = predictor_active()
        assert active is not None
        assert active.version == artifact.version


def test_a_model_that_does_not_beat_the_rules_is_kept_rejected_with_its_reason(
    alpha: TenantHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed(alpha, employees=40, days=100)
    with tenant_context(alpha.tenant):
        monkeypatch.setattr(training, "model_fit", _ignorant_fit)
        artifact = model_train()
        assert artifact.status == ArtifactStatus.REJECTED
        assert artifact.reason.startswith("The rules engine answers: the model is not 2% better")
        assert artifact.metrics["model"]["hours_mae"] >= artifact.metrics["rules"]["hours_mae"]
        assert not ModelArtifact.objects.filter(status=ArtifactStatus.ACTIVE).exists()
        assert artifact.artifact_bytes == 0  # nothing that will never run is stored
        assert AuditEvent.objects.filter(action="model.train", object_id=f"v{artifact.version}").count() == 1


def test_too_few_confirmed_outcomes_are_recorded_as_a_failed_run(alpha: TenantHandle) -> None:
    with tenant_context(alpha.tenant):
        build_world(employees=2, days=3)
        artifact = model_train()
        assert artifact.status == ArtifactStatus.FAILED
        assert artifact.reason.startswith("Too few confirmed outcomes")
        assert predictor_active() is None


def test_train_model_and_evaluate_model_print_the_comparison(alpha: TenantHandle) -> None:
    seed(alpha)
    out = io.StringIO()
    call_command("train_model", "--tenant", alpha.tenant.slug, stdout=out)
    text = out.getvalue()
    assert "active" in text
    assert "hours MAE" in text
    assert "acceptance log-loss" in text
    with tenant_context(alpha.tenant):
        active = ModelArtifact.objects.get(status=ArtifactStatus.ACTIVE)
    out = io.StringIO()
    call_command("evaluate_model", "--tenant", alpha.tenant.slug, stdout=out)
    lines = out.getvalue()
    assert f"Model v{active.version} vs rules engine" in lines
    assert f"{active.metrics['model']['hours_mae']:.4f}" in lines  # the same holdout, the same figures
    assert f"{active.metrics['rules']['hours_mae']:.4f}" in lines
    out = io.StringIO()
    call_command("train_model", "--tenant", alpha.tenant.slug, "--if-untrained", stdout=out)
    assert "already has a training run" in out.getvalue()
    with tenant_context(alpha.tenant):
        assert ModelArtifact.objects.count() == 1


def test_evaluate_model_without_an_active_model_says_the_rules_answer(alpha: TenantHandle) -> None:
    with pytest.raises(CommandError, match="No active model"):
        call_command("evaluate_model", "--tenant", alpha.tenant.slug, stdout=io.StringIO())


def test_a_queued_training_job_runs_to_success_with_the_outcome_in_its_result(alpha: TenantHandle) -> None:
    seed(alpha)
    with tenant_context(alpha.tenant):
        job = training_request(actor=None)
        finished = model_train_job(job_id=job.id)
        assert finished is not None
        assert finished.status == JobStatus.SUCCEEDED, finished.error
        assert finished.result["status"] == ArtifactStatus.ACTIVE
        artifact = ModelArtifact.objects.get(version=finished.result["version"])
        assert artifact.job_id == job.id
        assert model_train_job(job_id=job.id) is None  # finished jobs are not claimed twice
        actions = list(
            AuditEvent.objects.filter(object_type="job", object_id=str(job.id))
            .order_by("sequence")
            .values_list("action", "data__status")
        )
        assert actions == [
            ("model.train_request", None),
            ("model.training.start", None),
            ("model.training.finish", "succeeded"),
        ]


def test_a_training_job_that_cannot_take_the_lease_fails_naming_why_and_audits_its_finish(
    alpha: TenantHandle,
) -> None:
    with tenant_context(alpha.tenant):
        job = training_request(actor=None)
        holder = lease_acquire(name=TRAIN_LEASE_NAME)
        try:
            finished = model_train_job(job_id=job.id)
        finally:
            lease_release(holder)
        assert finished is not None
        assert finished.status == JobStatus.FAILED
        assert "already running" in finished.error
        finish = AuditEvent.objects.get(object_id=str(job.id), action="model.training.finish")
        assert (finish.data["status"], finish.data["error"]) == ("failed", finished.error)


def test_the_nightly_schedule_queues_one_training_job_per_tenant(alpha: TenantHandle, beta: TenantHandle) -> None:
    queued = models_train_nightly_task()
    assert queued >= 2
    for handle in (alpha, beta):
        with tenant_context(handle.tenant):
            assert BackgroundJob.objects.filter(job_type=TRAIN_JOB_TYPE, status=JobStatus.QUEUED).count() == 1
    assert models_train_nightly_task() == 0  # already queued everywhere: nothing new


def test_a_tenant_with_enough_new_decisions_trains_during_the_day(alpha: TenantHandle) -> None:
    with tenant_context(alpha.tenant):
        build_world(employees=2, days=5)  # six weeks of accepted history for each: 60 allocations
        new = decisions_since_training()
        assert new >= 60
    with override_settings(ML_RETRAIN_MIN_DECISIONS=new + 1):
        models_train_when_due_task()
        with tenant_context(alpha.tenant):
            assert not BackgroundJob.objects.filter(job_type=TRAIN_JOB_TYPE).exists()
    with override_settings(ML_RETRAIN_MIN_DECISIONS=new):
        assert models_train_when_due_task() >= 1
        with tenant_context(alpha.tenant):
            job = BackgroundJob.objects.get(job_type=TRAIN_JOB_TYPE, status=JobStatus.QUEUED)
            finished = model_train_job(job_id=job.id)
            assert finished is not None
            assert finished.status == JobStatus.SUCCEEDED, finished.error
            # Counted from the run just recorded: nothing new since.
            assert decisions_since_training() == 0
            assert not training_due()
