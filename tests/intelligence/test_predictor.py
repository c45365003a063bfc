"""The predictor: exact splits, the shared per-tenant breaker, rules fallback in generation, artifact trouble."""

from __future__ import annotations

import copy
import multiprocessing
import time
from decimal import Decimal

import numpy as np
import pytest
from django.conf import settings
from django.db import connection
from django.db.models import Sum
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import tenant_context

from core.ttlcache import ttl_caches_forget
from intelligence import generation
from intelligence.features import ProjectTable, chunk_features
from intelligence.generation import JOB_TYPE, timesheets_generate
from intelligence.models import ModelArtifact
from intelligence.predictor import (
    InvalidPredictorInput,
    PredictorUnavailable,
    breaker_state,
    predict_guarded,
    predictor_active,
    suggestion_hours,
)
from intelligence.registry import model_load
from intelligence.rules import split_groups
from jobs.models import BackgroundJob, JobStatus
from jobs.services import job_create
from tests.conftest import TenantHandle
from tests.intelligence.breaker_child import child_fail
from tests.intelligence.builders import World, build_world
from tests.intelligence.ml_support import (
    CountingRegressor,
    FailingRegressor,
    _features,
    activate,
    failing_bundle,
    tiny_bundle,
)
from timesheets.models import ProjectAllocationSuggestion, SuggestionSource


def _generate(world: World) -> BackgroundJob:
    job = job_create(
        job_type=JOB_TYPE,
        parameters={"start_date": world.start.isoformat(), "end_date": world.end.isoformat()},
    )
    finished = timesheets_generate(job_id=job.id)
    assert finished is not None
    return finished


def test_split_groups_gives_each_day_exactly_its_hours_in_whole_granules() -> None:
    rng = np.random.default_rng(3)
    group = rng.integers(0, 50, size=400)
    weight = rng.random(400).astype(np.float32)
    totals = rng.integers(1, 1200, size=50)
    hundredths = split_groups(group, weight, totals[group], granularity_c=25)
    for g in np.unique(group):
        rows = hundredths[group == g]
        assert rows.sum() == totals[g]
        assert (rows % 25 != 0).sum() <= 1  # only the largest share absorbs the sub-granule residue
        assert (rows >= 0).all()


def test_suggestion_hours_keeps_the_likeliest_project_even_when_none_is_likely() -> None:
    group = np.array([0, 0, 1, 1, 1])
    hours = np.array([2.0, 6.0, 1.0, 1.0, 6.0], dtype=np.float32)
    confidence = np.array([0.9, 0.8, 0.1, 0.2, 0.3], dtype=np.float32)
    out = suggestion_hours(
        day_group=group, hours=hours, confidence=confidence, remaining_c=np.full(5, 800), granularity_c=25
    )
    assert out[:2].sum() == 800
    assert out[0] == 200
    assert out[1] == 600
    assert out[2:].tolist() == [0, 0, 800]  # only the day's likeliest project is proposed


def test_features_for_a_chunk_cost_the_same_queries_for_3_or_12_employees(alpha: TenantHandle) -> None:
    with tenant_context(alpha.tenant):
        small = build_world(employees=3, days=5, tag="fa")
        large = build_world(employees=12, days=5, tag="fb")
        projects = ProjectTable.load()
        counts = []
        for world in (small, large):
            with CaptureQueriesContext(connection) as queries:
                _, candidates = chunk_features(
                    employee_ids=[e.id for e in world.employees], start=world.start, end=world.end, projects=projects
                )
            counts.append(len(queries))
            # Every employee-day has its three projects as candidates: a log, an open issue, six weeks of history.
            assert len(candidates) == len(world.employees) * 5 * 3
        assert counts[0] == counts[1] <= 6  # five reads (and the search path), whatever the chunk size


def test_generation_with_an_active_model_marks_its_suggestions_ml_and_splits_days_exactly(
    alpha: TenantHandle,
) -> None:
    with tenant_context(alpha.tenant):
        world = build_world(employees=3, days=5)
        artifact = activate(tiny_bundle())
        job = _generate(world)
        assert job.status == JobStatus.SUCCEEDED, job.error
        assert job.result["model_version"] == artifact.version
        assert job.result["model_days"] == 15
        assert job.result["model_failures"] == 0
        suggestions = ProjectAllocationSuggestion.objects.all()
        assert {s.source for s in suggestions} == {SuggestionSource.ML}
        assert all(f"model v{artifact.version}:" in s.explanation for s in suggestions)
        per_day = suggestions.values("employee_id", "date").annotate(total=Sum("hours"))
        assert {row["total"] for row in per_day} == {Decimal("8.00")}


