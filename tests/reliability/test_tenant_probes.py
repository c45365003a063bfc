"""Cross-tenant probes against every operation in the OpenAPI schema, and the savepoint-rollback regression.

For each endpoint: tenant A's token at tenant B's host, an `X-Tenant` header naming B with A's token, A's
session cookie at B's host, and B's object ids sent through A. The answer is 401, 403 or 404 (or an empty
list), never B's data. tests/tenants/test_isolation.py holds the single-endpoint versions of these probes.
"""

from __future__ import annotations

import re
from typing import Any, cast

import pytest
from django.apps import apps
from django.db import connection as db_connection
from django.db import transaction
from django.test import Client, override_settings
from django_tenants.utils import tenant_context
from drf_spectacular.generators import SchemaGenerator

from intelligence.generation import JOB_TYPE, timesheets_generate
from jobs.services import job_create
from tests.conftest import PASSWORD, TenantHandle, make_user, token_for
from tests.intelligence.builders import build_world
from timesheets.models import Employee, ProjectAllocationSuggestion, SuggestionStatus

_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_REFUSED = (401, 403, 404)
# Endpoints that take no credentials (a password, an invitation or reset secret in the body instead): another
# tenant's token or session means nothing to them, and without the body's secret they answer 400. Their
# cross-tenant refusals (a login, an invitation link or a reset link of A used at B) are tested where they live.
_NO_CREDENTIALS = {
    "/api/auth/token",
    "/api/invitations/accept",
    "/api/auth/password-reset",
    "/api/auth/password-reset/confirm",
}


def _operations() -> list[tuple[str, str]]:
    paths = SchemaGenerator().get_schema(request=None, public=True)["paths"]
    return [
        (path, method.upper())
        for path, item in paths.items()
        for method in item
        if method in ("get", "post", "put", "patch", "delete") and path.startswith("/api/")
    ]


def _seed(handle: TenantHandle) -> set[str]:
    """A world with suggestions, allocations and a job in the tenant; returns every UUID it holds."""
    with tenant_context(handle.tenant):
        world = build_world(employees=2, days=2)
        job = job_create(
            job_type=JOB_TYPE,
            parameters={
                "start_date": str(world.start),
                "end_date": str(world.end),
                "auto_accept_high_confidence": True,
            },
        )
        timesheets_generate(job_id=job.id)
        ids: set[str] = set()
        for app_label in ("timesheets", "jira_sync", "intelligence", "jobs"):
            for model in apps.get_app_config(app_label).get_models():
                if model._meta.pk is not None and model._meta.pk.get_internal_type() == "UUIDField":
                    ids.update(str(pk) for pk in model._default_manager.values_list("pk", flat=True))
    return ids


def _object_for(handle: TenantHandle, parameter: str) -> str | None:
    """An id of the tenant's object named by a path parameter (`employee_id` → an Employee)."""
    name = parameter.removesuffix("_id").replace("_", "")
    with tenant_context(handle.tenant):
        for app_label in ("timesheets", "jira_sync", "intelligence", "jobs"):
            for model in apps.get_app_config(app_label).get_models():
                if model._meta.model_name in (name, f"background{name}"):
                    first = model._default_manager.values_list("pk", flat=True).first()
                    return str(first) if first is not None else None
    return None


def _call(client: Client, method: str, path: str, **extra: Any) -> Any:
    return getattr(client, method.lower())(
        path, data="{}" if method != "GET" else None, content_type="application/json", **extra
    )


def _concrete(path: str, handle: TenantHandle) -> str:
    return re.sub(
        r"\{(\w+)\}", lambda m: _object_for(handle, m.group(1)) or "00000000-0000-0000-0000-000000000000", path
    )


@pytest.fixture
def seeded(alpha: TenantHandle, beta: TenantHandle) -> dict[str, Any]:
    _seed(alpha)
    beta_ids = _seed(beta)
    admin = make_user(alpha, "probe-admin@alpha.test", "Admin")
    return {"alpha_token": token_for(alpha, admin), "beta_ids": beta_ids}


def _leaks(response: Any, beta_ids: set[str]) -> set[str]:
    return set(_UUID.findall(response.content.decode(errors="replace"))) & beta_ids


def test_every_endpoint_refuses_a_token_of_another_tenant_by_host_and_by_header(
    alpha: TenantHandle, beta: TenantHandle, seeded: dict[str, Any]
) -> None:
    auth = {"HTTP_AUTHORIZATION": f"Token {seeded['alpha_token']}"}
    operations = _operations()
    assert len(operations) > 20
    violations = []
    for path, method in operations:
        if path in _NO_CREDENTIALS:
            continue  # takes no token; a username of A at B is covered below
        target = _concrete(path, beta)
        at_host = _call(beta.client(), method, target, **auth)
        via_header = _call(Client(HTTP_HOST="api.localhost", HTTP_X_TENANT="beta"), method, target, **auth)
        for probe, response in (("host", at_host), ("X-Tenant", via_header)):
            if response.status_code not in _REFUSED or _leaks(response, seeded["beta_ids"]):
                violations.append(f"{method} {path} via {probe}: {response.status_code}")
    assert violations == []


