"""Refusals are cheap: once a process has seen a tenant's ML budget spent, it refuses before doing any work."""

from __future__ import annotations

import json
import uuid
from typing import Any

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_redis import get_redis_connection

from core.ratelimits import MlLoadSheddingWSGI, ratelimit_forget
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


def _count_takes(monkeypatch: Any) -> list[int]:
    """Records the slice size of every round trip the limiter makes to Redis."""
    from core import ratelimits

    sizes: list[int] = []
    original = ratelimits._take

    def take(schema: str, window: int, size: int, *budget: Any) -> int | None:
        sizes.append(size)
        return original(schema, window, size, *budget)

    monkeypatch.setattr(ratelimits, "_take", take)
    return sizes


def test_an_ordinary_budget_is_counted_one_request_at_a_time(monkeypatch: Any) -> None:
    from core.ratelimits import _admitted

    takes = _count_takes(monkeypatch)
    schema, window = f"t_{uuid.uuid4().hex[:8]}", 1
    admitted = [_admitted(schema, window, 100) for _ in range(120)]
    assert admitted == [True] * 100 + [False] * 20
    assert takes == [1] * 120


def test_a_large_budget_is_taken_in_slices_and_never_overspent_across_processes(monkeypatch: Any) -> None:
    from core import ratelimits

    takes = _count_takes(monkeypatch)
    schema, window, limit = f"t_{uuid.uuid4().hex[:8]}", 1, 2_000  # slices of 10
    served = 0
    round_trips_while_served = 0
    for request in range(3_000):
        if request % 7 == 0:
            # Another process answers from here on: whatever this process held is stranded, never spent twice.
            with ratelimits._lease_lock:
                ratelimits._leases.clear()
        if not ratelimits._admitted(schema, window, limit):
            break
        served += 1
        round_trips_while_served = len(takes)
    assert set(takes) == {10}
    # One round trip per slice, not per request; each switch strands what its slice had left, so the budget
    # runs out early by at most a slice per switch, and is never overspent.
    assert round_trips_while_served <= served // 5
    assert limit - 10 * round_trips_while_served <= served <= limit
    assert ratelimits._admitted(schema, window, limit) is False  # once spent, the window stays spent
    assert ratelimits._admitted(schema, window + 1, limit) is True  # the next window starts afresh


GENERATE = "/api/timesheet-intelligence/generate"


def _token(handle: TenantHandle, role: str) -> dict[str, Any]:
    user = make_user(handle, f"{role.lower()}-{uuid.uuid4().hex[:6]}@{handle.tenant.slug}.test", role)
    return {"HTTP_AUTHORIZATION": f"Token {token_for(handle, user)}"}


def test_one_employee_flooding_the_ml_endpoints_leaves_the_admins_generation_accepted(alpha: TenantHandle) -> None:
    Tenant.objects.filter(id=alpha.tenant.id).update(ml_rate_limit_per_minute=100)
    employee, admin = _token(alpha, "Employee"), _token(alpha, "Admin")
    client = alpha.client()
    statuses = [client.get(PENDING, **employee).status_code for _ in range(110)]
    assert 429 in statuses  # the employee's own share is spent
    assert statuses.count(200) <= 50  # and it is a share, not the tenant's whole budget

    response = client.post(
        GENERATE,
        {"start_date": "2026-11-02", "end_date": "2026-11-06"},
        content_type="application/json",
        **admin,
    )
    assert response.status_code == 202, response.content
    # Another employee, on a process that has seen the first one refused, still reads.
    assert client.get(PENDING, **_token(alpha, "Employee")).status_code == 200


def test_a_users_spent_share_is_refused_before_django_only_for_that_users_credential(alpha: TenantHandle) -> None:
    Tenant.objects.filter(id=alpha.tenant.id).update(ml_rate_limit_per_minute=100)
    employee = _token(alpha, "Employee")
    statuses = [alpha.client().get(PENDING, **employee).status_code for _ in range(60)]
    assert 429 in statuses

    reached_django: list[str] = []

    def django_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        reached_django.append(str(environ.get("HTTP_AUTHORIZATION", "")))
        start_response("200 OK", [("Content-Type", "application/json")])
        return [b"{}"]

    def call(**headers: str) -> str:
        answered: list[str] = []
        environ = {"PATH_INFO": PENDING, "HTTP_HOST": alpha.host, "REQUEST_METHOD": "GET", **headers}
        b"".join(MlLoadSheddingWSGI(django_app)(environ, lambda status, _headers: answered.append(status)))
        return answered[0]

    assert call(**employee).startswith("429")
    assert call(HTTP_AUTHORIZATION="Token someone-else").startswith("200")
    assert reached_django == ["Token someone-else"]


def test_remembered_addresses_of_expired_refusals_are_dropped_once_there_are_many(
    alpha: TenantHandle, monkeypatch: Any
) -> None:
    from core import ratelimits

    monkeypatch.setattr(ratelimits, "_ADDRESSES_PRUNED_ABOVE", 3)
    with ratelimits._spent_lock:
        for n in range(3):
            key = ratelimits._credential_key("t_gone", f"credential-{n}")
            ratelimits._spent_until[key] = (0.0, "spent long ago")
            ratelimits._addresses[("gone.localhost", "", f"credential-{n}")] = key
    Tenant.objects.filter(id=alpha.tenant.id).update(ml_rate_limit_per_minute=4)
    employee = _token(alpha, "Employee")
    statuses = [alpha.client().get(PENDING, **employee).status_code for _ in range(3)]
    assert 429 in statuses
    assert [address[0] for address in ratelimits._addresses] == [alpha.host]
    assert alpha.client().get(PENDING, **employee).status_code == 429