@override_settings(ML_BREAKER_FAIL_MAX=2, ML_BREAKER_RESET_SECONDS=60)
def test_a_failing_model_never_fails_generation_the_rules_engine_answers(alpha: TenantHandle) -> None:
    ttl_caches_forget()
    with tenant_context(alpha.tenant):
        world = build_world(employees=3, days=5)
        activate(failing_bundle())
        job = _generate(world)
        assert job.status == JobStatus.SUCCEEDED, job.error
        assert job.result["model_failures"] == 1
        assert job.result["model_days"] == 0
        assert job.result["suggestions_created"] == 45
        sources = set(ProjectAllocationSuggestion.objects.values_list("source", flat=True))
        assert sources == {SuggestionSource.RULES}
        # One more failure opens the breaker; the next run does not even call the model.
        _generate(world)
        assert breaker_state().state == "open"
        calls = FailingRegressor.calls
        job = _generate(world)
        assert job.status == JobStatus.SUCCEEDED
        assert job.result["model_failures"] == 1
        assert FailingRegressor.calls == calls
        assert set(ProjectAllocationSuggestion.objects.values_list("source", flat=True)) == {SuggestionSource.RULES}


@override_settings(ML_BREAKER_FAIL_MAX=3, ML_BREAKER_RESET_SECONDS=1)
def test_invalid_input_is_not_counted_and_a_success_after_the_reset_timeout_closes_the_breaker(
    alpha: TenantHandle,
) -> None:
    ttl_caches_forget()
    with tenant_context(alpha.tenant):
        for _ in range(5):
            with pytest.raises(InvalidPredictorInput):
                predict_guarded(tiny_bundle(), np.zeros((4, 3), dtype=np.float32))
        assert breaker_state().failures == 0
        assert breaker_state().state == "closed"
        for _ in range(3):
            with pytest.raises(PredictorUnavailable):
                predict_guarded(failing_bundle(), _features(4))
        assert breaker_state().state == "open"
        counting = tiny_bundle(regressor=CountingRegressor())
        with pytest.raises(PredictorUnavailable, match="breaker is open"):
            predict_guarded(counting, _features(4))
        assert CountingRegressor.calls == 0
        time.sleep(2.1)  # opened_at is kept in whole seconds
        prediction = predict_guarded(counting, _features(4))
        assert len(prediction.hours) == 4
        assert CountingRegressor.calls == 1
        assert breaker_state().state == "closed"


@override_settings(ML_BREAKER_FAIL_MAX=2, ML_BREAKER_RESET_SECONDS=60)
def test_a_prediction_over_its_time_budget_counts_as_a_failure(alpha: TenantHandle) -> None:
    ttl_caches_forget()
    with tenant_context(alpha.tenant):
        with pytest.raises(PredictorUnavailable, match="over its"):
            predict_guarded(tiny_bundle(), _features(4), budget_seconds=0.0)
        assert breaker_state().failures == 1
        assert len(predict_guarded(tiny_bundle(), _features(4), budget_seconds=5.0).hours) == 4
        assert breaker_state().failures == 0  # a success resets the count


@override_settings(ML_BREAKER_FAIL_MAX=2, ML_BREAKER_RESET_SECONDS=60)
def test_one_tenants_failing_model_leaves_another_tenants_breaker_closed(
    alpha: TenantHandle, beta: TenantHandle
) -> None:
    ttl_caches_forget()
    with tenant_context(alpha.tenant):
        for _ in range(2):
            with pytest.raises(PredictorUnavailable):
                predict_guarded(failing_bundle(), _features(4))
        assert breaker_state().state == "open"
    with tenant_context(beta.tenant):
        assert breaker_state().state == "closed"
        assert len(predict_guarded(tiny_bundle(), _features(4)).hours) == 4


def _in_process(schema: str, times: int) -> tuple[list[str], str]:
    """Fail the model `times` times in a fresh process (fail_max 3) and return what it saw."""
    spawn = multiprocessing.get_context("spawn")
    results = spawn.Queue()
    process = spawn.Process(target=child_fail, args=(schema, times, 3, 60, results))
    process.start()
    try:
        outcome: tuple[list[str], str] = results.get(timeout=60)
    finally:
        process.join(timeout=10)
        if process.is_alive():
            process.kill()
    return outcome


