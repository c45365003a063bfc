"""Tenant resolution: by subdomain, by X-Tenant on the API host, and every way it can fail."""

from __future__ import annotations

import re
from typing import Any

import pytest
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


def test_on_the_api_host_an_unknown_tenant_answers_401_like_a_known_one_without_credentials(
    alpha: TenantHandle,
) -> None:
    response = Client(HTTP_HOST="api.localhost", HTTP_X_TENANT="nobody").get("/api/auth/me")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


def _answer(response: Any) -> tuple[int, Any, str | None, list[str]]:
    if response["Content-Type"].startswith("application/json"):
        body = response.json()
    else:  # the docs page carries a fresh CSRF token on every request, for any tenant
        body = re.sub(r'"X-CSRFTOKEN"\] = "[^"]*"', "", response.content.decode())
    return response.status_code, body, response.get("WWW-Authenticate"), sorted(response.cookies)


LOGIN = "/api/auth/token"
WRONG_LOGIN = {"username": "admin@alpha.test", "password": "not-the-password"}


@pytest.mark.parametrize(
    ("method", "path", "options"),
    [
        ("get", "/api/auth/me", {}),
        ("get", "/api/employees", {}),
        ("get", "/api/employees", {"HTTP_AUTHORIZATION": "Token " + "0" * 40}),
        ("get", "/api/employees", {"HTTP_AUTHORIZATION": "Token"}),
        ("get", "/api/employees", {"HTTP_AUTHORIZATION": "Bearer something"}),
        ("post", "/api/jira/sync", {}),
        ("delete", "/api/auth/me", {}),
        ("put", "/api/jira/connection", {"data": {"site_url": "x"}, "content_type": "application/json"}),
        ("get", "/api/no-such-endpoint", {}),
        ("get", "/api/schema/", {}),
        ("get", "/api/docs/", {}),
        ("get", LOGIN, {}),
        ("post", LOGIN, {"data": WRONG_LOGIN, "content_type": "application/json"}),
        ("post", LOGIN, {"data": {"username": "x"}, "content_type": "application/json"}),
        ("post", LOGIN, {"data": "not json", "content_type": "application/json"}),
        ("get", "/", {}),
        ("get", "/login", {}),
        ("get", "/review", {}),
    ],
)
def test_on_the_api_host_unknown_and_suspended_tenants_answer_exactly_like_a_known_one_without_credentials(
    alpha: TenantHandle,
    beta: TenantHandle,
    django_capture_on_commit_callbacks: Any,
    method: str,
    path: str,
    options: dict[str, Any],
) -> None:
    """No tenant enumeration: without valid credentials, "public", "nobody" and a suspended tenant look alike."""

    def call(slug: str) -> tuple[int, Any, str | None, list[str]]:
        client = Client(HTTP_HOST="api.localhost", HTTP_X_TENANT=slug)
        return _answer(getattr(client, method)(path, **options))

    known = call("alpha")
    assert known[0] in (400, 401, 404, 405) or path.startswith(("/api/schema/", "/api/docs/"))
    assert call("public") == known
    assert call("nobody") == known
    with django_capture_on_commit_callbacks(execute=True):
        tenant_set_status(slug="beta", status=TenantStatus.SUSPENDED)
    try:
        assert call("beta") == known
    finally:
        with django_capture_on_commit_callbacks(execute=True):
            tenant_set_status(slug="beta", status=TenantStatus.ACTIVE)


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
    # On the API host a suspended tenant is not told apart from an unknown one (no enumeration).
    assert by_header.status_code == 401
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
