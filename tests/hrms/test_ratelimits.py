"""Refusals are cheap: once a process has seen a tenant's ML budget spent, it refuses before doing any work."""

from __future__ import annotations

import json
import uuid
from typing import Any

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_redis import get_redis_connection

from hrms.ratelimits import MlLoadSheddingWSGI, ratelimit_forget
from tenants.models import Tenant
from tests.conftest import TenantHandle, make_user, token_for

PENDING = "/api/timesheet-intelligence/suggestions/pending"


def _hr(handle: TenantHandle) -> dict[str, Any]:
    user = make_user(handle, f"hr-{uuid.uuid4().hex[:6]}@{handle.tenant.slug}.test", "HR")
    return {"HTTP_AUTHORIZATION": f"Token {token_for(handle, user)}"}


class _RedisCommands:
    """Counts the commands sent to the rate limiter's Redis."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, execute: Any, *args: Any, **kwargs: Any) -> Any:
        self.count += 1
        return execute(*args, **kwargs)


def test_a_spent_tenant_is_refused_without_a_query_or_a_redis_round_trip(alpha: TenantHandle, monkeypatch: Any) -> None:
    Tenant.objects.filter(id=alpha.tenant.id).update(ml_rate_limit_per_minute=2)
    auth, client = _hr(alpha), alpha.client()
    statuses = [client.get(PENDING, **auth).status_code for _ in range(3)]
    assert statuses.count(429) >= 1  # the third of the minute at the latest (unless the window rolled over)

    redis_client = get_redis_connection("ratelimit")
    commands = _RedisCommands()
    original = redis_client.execute_command
    monkeypatch.setattr(redis_client, "execute_command", lambda *a, **k: commands(original, *a, **k))
    with CaptureQueriesContext(connection) as queries:
        refused = client.get(PENDING, **auth)
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "rate_limited"
    assert 1 <= int(refused["Retry-After"]) <= 60
    assert refused.json()["error"]["retry_after"] == int(refused["Retry-After"])
    assert queries.captured_queries == []
    assert commands.count == 0

    ratelimit_forget()  # a process that has not seen the budget spent asks Redis, and learns it again
    assert client.get(PENDING, **auth).status_code == 429
    assert commands.count > 0


def test_another_tenant_and_other_endpoints_are_not_refused(alpha: TenantHandle, beta: TenantHandle) -> None:
    Tenant.objects.filter(id=alpha.tenant.id).update(ml_rate_limit_per_minute=1)
    alpha_auth, beta_auth = _hr(alpha), _hr(beta)
    for _ in range(3):
        alpha.client().get(PENDING, **alpha_auth)
    assert alpha.client().get(PENDING, **alpha_auth).status_code == 429
    assert alpha.client().get("/api/employees", **alpha_auth).status_code == 200
    assert beta.client().get(PENDING, **beta_auth).status_code == 200


def test_in_front_of_django_a_spent_tenant_is_refused_and_others_pass_through(alpha: TenantHandle) -> None:
    Tenant.objects.filter(id=alpha.tenant.id).update(ml_rate_limit_per_minute=1)
    auth = _hr(alpha)
    statuses = [alpha.client().get(PENDING, **auth).status_code for _ in range(3)]
    assert 429 in statuses

    reached_django: list[str] = []

    def django_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        reached_django.append(environ["HTTP_HOST"])
        start_response("200 OK", [("Content-Type", "application/json")])
        return [b"{}"]

    def call(host: str, path: str = PENDING) -> tuple[str, dict[str, str], bytes]:
        answered: list[tuple[str, dict[str, str]]] = []
        body = b"".join(
            MlLoadSheddingWSGI(django_app)(
                {"PATH_INFO": path, "HTTP_HOST": host, "REQUEST_METHOD": "GET"},
                lambda status, headers: answered.append((status, dict(headers))),
            )
        )
        return answered[0][0], answered[0][1], body

    status, headers, body = call(alpha.host)
    assert status.startswith("429")
    assert 1 <= int(headers["Retry-After"]) <= 60
    assert json.loads(body)["error"]["code"] == "rate_limited"
    assert reached_django == []
    assert call("beta.localhost")[0].startswith("200")
    assert call(alpha.host, "/api/employees")[0].startswith("200")
    assert reached_django == ["beta.localhost", alpha.host]
