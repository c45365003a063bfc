"""Each role against every API operation in the OpenAPI schema and every UI page: the access table.

A new operation or page fails here until it is added to the table, so its role is decided, not inherited.
Allowed means "not refused for the role": the answer may still be 400 (the probe sends an empty body) or 404
(it sends an unknown id); refused is 403 on the API and the redirect to the dashboard with a message in the UI.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from drf_spectacular.generators import SchemaGenerator

from core.roles import ROLE_ADMIN, ROLE_EMPLOYEE, ROLE_HR, ROLE_MANAGER, ROLES
from tests.conftest import PASSWORD, TenantHandle, make_user, token_for

ALL = frozenset(ROLES)
STAFF = frozenset({ROLE_ADMIN, ROLE_HR})
ADMIN = frozenset({ROLE_ADMIN})
REVIEWERS = frozenset({ROLE_ADMIN, ROLE_HR, ROLE_MANAGER})

# operationId -> the roles let in.
API_ACCESS: dict[str, frozenset[str]] = {
    "allocations_list": ALL,
    "allocations_create": STAFF,
    "attendance_list": ALL,
    "attendance_create": STAFF,
    "audit_events_list": STAFF,
    "audit_verify_retrieve": STAFF,
    "auth_me_retrieve": ALL,
    "auth_token_create": ALL,
    "compliance_check_create": STAFF,
    "compliance_rules_retrieve": STAFF,
    "compliance_rules_update": STAFF,
    "compliance_violations_list": ALL,
    "compliance_violations_acknowledge_create": ALL,
    "contracts_list": STAFF,
    "contracts_create": STAFF,
    "employees_list": ALL,
    "employees_create": STAFF,
    "employees_retrieve": ALL,
    "employees_partial_update": STAFF,
    "employees_destroy": STAFF,
    "intelligence_model_retrieve": STAFF,
    "intelligence_train_create": STAFF,
    "jira_connection_retrieve": ADMIN,
    "jira_connection_update": ADMIN,
    "jira_sync_create": STAFF,
    "jira_worklogs_list": STAFF,
    "jobs_retrieve": ALL,
    "leave_list": ALL,
    "leave_create": ALL,
    "leave_types_list": ALL,
    "leave_types_create": STAFF,
    "leave_cancel_create": ALL,
    "leave_decide_create": REVIEWERS,
    "leave_balances_list": ALL,
    "leave_entitlements_update": STAFF,
    "leave_import_create": STAFF,
    "projects_list": ALL,
    "projects_create": STAFF,
    "projects_retrieve": ALL,
    "projects_partial_update": STAFF,
    "projects_destroy": STAFF,
    "reports_budgets_retrieve": STAFF,
    "reports_compliance": REVIEWERS,
    "reports_hours_retrieve": REVIEWERS,
    "reports_leave": REVIEWERS,
    "reports_overtime": REVIEWERS,
    "reports_utilisation": REVIEWERS,
    "timesheet_intelligence_generate_create": STAFF,
    "timesheet_intelligence_suggestions_accept_create": ALL,
    "timesheet_intelligence_suggestions_pending_list": ALL,
    "timesheet_intelligence_suggestions_reject_create": ALL,
    "work_patterns_list": ALL,
    "worktime_calendar_retrieve": STAFF,
    "worktime_calendar_update": STAFF,
    "worktime_days_off_create": STAFF,
    "worktime_expected_hours_retrieve": ALL,
    "worktime_holidays_list": ALL,
    # People and access. Accepting an invitation and resetting a password need no login at all.
    "auth_password_create": ALL,
    "auth_password_reset_create": ALL,
    "auth_password_reset_confirm_create": ALL,
    "invitations_accept_create": ALL,
    "emails_list": STAFF,
    "employees_invitations_create": STAFF,
    "invitations_create": STAFF,
    "invitations_list": STAFF,
    "invitations_resend_create": STAFF,
    "invitations_revoke_create": STAFF,
    "users_list": STAFF,
    "users_retrieve": STAFF,
    "users_deactivate_create": STAFF,
    "users_reactivate_create": STAFF,
    "users_role_update": STAFF,
    "tokens_list": ALL,
    "tokens_create": ALL,
    "tokens_revoke_create": ALL,
    # Two-step sign-in: the caller's own.
    "auth_two_step_retrieve": ALL,
    "auth_two_step_setup_create": ALL,
    "auth_two_step_confirm_create": ALL,
    "auth_two_step_disable_create": ALL,
    "auth_two_step_recovery_codes_create": ALL,
    "tenant_settings_retrieve": ADMIN,
    "tenant_settings_partial_update": ADMIN,
    # Single sign-on configuration: Admins only (the client secret is write-only).
    "sso_provider_retrieve": ADMIN,
    "sso_provider_update": ADMIN,
    # The review's confident bulk and its undo: HR and Admin.
    "timesheet_intelligence_suggestions_accept_confident_create": STAFF,
    "timesheet_intelligence_suggestions_batches_undo_create": STAFF,
    # The lifecycle: weeks are everyone's (scoped to what each may see or decide; an unknown week is a 404 for
    # all), pay periods are read by all, closed by HR or Admin and reopened or re-planned by an Admin.
    "timesheets_week_retrieve": ALL,
    "timesheets_day_update": ALL,
    "timesheets_submit_create": ALL,
    "weeks_list": ALL,
    "weeks_approve_create": ALL,
    "weeks_reject_create": ALL,
    "weeks_reopen_create": ALL,
    "weeks_approve_many": ALL,
    "unallocated_days_list": ALL,
    "pay_periods_list": ALL,
    "pay_periods_policy_retrieve": ALL,
    "pay_periods_policy_update": ADMIN,
    "pay_periods_close_create": STAFF,
    "pay_periods_reopen_create": ADMIN,
    "reports_payroll_retrieve": STAFF,
    "reports_payroll_manifest_retrieve": STAFF,
    "reminders_preference_retrieve": ALL,
    "reminders_preference_update": ALL,
}

# UI route name -> the roles let in.
UI_ACCESS: dict[str, frozenset[str]] = {
    "home": ALL,
    "suggestions": ALL,
    "suggestions-decide": ALL,
    "timesheets": ALL,
    "my-week": ALL,
    "employees": ALL,
    "employee-new": STAFF,
    "employee-edit": STAFF,
    "projects": ALL,
    "project-new": STAFF,
    "project-edit": STAFF,
    "audit": STAFF,
    "audit-verify": STAFF,
    "compliance": STAFF,
    "compliance-acknowledge-page": ALL,
    "generate": STAFF,
    "generate-job": STAFF,
    "generate-job-progress": STAFF,
    "jira": STAFF,
    "jira-sync": STAFF,
    "jira-sync-job": STAFF,
    "jira-sync-job-progress": STAFF,
    "leave": ALL,
    "leave-decide-page": STAFF,
    "contracts-page": STAFF,
    "model": STAFF,
    "reports": REVIEWERS,
    "users": STAFF,
    "user-deactivate-page": STAFF,
    "user-reactivate-page": STAFF,
    "user-role-page": STAFF,
    "invitation-resend-page": STAFF,
    "invitation-revoke-page": STAFF,
    "employees-invite-page": STAFF,
    "emails-page": STAFF,
    "tenant-settings-page": ADMIN,
    "sso-settings-page": ADMIN,
    # Signing in through the tenant's provider needs no login at all.
    "sso-start": ALL,
    "sso-callback": ALL,
    "password-change": ALL,
    # Two-step sign-in: anyone's own (the code page after the password, /login/code, needs no login).
    "two-step": ALL,
    "two-step-off": ALL,
    "two-step-recovery-codes": ALL,
    "invitation-accept-page": ALL,
    "password-reset": ALL,
    "password-reset-confirm": ALL,
    "attention": ALL,
    "employee-options": ALL,
    "employee-reveal": STAFF,
    "model-train": STAFF,
    "model-train-job": STAFF,
    "model-train-progress": STAFF,
    "suggestions-accept-confident": STAFF,
    "suggestions-accept-week": STAFF,
    "suggestions-batch-undo": STAFF,
    "timesheet-day": ALL,
    "timesheet-submit": ALL,
    "timesheet-decide": ALL,
    "timesheet-reopen": ALL,
    "unallocated": ALL,
    "weeks": REVIEWERS,
    "weeks-approve": REVIEWERS,
    "pay-periods": STAFF,
    "pay-period-close": STAFF,
    "pay-period-reopen": STAFF,
    "reminders": ALL,
}

_PARAM = re.compile(r"\{[^}]+\}")
_UI_SKIPPED_PREFIXES = ("api/", "healthz", "readyz", "login", "logout", "static/")


def _operations() -> list[tuple[str, str, str]]:
    """(operation id, path with an unknown id for each parameter, method) of every API operation."""
    paths = SchemaGenerator().get_schema(request=None, public=True)["paths"]
    found = []
    for path, item in paths.items():
        for method, op in item.items():
            if method not in ("get", "post", "put", "patch", "delete") or not path.startswith("/api/"):
                continue
            concrete = path
            for parameter in op.get("parameters", []):
                if parameter.get("in") == "path":
                    numeric = parameter.get("schema", {}).get("type") == "integer"
                    value = "999999" if numeric else str(uuid.uuid4())
                    concrete = concrete.replace("{" + parameter["name"] + "}", value)
            found.append((str(op["operationId"]), concrete, method.upper()))
    return found


def _ui_routes(patterns: list[Any] | None = None, prefix: str = "") -> list[tuple[str, str]]:
    """(name, path with an unknown id for each parameter) of every named UI route of the tenant URLconf."""
    routes: list[tuple[str, str]] = []
    for entry in patterns if patterns is not None else get_resolver().url_patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            routes.extend(_ui_routes(entry.url_patterns, route))
        elif isinstance(entry, URLPattern) and entry.name and not route.startswith(_UI_SKIPPED_PREFIXES):
            concrete = re.sub(r"<uuid:[^>]+>", str(uuid.uuid4()), route)
            concrete = re.sub(r"<(int:)?[^>]+>", "1", concrete)
            routes.append((entry.name, "/" + concrete.lstrip("^").rstrip("$")))
    return routes


@pytest.fixture
def logins(alpha: TenantHandle) -> dict[str, Any]:
    return {role: make_user(alpha, f"{role.lower()}-probe@alpha.test", role) for role in ROLES}


def test_every_api_operation_is_in_the_access_table() -> None:
    missing = sorted(op for op, _, _ in _operations() if op not in API_ACCESS)
    assert not missing, f"decide the roles of {missing} in API_ACCESS"


def test_every_ui_route_is_in_the_access_table() -> None:
    missing = sorted(name for name, _ in _ui_routes() if name not in UI_ACCESS)
    assert not missing, f"decide the roles of {missing} in UI_ACCESS"


def test_each_role_reaches_exactly_the_api_operations_of_its_table(alpha: TenantHandle, logins: dict[str, Any]) -> None:
    wrong: list[str] = []
    for role, user in logins.items():
        client = Client(HTTP_HOST=alpha.host, HTTP_AUTHORIZATION=f"Token {token_for(alpha, user)}")
        for operation, path, method in _operations():
            concrete = _PARAM.sub(str(uuid.uuid4()), path)  # any parameter the schema did not describe
            body = {"username": user.username, "password": PASSWORD} if operation == "auth_token_create" else {}
            kwargs: dict[str, Any] = {} if method == "GET" else {"data": body, "content_type": "application/json"}
            response = getattr(client, method.lower())(concrete, **kwargs)
            assert response.status_code < 500, (role, method, path, response.content[:300])
            allowed = role in API_ACCESS.get(operation, frozenset())
            if (response.status_code == 403) == allowed:
                wrong.append(f"{role} {method} {path}: {response.status_code}, table says allowed={allowed}")
    assert not wrong, "\n".join(wrong)


def test_each_role_reaches_exactly_the_pages_of_its_table(alpha: TenantHandle, logins: dict[str, Any]) -> None:
    wrong: list[str] = []
    for role, user in logins.items():
        client = Client(HTTP_HOST=alpha.host)
        assert client.post("/login", {"username": user.username, "password": PASSWORD}).status_code == 302
        for name, path in _ui_routes():
            response = client.get(path)
            assert response.status_code < 500, (role, path)
            refused = response.status_code == 302 and response["Location"] == "/" and "needs the" in _messages(client)
            allowed = role in UI_ACCESS.get(name, frozenset())
            if refused == allowed:
                wrong.append(f"{role} GET {path}: {response.status_code}, table says allowed={allowed}")
    assert not wrong, "\n".join(wrong)


def _messages(client: Client) -> str:
    """The flash messages waiting for the next page (read by rendering it)."""
    return client.get("/").content.decode()


def test_a_user_without_a_role_is_refused_like_an_employee_is_on_staff_operations(alpha: TenantHandle) -> None:
    nobody = make_user(alpha, "norole@alpha.test")
    client = Client(HTTP_HOST=alpha.host, HTTP_AUTHORIZATION=f"Token {token_for(alpha, nobody)}")
    assert client.get("/api/audit/events").status_code == 403
    assert client.get("/api/auth/me").json()["roles"] == []


@pytest.mark.parametrize("role", [ROLE_EMPLOYEE, ROLE_MANAGER])
def test_the_refusal_names_the_roles_needed(alpha: TenantHandle, role: str) -> None:
    user = make_user(alpha, f"x-{role}@alpha.test", role)
    client = Client(HTTP_HOST=alpha.host, HTTP_AUTHORIZATION=f"Token {token_for(alpha, user)}")
    response = client.get("/api/audit/events")
    assert response.status_code == 403
    assert "HR or Admin" in response.json()["error"]["message"]