@pytest.mark.slow
def test_the_breaker_opens_after_fail_max_failures_counted_across_two_processes(alpha: TenantHandle) -> None:
    schema = alpha.tenant.schema_name
    outcomes, state = _in_process(schema, 2)
    assert outcomes == ["failed", "failed"]
    assert state == "closed"
    # The third failure overall, in another process, opens it; that process's next call is refused outright.
    outcomes, state = _in_process(schema, 2)
    assert outcomes == ["open", "open"]
    assert state == "open"
    with tenant_context(alpha.tenant):
        assert breaker_state().state == "open"
        assert breaker_state().failures >= 3


def test_a_corrupt_or_missing_artifact_means_rules_and_says_so_on_the_model_api(alpha: TenantHandle) -> None:
    from tests.intelligence.test_api import model_status_for

    with tenant_context(alpha.tenant):
        world = build_world(employees=2, days=3)
        artifact = activate(tiny_bundle())
        ModelArtifact.objects.filter(id=artifact.id).update(artifact=b"not a model at all")
        ttl_caches_forget()
        assert predictor_active() is None
        job = _generate(world)
        assert job.status == JobStatus.SUCCEEDED
        assert job.result["model_version"] is None
        assert set(ProjectAllocationSuggestion.objects.values_list("source", flat=True)) == {SuggestionSource.RULES}
    body = model_status_for(alpha)
    assert body["source"] == "rules"
    assert body["artifact"]["state"] == "corrupt"
    assert "checksum" in body["artifact"]["error"]
    assert body["active"]["version"] == artifact.version
    with tenant_context(alpha.tenant):
        ModelArtifact.objects.filter(id=artifact.id).update(artifact=b"")
        ttl_caches_forget()
    body = model_status_for(alpha)
    assert body["source"] == "rules"
    assert body["artifact"]["state"] == "missing"


def test_an_artifact_is_read_once_per_process_and_version(alpha: TenantHandle) -> None:
    with tenant_context(alpha.tenant):
        activate(tiny_bundle())
        first = predictor_active()
        assert first is not None
        with CaptureQueriesContext(connection) as queries:
            again = predictor_active()
        assert again is not None
        assert again.bundle is first.bundle
        selects = [q["sql"] for q in queries if q["sql"].lstrip().upper().startswith("SELECT")]
        # Only which version is active (id, version, checksum); the bytes come from the process cache.
        assert len(selects) == 1, selects
        assert "artifact_sha256" in selects[0]
        newer = activate(tiny_bundle())
        latest = predictor_active()
        assert latest is not None
        assert latest.version == newer.version
        assert latest.bundle is not first.bundle
        assert model_load(latest.ref).bundle is latest.bundle


def test_with_redis_down_the_breaker_reads_closed_and_a_failing_model_still_falls_back(alpha: TenantHandle) -> None:
    caches = copy.deepcopy(settings.CACHES)
    caches["default"]["LOCATION"] = "redis://127.0.0.1:1/0"  # nothing listens there
    with tenant_context(alpha.tenant), override_settings(CACHES=caches, ML_BREAKER_FAIL_MAX=1):
        ttl_caches_forget()
        assert breaker_state().state == "unknown"
        assert len(predict_guarded(tiny_bundle(), _features(4)).hours) == 4
        for _ in range(3):  # failures cannot be counted, so the breaker never opens: each call falls back alone
            with pytest.raises(PredictorUnavailable, match="The model failed"):
                predict_guarded(failing_bundle(), _features(4))
    ttl_caches_forget()


def test_an_error_turning_predictions_into_suggestions_leaves_the_chunk_to_the_rules(
    alpha: TenantHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise ValueError("a bug in the post-processing")

    monkeypatch.setattr(generation, "suggestion_hours", broken)
    with tenant_context(alpha.tenant):
        world = build_world(employees=2, days=3)
        activate(tiny_bundle())
        job = _generate(world)
        assert job.status == JobStatus.SUCCEEDED, job.error
        assert job.result["model_failures"] == 1
        assert set(ProjectAllocationSuggestion.objects.values_list("source", flat=True)) == {SuggestionSource.RULES}
