"""Every mutating operation in the OpenAPI schema leaves exactly one audit event.

The schema is walked, so an endpoint added without a recipe here fails this test: write the recipe, and
make its service append its audit event.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest
from django.test import Client
from django_tenants.utils import tenant_context
from drf_spectacular.generators import SchemaGenerator

from audit.models import AuditEvent
from tests.conftest import PASSWORD, TenantHandle, make_user
from tests.support.jira_standin import DEFAULT_EMAIL, DEFAULT_TOKEN, JiraStandin, standin_connect
from tests.timesheets.factories import auth, make_employee, make_project, make_suggestion, staff_token

Recipe = Callable[[TenantHandle, Client, dict[str, Any]], Any]
DAY = date(2026, 3, 2)


def _write_operations() -> set[tuple[str, str]]:
    schema = SchemaGenerator(urlconf="hrms.urls").get_schema(request=None, public=True)
    return {
        (method.upper(), path)
        for path, operations in schema["paths"].items()
        for method in operations
        if method in ("post", "put", "patch", "delete")
    }


def _employee_payload() -> dict[str, Any]:
    return {"name": "New Hire", "email": f"hire{date.today().toordinal()}@alpha.test", "national_id": "NI-777"}


def _jira_connection_put(h: TenantHandle, c: Client, a: dict[str, Any]) -> Any:
    # Saving an enabled connection verifies it against Jira: a local stand-in answers.
    with JiraStandin() as standin:
        body = {"site_url": standin.url, "email": DEFAULT_EMAIL, "api_token": DEFAULT_TOKEN}
        return c.put("/api/jira/connection", body, content_type="application/json", **a)


def _jira_sync_post(h: TenantHandle, c: Client, a: dict[str, Any]) -> Any:
    with JiraStandin() as standin:
        with tenant_context(h.tenant):
            standin_connect(standin)
        return c.post("/api/jira/sync", **a)


RECIPES: dict[tuple[str, str], Recipe] = {
    ("POST", "/api/auth/token"): lambda h, c, a: c.post(
        "/api/auth/token", {"username": h.admin_email, "password": PASSWORD}, content_type="application/json"
    ),
    ("POST", "/api/employees"): lambda h, c, a: c.post(
        "/api/employees", _employee_payload(), content_type="application/json", **a
    ),
    ("PATCH", "/api/employees/{employee_id}"): lambda h, c, a: c.patch(
        f"/api/employees/{make_employee(h).id}", {"name": "Renamed"}, content_type="application/json", **a
    ),
    ("DELETE", "/api/employees/{employee_id}"): lambda h, c, a: c.delete(f"/api/employees/{make_employee(h).id}", **a),
    ("POST", "/api/projects"): lambda h, c, a: c.post(
        "/api/projects", {"code": "AUD1", "name": "Audited"}, content_type="application/json", **a
    ),
    ("PATCH", "/api/projects/{project_id}"): lambda h, c, a: c.patch(
        f"/api/projects/{make_project(h).id}", {"name": "Renamed"}, content_type="application/json", **a
    ),
    ("DELETE", "/api/projects/{project_id}"): lambda h, c, a: c.delete(f"/api/projects/{make_project(h).id}", **a),
    ("POST", "/api/attendance"): lambda h, c, a: c.post(
        "/api/attendance",
        [
            {
                "employee": str(make_employee(h).id),
                "date": str(DAY),
                "check_in": f"{DAY}T09:00:00",
                "check_out": f"{DAY}T17:00:00",
                "break_minutes": 30,
            }
        ],
        content_type="application/json",
        **a,
    ),
    ("POST", "/api/allocations"): lambda h, c, a: c.post(
        "/api/allocations",
        [{"employee": str(make_employee(h).id), "project": str(make_project(h).id), "date": str(DAY), "hours": "4"}],
        content_type="application/json",
        **a,
    ),
    ("POST", "/api/timesheet-intelligence/suggestions/accept"): lambda h, c, a: c.post(
        "/api/timesheet-intelligence/suggestions/accept",
        {"ids": [str(make_suggestion(h, make_employee(h), make_project(h)).id)]},
        content_type="application/json",
        **a,
    ),
    ("POST", "/api/timesheet-intelligence/suggestions/reject"): lambda h, c, a: c.post(
        "/api/timesheet-intelligence/suggestions/reject",
        {"ids": [str(make_suggestion(h, make_employee(h), make_project(h)).id)]},
        content_type="application/json",
        **a,
    ),
    ("POST", "/api/timesheet-intelligence/generate"): lambda h, c, a: c.post(
        "/api/timesheet-intelligence/generate",
        {"start_date": str(DAY), "end_date": str(DAY + timedelta(days=4))},
        content_type="application/json",
        **a,
    ),
    ("POST", "/api/intelligence/train"): lambda h, c, a: c.post(
        "/api/intelligence/train", {}, content_type="application/json", **a
    ),
    ("PUT", "/api/jira/connection"): _jira_connection_put,
    ("POST", "/api/jira/sync"): _jira_sync_post,
}


def test_every_write_operation_in_the_schema_has_a_recipe() -> None:
    missing = _write_operations() - set(RECIPES)
    assert not missing, f"write operations without an audit recipe: {sorted(missing)}"


@pytest.mark.parametrize("operation", sorted(RECIPES), ids=lambda op: f"{op[0]} {op[1]}")
def test_a_write_operation_appends_exactly_one_audit_event(alpha: TenantHandle, operation: tuple[str, str]) -> None:
    make_user(alpha, "audit-admin@alpha.test", "Admin")
    credentials = auth(staff_token(alpha, "Admin"))
    client = alpha.client()
    recipe = RECIPES[operation]
    with tenant_context(alpha.tenant):
        before = AuditEvent.objects.order_by("-sequence").values_list("sequence", flat=True).first() or 0
    # The recipe may create fixtures through the ORM first; only the request itself writes audit events.
    response = recipe(alpha, client, credentials)
    assert response.status_code < 300, response.content
    with tenant_context(alpha.tenant):
        new = list(AuditEvent.objects.filter(sequence__gt=before).values_list("action", flat=True))
    assert len(new) == 1, new
