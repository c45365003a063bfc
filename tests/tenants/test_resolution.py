"""Tenant resolution: by subdomain, by X-Tenant on the API host, and every way it can fail."""

from __future__ import annotations

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from core.ttlcache import ttl_caches_forget
from tenants.models import TenantStatus
from tenants.services import tenant_set_status
from tests.conftest import TenantHandle


def test_it_resolves_a_tenant_by_subdomain(alpha: TenantHandle) -> None:
    response = Client(HTTP_HOST="alpha.localhost").get("/api/auth/token")
    assert response.status_code == 405  # the tenant's URLconf answered, not a tenant error


def test_it_resolves_a_tenant_by_header_on_the_api_host(alpha: TenantHandle) -> None:
    response = Client(HTTP_HOST="api.localhost", HTTP_X_TENANT="alpha").post(
        "/api/auth/token",
        {"username": "admin@alpha.test", "password": "correct-horse-battery"},
        content_type="application/json",
    )
    assert response.status_code == 200
    assert len(response.json()["token"]) == 40


def test_it_answers_404_json_for_an_unknown_subdomain(alpha: TenantHandle) -> None:
    response = Client(HTTP_HOST="nobody.localhost").get("/api/auth/me")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "tenant_not_found"


def test_it_answers_404_json_for_an_unknown_header(alpha: TenantHandle) -> None:
    response = Client(HTTP_HOST="api.localhost", HTTP_X_TENANT="nobody").get("/api/auth/me")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "tenant_not_found"


def test_it_answers_400_for_a_malformed_header(alpha: TenantHandle) -> None:
    for bad in ("ALPHA", "alpha;drop", "a", "-alpha", "x" * 80, "al pha"):
        response = Client(HTTP_HOST="api.localhost", HTTP_X_TENANT=bad).get("/api/auth/me")
        assert response.status_code == 400, bad
        assert response.json()["error"]["fields"] == {"X-Tenant": ["Malformed."]}


def test_it_answers_403_for_a_suspended_tenant(beta: TenantHandle, django_capture_on_commit_callbacks) -> None:
    Client(HTTP_HOST="beta.localhost").get("/api/auth/token")  # warm the lookup cache first
    with django_capture_on_commit_callbacks(execute=True):
        tenant_set_status(slug="beta", status=TenantStatus.SUSPENDED)
    try:
        by_host = Client(HTTP_HOST="beta.localhost").get("/api/auth/me")
        by_header = Client(HTTP_HOST="api.localhost", HTTP_X_TENANT="beta").get("/api/auth/me")
    finally:
        with django_capture_on_commit_callbacks(execute=True):
            tenant_set_status(slug="beta", status=TenantStatus.ACTIVE)
    assert by_host.status_code == 403
    assert by_host.json()["error"]["code"] == "tenant_suspended"
    assert by_header.status_code == 403
    assert Client(HTTP_HOST="beta.localhost").get("/api/auth/token").status_code == 405


def test_it_makes_no_query_to_resolve_a_tenant_on_a_warm_cache(alpha: TenantHandle) -> None:
    client = Client(HTTP_HOST="alpha.localhost")
    with CaptureQueriesContext(connection) as cold:
        assert client.get("/api/auth/token").status_code == 405
    with CaptureQueriesContext(connection) as warm:
        assert client.get("/api/auth/token").status_code == 405
    assert len(cold.captured_queries) >= 1
    assert warm.captured_queries == []


def test_it_resolves_from_redis_when_process_memory_is_cold(alpha: TenantHandle) -> None:
    client = Client(HTTP_HOST="alpha.localhost")
    client.get("/api/auth/token")
    ttl_caches_forget()  # this process's memory only: Redis still holds the mapping
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/api/auth/token").status_code == 405
    assert queries.captured_queries == []


def test_it_serves_the_public_urls_on_the_base_domain(alpha: TenantHandle) -> None:
    response = Client(HTTP_HOST="localhost").get("/")
    assert response.status_code == 200
    assert "X-Tenant" in response.json()["message"]
    assert Client(HTTP_HOST="localhost").get("/api/auth/me").status_code == 404


def test_it_rejects_hosts_outside_allowed_hosts(alpha: TenantHandle) -> None:
    response = Client(HTTP_HOST="evil.example.com").get("/api/auth/me")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "bad_host"
