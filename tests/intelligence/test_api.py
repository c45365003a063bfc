"""Training and model-status API, and the per-tenant rate limit of the ML endpoints (with Redis up and down)."""

from __future__ import annotations

import copy
import uuid
from typing import Any

from django.conf import settings
from django.test import override_settings
from django_tenants.utils import tenant_context

from intelligence.services import TRAIN_JOB_TYPE, model_record
from intelligence.training import TrainingRun
from jobs.models import BackgroundJob, JobStatus
from tenants.models import Tenant
from tests.conftest import TenantHandle, make_user, token_for
from tests.intelligence.ml_support import activate, tiny_bundle


def _auth(handle: TenantHandle, role: str = "HR") -> dict[str, Any]:
    user = make_user(handle, f"{role.lower()}-{uuid.uuid4().hex[:6]}@{handle.tenant.slug}.test", role)
    return {"HTTP_AUTHORIZATION": f"Token {token_for(handle, user)}"}


def model_status_for(handle: TenantHandle) -> dict[str, Any]:
    response = handle.client().get("/api/intelligence/model", **_auth(handle))
    assert response.status_code == 200, response.content
    body: dict[str, Any] = response.json()
    return body


def test_train_answers_202_with_a_job_then_409_naming_it(alpha: TenantHandle) -> None:
    client, auth = alpha.client(), _auth(alpha)
    response = client.post("/api/intelligence/train", {}, content_type="application/json", **auth)
    assert response.status_code == 202, response.content
    job_id = response.json()["job_id"]
    assert response.json()["status_url"] == f"/api/jobs/{job_id}"
    with tenant_context(alpha.tenant):
        job = BackgroundJob.objects.get(id=job_id)
        assert job.job_type == TRAIN_JOB_TYPE
        assert job.status == JobStatus.QUEUED
    again = client.post("/api/intelligence/train", {}, content_type="application/json", **auth)
    assert again.status_code == 409
    assert again.json()["error"]["job_id"] == job_id


def test_train_and_model_are_for_hr_and_admins_only(alpha: TenantHandle) -> None:
    client, auth = alpha.client(), _auth(alpha, "Employee")
    assert client.post("/api/intelligence/train", {}, content_type="application/json", **auth).status_code == 403
    assert client.get("/api/intelligence/model", **auth).status_code == 403
    assert client.get("/api/intelligence/model").status_code == 401


def test_model_status_shows_the_active_version_metrics_side_by_side_and_the_breaker(alpha: TenantHandle) -> None:
    with tenant_context(alpha.tenant):
        artifact = activate(tiny_bundle())
    body = model_status_for(alpha)
    assert body["source"] == "ml"
    assert body["active"]["version"] == artifact.version
    assert body["active"]["samples"] == 200
    assert body["active"]["trained_at"]
    metrics = body["active"]["metrics"]
    assert metrics["model"]["hours_mae"] == 0.3
    assert metrics["rules"]["hours_mae"] == 0.6
    assert body["artifact"] == {"state": "ok", "error": ""}
    assert body["breaker"]["state"] == "closed"
    assert body["breaker"]["fail_max"] == settings.ML_BREAKER_FAIL_MAX


def test_a_tenant_sees_only_its_own_model(alpha: TenantHandle, beta: TenantHandle) -> None:
    with tenant_context(alpha.tenant):
        activate(tiny_bundle())
    body = model_status_for(beta)
    assert body["source"] == "rules"
    assert body["active"] is None
    assert body["latest"] is None
    assert body["reason"] == "No model has been trained yet."
    # Alpha's token on beta's host is no credential there.
    assert beta.client().get("/api/intelligence/model", **_auth(alpha)).status_code == 401


