"""GET /metrics: HTTP, job, ML, pool and cache families, who may read them, and bounded label sets."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
import zlib
from pathlib import Path
from typing import Any

import pybreaker
import pytest
from django.test import Client
from django_tenants.utils import tenant_context
from rest_framework.authtoken.models import Token

from core import metrics
from jobs.services import job_claim, job_create, job_fail, job_succeed
from tenants.cache import tenant_cache_get, tenant_cache_set
from tenants.models import Tenant
from tenants.services import tenant_create, tenant_delete
from tests.conftest import PASSWORD, TenantHandle, make_user, token_for
from tests.ops.conftest import sample_value, scrape
from tests.timesheets.factories import auth, staff_token

EXPECTED_FAMILIES = {
    "hrms_http_requests",
    "hrms_http_request_duration_seconds",
    "hrms_jobs_started",
    "hrms_jobs_finished",
    "hrms_job_duration_seconds",
    "hrms_jobs_running",
    "hrms_queue_length",
    "hrms_broker_up",
    "hrms_ml_breaker_state_changes",
    "hrms_ml_fallbacks",
    "hrms_ratelimit_rejections",
    "hrms_ml_predictions",
    "hrms_db_pool_connections_in_use",
    "hrms_db_pool_requests_waiting",
    "hrms_tenant_cache_requests",
}


def _trip_a_breaker() -> None:
    breaker = pybreaker.CircuitBreaker(fail_max=1, reset_timeout=60, listeners=[metrics.BreakerMetricsListener()])

    def broken() -> None:
        raise RuntimeError("model unavailable")

    with pytest.raises((RuntimeError, pybreaker.CircuitBreakerError)):
        breaker.call(broken)
    assert breaker.current_state == "open"


def _run_a_job(handle: TenantHandle, *, fail: bool = False) -> None:
    with tenant_context(handle.tenant):
        job = job_create(job_type="ops-probe", parameters={})
        assert job_claim(job_id=job.id) is not None
        if fail:
            job_fail(job_id=job.id, error="boom")
        else:
            job_succeed(job_id=job.id, result={})


def test_metrics_expose_every_family_after_a_request_a_job_and_a_breaker_trip(alpha: TenantHandle) -> None:
    before = scrape()
    token = staff_token(alpha)
    assert alpha.client().get("/api/employees", **auth(token)).status_code == 200
    _run_a_job(alpha)
    _run_a_job(alpha, fail=True)
    _trip_a_breaker()
    metrics.ml_fallback(reason="breaker_open")
    metrics.ratelimit_rejected(scope="generate")
    metrics.predictions_served(source="rules", count=7)
    with tenant_context(alpha.tenant):
        assert tenant_cache_get(namespace="ops-probe", key="k") is None
        tenant_cache_set(namespace="ops-probe", key="k", value=1)
        assert tenant_cache_get(namespace="ops-probe", key="k") == 1

    after = scrape()

    assert set(after) >= EXPECTED_FAMILIES

    def grew(family: str, name: str, **labels: str) -> float:
        now = sample_value(after.get(family, []), name, **labels)
        return now - sample_value(before.get(family, []), name, **labels)

    route = {"route": "/api/employees", "method": "GET", "status": "200"}
    assert grew("hrms_http_requests", "hrms_http_requests_total", **route) == 1
    assert grew("hrms_http_request_duration_seconds", "hrms_http_request_duration_seconds_count", **route) == 1
    assert grew("hrms_jobs_started", "hrms_jobs_started_total", job_type="ops-probe") == 2
    assert grew("hrms_jobs_finished", "hrms_jobs_finished_total", job_type="ops-probe", outcome="succeeded") == 1
    assert grew("hrms_jobs_finished", "hrms_jobs_finished_total", job_type="ops-probe", outcome="failed") == 1
    assert grew("hrms_job_duration_seconds", "hrms_job_duration_seconds_count", job_type="ops-probe") == 2
    assert sample_value(after["hrms_jobs_running"], "hrms_jobs_running", job_type="ops-probe") == 0
    transition = {"component": "predictor", "from_state": "closed", "to_state": "open"}
    assert grew("hrms_ml_breaker_state_changes", "hrms_ml_breaker_state_changes_total", **transition) == 1
    assert grew("hrms_ml_fallbacks", "hrms_ml_fallbacks_total", reason="breaker_open") == 1
    assert grew("hrms_ratelimit_rejections", "hrms_ratelimit_rejections_total", scope="generate") == 1
    assert grew("hrms_ml_predictions", "hrms_ml_predictions_total", source="rules") == 7
    cache = "hrms_tenant_cache_requests"
    assert grew(cache, "hrms_tenant_cache_requests_total", namespace="ops-probe", result="miss") == 1
    assert grew(cache, "hrms_tenant_cache_requests_total", namespace="ops-probe", result="hit") == 1
    assert sample_value(after["hrms_broker_up"], "hrms_broker_up") == 1
    assert {sample.labels["queue"] for sample in after["hrms_queue_length"]} == {
        "celery",
        "generation",
        "sync",
        "training",
    }
    assert [sample.labels["alias"] for sample in after["hrms_db_pool_connections_in_use"]] == ["default"]


def test_it_counts_a_job_failed_outside_the_worker_without_moving_the_running_gauge(alpha: TenantHandle) -> None:
    with tenant_context(alpha.tenant):
        job = job_create(job_type="ops-queued", parameters={})
    before = scrape()
    with tenant_context(alpha.tenant):
        job_fail(job_id=job.id, error="cancelled before it started")
    after = scrape()
    finished = {"job_type": "ops-queued", "outcome": "failed"}
    assert (
        sample_value(after["hrms_jobs_finished"], "hrms_jobs_finished_total", **finished)
        - sample_value(before["hrms_jobs_finished"], "hrms_jobs_finished_total", **finished)
        == 1
    )
    assert sample_value(after["hrms_jobs_running"], "hrms_jobs_running", job_type="ops-queued") == 0


def test_http_metrics_label_unresolved_paths_and_unknown_tenants_without_their_names(db: None) -> None:
    Client(HTTP_HOST="no-such-tenant-7f3a.localhost").get("/api/employees")
    Client().get("/no/such/path/4b1d")
    text = Client().get("/metrics", REMOTE_ADDR="127.0.0.1").content.decode()
    assert "no-such-tenant-7f3a" not in text
    assert "4b1d" not in text
    assert 'route="<unresolved>"' in text


@pytest.mark.parametrize("remote_addr", ["203.0.113.9", "10.20.30.40"])
def test_metrics_are_forbidden_outside_the_metrics_network_without_the_operator_token(
    alpha: TenantHandle, remote_addr: str, settings
) -> None:
    settings.METRICS_TOKEN = "operator-token-for-tests"
    for client in (Client(), alpha.client()):
        assert client.get("/metrics", REMOTE_ADDR=remote_addr).status_code == 403
        wrong = client.get("/metrics", REMOTE_ADDR=remote_addr, HTTP_AUTHORIZATION="Bearer guess")
        assert wrong.status_code == 403
        assert wrong.json()["error"]["code"] == "metrics_forbidden"
        # A tenant user's API token is not the operator token.
        user_token = staff_token(alpha)
        assert client.get("/metrics", REMOTE_ADDR=remote_addr, **auth(user_token)).status_code == 403
        allowed = client.get("/metrics", REMOTE_ADDR=remote_addr, HTTP_AUTHORIZATION="Bearer operator-token-for-tests")
        assert allowed.status_code == 200
        assert b"hrms_http_requests_total" in allowed.content


def test_an_empty_operator_token_never_opens_metrics(db: None, settings) -> None:
    settings.METRICS_TOKEN = ""
    response = Client().get("/metrics", REMOTE_ADDR="203.0.113.9", HTTP_AUTHORIZATION="Bearer ")
    assert response.status_code == 403


def test_the_metrics_network_is_configurable(db: None, settings) -> None:
    settings.METRICS_ALLOWED_NETWORKS = ["10.0.0.0/8"]
    assert Client().get("/metrics", REMOTE_ADDR="10.1.2.3").status_code == 200
    assert Client().get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 403


def _label_sets(samples: dict[str, list[Any]]) -> set[tuple[str, tuple[tuple[str, str], ...]]]:
    return {
        (sample.name, tuple(sorted(sample.labels.items())))
        for family in samples.values()
        for sample in family
        if sample.name.startswith("hrms_")
    }


def _committed_token(handle: TenantHandle) -> str:
    return token_for(handle, make_user(handle, f"ops-{uuid.uuid4().hex[:10]}@{handle.tenant.slug}.test", "HR"))


def _exercise(host: str, token: str) -> None:
    client = Client(HTTP_HOST=host)
    client.get("/api/employees", **auth(token))
    client.get(f"/api/employees/{uuid.uuid4()}", **auth(token))
    client.get("/api/projects?page=2", **auth(token))
    # Each tenant's failed login from an address of its own: fifty from one address would be refused (429) by
    # the login protection, a label set this test is not about.
    address = f"10.77.{zlib.crc32(host.encode()) % 250}.{len(host) % 250 + 1}"
    client.post(
        "/api/auth/token",
        {"username": "nobody", "password": "wrong"},
        content_type="application/json",
        REMOTE_ADDR=address,
    )


@pytest.mark.slow
def test_label_sets_stay_bounded_with_fifty_tenants(tenants: dict[str, TenantHandle], django_db_blocker) -> None:
    slugs = [f"ops-bound-{index:02d}" for index in range(50)]
    with django_db_blocker.unblock():
        alpha = tenants["alpha"]
        alpha_token = _committed_token(alpha)
        _exercise(alpha.host, alpha_token)
        scrape()  # /metrics's own route is counted from its first answer on
        with_one = _label_sets(scrape())
        try:
            for slug in slugs:
                provisioned = tenant_create(
                    slug=slug,
                    name=slug,
                    domain=f"{slug}.localhost",
                    admin_email=f"admin@{slug}.test",
                    admin_password=PASSWORD,
                )
                handle = TenantHandle(tenant=provisioned.tenant, host=provisioned.domain, admin_email="")
                _exercise(handle.host, _committed_token(handle))
            with_fifty = _label_sets(scrape())
            text = Client().get("/metrics", REMOTE_ADDR="127.0.0.1").content.decode()
        finally:
            for slug in slugs:
                if Tenant.objects.filter(slug=slug).exists():
                    tenant_delete(slug=slug)
            with tenant_context(alpha.tenant):
                Token.objects.get(key=alpha_token).user.delete()

    assert with_fifty == with_one
    assert not any(slug in text for slug in slugs)


_CHILD = """
import os, sys
import django
django.setup()
from core import metrics
metrics.http_request_observe(route="/api/projects", method="GET", status=200, seconds=0.01)
metrics.JOBS_RUNNING.labels(job_type="ops-mp").inc()
print(os.getpid())
"""


def _python(code: str, directory: Path) -> str:
    env = {
        **os.environ,
        "PROMETHEUS_MULTIPROC_DIR": str(directory),
        "DJANGO_SETTINGS_MODULE": "hrms.settings_test",
    }
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True, timeout=60)
    return done.stdout.strip()


@pytest.mark.slow
def test_metrics_from_several_processes_are_merged_and_dead_processes_leave_the_live_gauges(tmp_path: Path) -> None:
    first = _python(_CHILD, tmp_path)
    _python(_CHILD, tmp_path)
    read = (
        "import django; django.setup()\n"
        "from core import metrics\n"
        "import sys; sys.stdout.write(metrics.metrics_text().decode())\n"
    )
    merged = _python(read, tmp_path)
    assert 'hrms_http_requests_total{method="GET",route="/api/projects",status="200"} 2.0' in merged
    assert 'hrms_jobs_running{job_type="ops-mp"} 2.0' in merged

    _python(f"import django; django.setup()\nfrom core import metrics\nmetrics.mark_process_dead({first})\n", tmp_path)
    after_exit = _python(read, tmp_path)
    assert 'hrms_jobs_running{job_type="ops-mp"} 1.0' in after_exit
    # Counters survive the process that counted them.
    assert 'hrms_http_requests_total{method="GET",route="/api/projects",status="200"} 2.0' in after_exit


def test_where_the_token_is_required_a_loopback_peer_is_not_enough(db: None, settings) -> None:
    """Production: a reverse proxy on the same host makes every client's socket peer 127.0.0.1."""
    settings.METRICS_REQUIRE_TOKEN = True
    settings.METRICS_TOKEN = "operator-token-for-tests"
    assert Client().get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 403
    assert Client().get("/metrics", REMOTE_ADDR="::1", HTTP_AUTHORIZATION="Bearer guess").status_code == 403
    with_token = Client().get("/metrics", REMOTE_ADDR="127.0.0.1", HTTP_AUTHORIZATION="Bearer operator-token-for-tests")
    assert with_token.status_code == 200
    settings.METRICS_TOKEN = ""
    assert Client().get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 403
