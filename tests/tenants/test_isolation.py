"""Nothing crosses from one tenant to another: credentials, sessions, cache entries, background tasks."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest
from celery.contrib.testing.worker import start_worker
from django.core.cache import caches
from django.db import connections
from django.test import Client
from django_tenants.utils import tenant_context

from core.schema import use_public_schema
from core.tasks import PublicSchemaTaskError
from hrms.celery import app
from tenants.cache import tenant_cache_get, tenant_cache_invalidate, tenant_cache_set
from tests.conftest import PASSWORD, TenantHandle, make_user, token_for
from tests.support.tasks import broker_purge, record_schema_task


def test_it_accepts_a_token_at_its_own_tenant(alpha: TenantHandle) -> None:
    token = token_for(alpha, make_user(alpha, "hr@alpha.test", "HR"))
    response = alpha.client().get("/api/auth/me", HTTP_AUTHORIZATION=f"Token {token}")
    assert response.status_code == 200
    assert response.json() == {
        "username": "hr@alpha.test",
        "email": "hr@alpha.test",
        "roles": ["HR"],
        "tenant": "alpha",
    }


def test_it_rejects_another_tenants_token_with_401(alpha: TenantHandle, beta: TenantHandle) -> None:
    token = token_for(alpha, make_user(alpha, "hr@alpha.test", "HR"))
    at_beta_host = beta.client().get("/api/auth/me", HTTP_AUTHORIZATION=f"Token {token}")
    via_header = Client(HTTP_HOST="api.localhost", HTTP_X_TENANT="beta").get(
        "/api/auth/me", HTTP_AUTHORIZATION=f"Token {token}"
    )
    assert at_beta_host.status_code == 401
    assert at_beta_host.json()["error"]["code"] == "authentication_failed"
    assert via_header.status_code == 401


def test_it_does_not_log_in_at_another_tenant_with_a_session_cookie(alpha: TenantHandle, beta: TenantHandle) -> None:
    make_user(alpha, "hr@alpha.test", "HR")
    client = alpha.client()
    response = client.post("/login", {"username": "hr@alpha.test", "password": PASSWORD})
    assert response.status_code == 302
    assert client.get("/api/auth/me").status_code == 200
    cookie = client.cookies["sessionid"].value

    other = beta.client()
    other.cookies["sessionid"] = cookie
    assert other.get("/api/auth/me").status_code in (401, 403)
    assert other.get("/").status_code == 302  # to beta's login page


def test_it_keeps_cache_values_of_one_tenant_invisible_to_another(alpha: TenantHandle, beta: TenantHandle) -> None:
    with tenant_context(alpha.tenant):
        tenant_cache_set(namespace="suggestions", key="page-1", value={"rows": [1, 2]})
        caches["default"].set("plain-key", "alpha-value")
        assert tenant_cache_get(namespace="suggestions", key="page-1") == {"rows": [1, 2]}
    with tenant_context(beta.tenant):
        assert tenant_cache_get(namespace="suggestions", key="page-1") is None
        assert caches["default"].get("plain-key") is None


def test_it_invalidates_a_namespace_or_the_whole_tenant_in_one_step(alpha: TenantHandle, beta: TenantHandle) -> None:
    with tenant_context(beta.tenant):
        tenant_cache_set(namespace="suggestions", key="k", value="beta")
    with tenant_context(alpha.tenant):
        tenant_cache_set(namespace="suggestions", key="k", value=1)
        tenant_cache_set(namespace="reports", key="k", value=2)
        tenant_cache_invalidate(namespace="suggestions")
        assert tenant_cache_get(namespace="suggestions", key="k") is None
        assert tenant_cache_get(namespace="reports", key="k") == 2
        tenant_cache_invalidate()
        assert tenant_cache_get(namespace="reports", key="k") is None
    with tenant_context(beta.tenant):
        assert tenant_cache_get(namespace="suggestions", key="k") == "beta"


def test_it_refuses_to_send_a_tenant_task_from_the_public_schema(tenants: dict[str, TenantHandle]) -> None:
    use_public_schema()
    with pytest.raises(PublicSchemaTaskError):
        record_schema_task.delay("never")


def test_it_refuses_to_run_a_tenant_task_in_the_public_schema(tenants: dict[str, TenantHandle]) -> None:
    use_public_schema()
    result = record_schema_task.apply(args=["never"])
    assert isinstance(result.result, PublicSchemaTaskError)
    assert caches["shared"].get("never") is None


@pytest.mark.slow
def test_a_real_worker_runs_each_task_in_the_schema_it_was_sent_from(
    tenants: dict[str, TenantHandle], django_db_blocker: Any
) -> None:
    keys = {slug: f"schema-{slug}-{uuid.uuid4().hex}" for slug in tenants}
    broker_purge()
    with (
        django_db_blocker.unblock(),
        start_worker(app, perform_ping_check=False, pool="solo", loglevel="WARNING"),
    ):
        for slug, handle in tenants.items():
            with tenant_context(handle.tenant):
                record_schema_task.delay(keys[slug])
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and any(caches["shared"].get(k) is None for k in keys.values()):
            time.sleep(0.1)
    connections.close_all()
    assert {slug: caches["shared"].get(key) for slug, key in keys.items()} == {
        slug: handle.tenant.schema_name for slug, handle in tenants.items()
    }