def test_every_endpoint_refuses_a_session_of_another_tenant(
    alpha: TenantHandle, beta: TenantHandle, seeded: dict[str, Any]
) -> None:
    make_user(alpha, "session@alpha.test", "Admin")
    own = alpha.client()
    assert own.post("/login", {"username": "session@alpha.test", "password": PASSWORD}).status_code == 302
    cookie = own.cookies["sessionid"].value
    violations = []
    for path, method in _operations():
        other = Client(HTTP_HOST=beta.host)
        other.cookies["sessionid"] = cookie
        response = _call(other, method, _concrete(path, beta))
        # The token endpoint takes no session: without credentials in the body it answers 400.
        allowed = (400, *_REFUSED) if path in _NO_CREDENTIALS else _REFUSED
        ok = response.status_code in allowed
        if not ok or _leaks(response, seeded["beta_ids"]):
            violations.append(f"{method} {path}: {response.status_code}")
    assert violations == []
    # The login itself: A's username and password at B's host.
    token_at_beta = beta.client().post(
        "/api/auth/token",
        {"username": "session@alpha.test", "password": PASSWORD},
        content_type="application/json",
    )
    assert token_at_beta.status_code in (400, 401)


def test_every_endpoint_answers_404_or_nothing_for_another_tenants_object_ids(
    alpha: TenantHandle, beta: TenantHandle, seeded: dict[str, Any]
) -> None:
    auth: dict[str, Any] = {"HTTP_AUTHORIZATION": f"Token {seeded['alpha_token']}"}
    probed, violations = 0, []
    for path, method in _operations():
        if "{" not in path:
            continue
        probed += 1
        response = _call(alpha.client(), method, _concrete(path, beta), **auth)
        if response.status_code != 404 or _leaks(response, seeded["beta_ids"]):
            violations.append(f"{method} {path}: {response.status_code}")
    assert probed >= 5
    assert violations == []

    # Ids in bodies and filters: B's suggestions cannot be accepted or rejected, B's employee filters to nothing.
    with tenant_context(beta.tenant):
        beta_suggestions = [str(i) for i in ProjectAllocationSuggestion.objects.values_list("id", flat=True)[:3]]
        beta_employee = str(Employee.objects.values_list("id", flat=True).first())
    for action in ("accept", "reject"):
        response = alpha.client().post(
            f"/api/timesheet-intelligence/suggestions/{action}",
            {"ids": beta_suggestions},
            content_type="application/json",
            **auth,
        )
        assert response.status_code in (200, 400, 404), response.content
        # Echoing the ids the caller sent is not a leak; any other id of B would be.
        assert not _leaks(response, seeded["beta_ids"] - set(beta_suggestions))
        if response.status_code == 200:  # a per-id outcome: every one of B's ids is unknown here
            assert {row["outcome"] for row in response.json()["results"]} == {"not_found"}
    with tenant_context(beta.tenant):
        assert not ProjectAllocationSuggestion.objects.filter(
            id__in=beta_suggestions, status__in=[SuggestionStatus.ACCEPTED, SuggestionStatus.REJECTED]
        ).exists()
    for path in ("/api/allocations", "/api/timesheet-intelligence/suggestions/pending", "/api/attendance"):
        response = alpha.client().get(path, {"employee": beta_employee}, **auth)
        assert response.status_code in (200, 400, 404), (path, response.status_code)
        assert not _leaks(response, seeded["beta_ids"]), path
        if response.status_code == 200:
            assert response.json()["results"] == [], path


# --- django-tenants #1262: ROLLBACK TO SAVEPOINT reverts a SET search_path -----------------------------


@pytest.mark.parametrize("limit_set_calls", [False, True])
def test_a_savepoint_rollback_never_leaves_queries_on_the_previous_tenants_schema(
    alpha: TenantHandle, beta: TenantHandle, limit_set_calls: bool
) -> None:
    with tenant_context(alpha.tenant):
        Employee.objects.create(name="Alpha only", email="a@alpha.test", email_index="alpha-only")
    with tenant_context(beta.tenant):
        Employee.objects.create(name="Beta only", email="b@beta.test", email_index="beta-only")

    connection = cast(Any, db_connection)  # the django-tenants backend
    with override_settings(TENANT_LIMIT_SET_CALLS=limit_set_calls), transaction.atomic():
        connection.set_tenant(alpha.tenant)
        assert list(Employee.objects.values_list("name", flat=True)) == ["Alpha only"]
        savepoint = transaction.savepoint()
        connection.set_tenant(beta.tenant)
        # The SET issued here for beta is undone by the rollback below: PostgreSQL is back on alpha's path.
        assert list(Employee.objects.values_list("name", flat=True)) == ["Beta only"]
        transaction.savepoint_rollback(savepoint)
        assert connection.schema_name == beta.tenant.schema_name
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.execute("SHOW search_path")
            search_path = cursor.fetchone()[0]
        assert search_path.split(",")[0].strip().strip('"') == beta.tenant.schema_name
        assert list(Employee.objects.values_list("name", flat=True)) == ["Beta only"]
    connection.set_schema_to_public()