def test_train_rejects_a_malformed_body(alpha: TenantHandle) -> None:
    response = alpha.client().post(
        "/api/intelligence/train", "{not json", content_type="application/json", **_auth(alpha)
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "malformed_request"


def _limit(handle: TenantHandle, per_minute: int) -> None:
    Tenant.objects.filter(id=handle.tenant.id).update(ml_rate_limit_per_minute=per_minute)


def _flood(handle: TenantHandle, auth: dict[str, Any] | list[dict[str, Any]], times: int) -> list[Any]:
    """`times` pending reads, taking turns between the given users' credentials."""
    client, auths = handle.client(), auth if isinstance(auth, list) else [auth]
    return [
        client.get("/api/timesheet-intelligence/suggestions/pending", **auths[i % len(auths)]) for i in range(times)
    ]


def test_flooding_one_tenant_yields_429s_for_it_while_the_other_is_served(
    alpha: TenantHandle, beta: TenantHandle
) -> None:
    _limit(alpha, 5)
    # Five users of alpha, each allowed one request of the five (a user's share is a quarter, at least one).
    alpha_auth, beta_auth = [_auth(alpha) for _ in range(5)], _auth(beta)
    alpha_responses = _flood(alpha, alpha_auth, 15)
    beta_responses = _flood(beta, beta_auth, 15)
    limited = [r for r in alpha_responses if r.status_code == 429]
    served = [r for r in alpha_responses if r.status_code == 200]
    assert len(limited) + len(served) == 15
    # A fixed window may roll over once during the flood: at most two windows' worth get through.
    assert 5 <= len(served) <= 10
    assert limited
    assert alpha_responses[5].status_code == 429 or alpha_responses[10].status_code == 429
    error = limited[0].json()["error"]
    assert error["code"] == "rate_limited"
    assert error["retry_after"] >= 1
    assert 1 <= int(limited[0]["Retry-After"]) <= 60
    assert [r.status_code for r in beta_responses] == [200] * 15


def test_the_limit_is_one_budget_across_the_ml_endpoints(alpha: TenantHandle) -> None:
    _limit(alpha, 12)  # a user's share: 3
    client, auth = alpha.client(), _auth(alpha)
    statuses = [
        client.get("/api/timesheet-intelligence/suggestions/pending", **auth).status_code,
        client.post(
            "/api/timesheet-intelligence/suggestions/reject", {"ids": ["x"]}, content_type="application/json", **auth
        ).status_code,
        client.post("/api/intelligence/train", {}, content_type="application/json", **auth).status_code,
        client.post(
            "/api/timesheet-intelligence/generate",
            {"start_date": "2026-03-02", "end_date": "2026-03-06"},
            content_type="application/json",
            **auth,
        ).status_code,
        client.post(
            "/api/timesheet-intelligence/suggestions/accept", {"ids": ["x"]}, content_type="application/json", **auth
        ).status_code,
    ]
    # Unless the window rolled over mid-test, the user's fourth and fifth ML calls of the minute are refused.
    assert statuses[:3] == [200, 200, 202]
    assert statuses[3:].count(429) >= 1
    # The model status is not an ML operation: never limited.
    assert client.get("/api/intelligence/model", **auth).status_code == 200


def test_with_redis_down_the_rate_limiter_fails_open(alpha: TenantHandle) -> None:
    _limit(alpha, 2)
    caches = copy.deepcopy(settings.CACHES)
    caches["ratelimit"]["LOCATION"] = "redis://127.0.0.1:1/0"  # nothing listens there
    auth = _auth(alpha)
    with override_settings(CACHES=caches):
        responses = _flood(alpha, auth, 6)
    assert [r.status_code for r in responses] == [200] * 6


def test_model_status_names_the_winner_of_the_latest_run_and_why(alpha: TenantHandle) -> None:
    scores = {"acceptance_log_loss": 0.4, "ece": 0.03, "suggested_rows": 10}
    run = TrainingRun(
        window=None,
        bundle=tiny_bundle(),
        metrics={"model": {"hours_mae": 0.5, **scores}, "rules": {"hours_mae": 0.4, **scores}},
        usable=True,
    )
    with tenant_context(alpha.tenant):
        artifact = model_record(run=run, actor=None)
    body = model_status_for(alpha)
    assert body["source"] == "rules"
    assert body["latest"]["status"] == "rejected"
    assert body["reason"] == artifact.reason
    assert body["reason"].startswith("The rules engine answers: the model is not 2% better on the holdout's hours MAE")
    assert "hours MAE 0.500 vs rules 0.400" in body["reason"]
