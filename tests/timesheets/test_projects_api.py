"""Projects API: every user reads, HR and Admin write; codes are unique per tenant."""

from __future__ import annotations

import uuid
from typing import Any

from tests.conftest import TenantHandle
from tests.timesheets.factories import LIST_QUERY_BUDGET, auth, employee_user, make_project, staff_token, warm_up

NEW_PROJECT = {
    "code": "APOLLO",
    "name": "Apollo",
    "jira_project_key": "APL",
    "starts_on": "2026-01-01",
    "ends_on": "2026-12-31",
}


def _post(handle: TenantHandle, token: str, body: Any) -> Any:
    return handle.client().post("/api/projects", body, content_type="application/json", **auth(token))


def test_hr_creates_reads_updates_and_deactivates_a_project(alpha: TenantHandle) -> None:
    token = staff_token(alpha)
    created = _post(alpha, token, NEW_PROJECT)
    assert created.status_code == 201, created.json()
    project_id = created.json()["id"]
    assert created.json()["active"] is True

    client = alpha.client()
    assert client.get(f"/api/projects/{project_id}", **auth(token)).json()["jira_project_key"] == "APL"
    patched = client.patch(
        f"/api/projects/{project_id}", {"name": "Apollo 11"}, content_type="application/json", **auth(token)
    )
    assert patched.status_code == 200
    assert patched.json()["name"] == "Apollo 11"
    assert patched.json()["code"] == "APOLLO"
    assert client.delete(f"/api/projects/{project_id}", **auth(token)).status_code == 204
    assert client.get(f"/api/projects/{project_id}", **auth(token)).json()["active"] is False
    inactive = client.get("/api/projects?active=false", **auth(token)).json()["results"]
    assert [row["id"] for row in inactive] == [project_id]


def test_it_rejects_a_duplicate_code(alpha: TenantHandle) -> None:
    token = staff_token(alpha)
    make_project(alpha, code="APOLLO")
    response = _post(alpha, token, NEW_PROJECT)
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"code": ["A project with this code already exists."]}
    other = make_project(alpha, code="GEMINI")
    renamed = alpha.client().patch(
        f"/api/projects/{other.id}", {"code": "APOLLO"}, content_type="application/json", **auth(token)
    )
    assert renamed.status_code == 400
    assert list(renamed.json()["error"]["fields"]) == ["code"]


def test_it_rejects_bad_input_naming_the_field(alpha: TenantHandle) -> None:
    token = staff_token(alpha)
    for body, field in (
        ({**NEW_PROJECT, "ends_on": "2025-01-01"}, "ends_on"),
        ({**NEW_PROJECT, "starts_on": "first of May"}, "starts_on"),
        ({**NEW_PROJECT, "code": "has space"}, "code"),
        ({"name": "No code"}, "code"),
    ):
        response = _post(alpha, token, body)
        assert response.status_code == 400, body
        assert field in response.json()["error"]["fields"], body
    assert alpha.client().get("/api/projects/nope", **auth(token)).status_code == 400


def test_an_employee_reads_projects_but_cannot_write_them(alpha: TenantHandle) -> None:
    project = make_project(alpha)
    _, _, token = employee_user(alpha)
    assert alpha.client().get("/api/projects", **auth(token)).json()["count"] == 1
    assert alpha.client().get(f"/api/projects/{project.id}", **auth(token)).status_code == 200
    assert _post(alpha, token, NEW_PROJECT).status_code == 403
    assert alpha.client().delete(f"/api/projects/{project.id}", **auth(token)).status_code == 403


def test_another_tenants_project_is_not_found(alpha: TenantHandle, beta: TenantHandle) -> None:
    theirs = make_project(beta)
    token = staff_token(alpha)
    assert alpha.client().get(f"/api/projects/{theirs.id}", **auth(token)).status_code == 404
    assert alpha.client().delete(f"/api/projects/{theirs.id}", **auth(token)).status_code == 404
    assert alpha.client().get(f"/api/projects/{uuid.uuid4()}", **auth(token)).status_code == 404
    assert beta.client().get("/api/projects", **auth(token)).status_code == 401


def test_the_list_costs_the_same_queries_for_3_or_30_projects(
    alpha: TenantHandle, django_assert_max_num_queries: Any
) -> None:
    token = staff_token(alpha)
    for _ in range(3):
        make_project(alpha)
    warm_up(alpha, token)
    with django_assert_max_num_queries(LIST_QUERY_BUDGET) as few:
        assert alpha.client().get("/api/projects", **auth(token)).json()["count"] == 3
    for _ in range(27):
        make_project(alpha)
    with django_assert_max_num_queries(LIST_QUERY_BUDGET) as many:
        assert alpha.client().get("/api/projects", **auth(token)).json()["count"] == 30
    assert len(many.captured_queries) == len(few.captured_queries)


def test_a_project_carries_its_client_billing_budget_and_cost_centre(alpha: TenantHandle) -> None:
    token = staff_token(alpha)
    created = _post(
        alpha,
        token,
        {
            "code": "ACME-WEB",
            "name": "Acme web shop",
            "client": "Acme",
            "budget_hours": "120.50",
            "cost_centre": "CC-1",
        },
    )
    assert created.status_code == 201, created.json()
    body = created.json()
    assert (body["client"], body["billable"], body["budget_hours"], body["cost_centre"]) == (
        "Acme",
        True,
        "120.50",
        "CC-1",
    )
    changed = alpha.client().patch(
        f"/api/projects/{body['id']}",
        {"billable": False, "budget_hours": None},
        content_type="application/json",
        **auth(token),
    )
    assert changed.status_code == 200, changed.json()
    assert (changed.json()["billable"], changed.json()["budget_hours"]) == (False, None)
    negative = _post(alpha, token, {"code": "NEG", "name": "Negative", "budget_hours": "-1"})
    assert negative.status_code == 400
    assert "budget_hours" in negative.json()["error"]["fields"]
