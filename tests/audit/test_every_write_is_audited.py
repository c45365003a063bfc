"""Every mutating operation in the OpenAPI schema leaves exactly one audit event.

The schema is walked, so an endpoint added without a recipe here fails this test: write the recipe, and
make its service append its audit event.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.contrib.auth.tokens import default_token_generator
from django.test import Client
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_tenants.utils import tenant_context
from drf_spectacular.generators import SchemaGenerator
from rest_framework.authtoken.models import Token

from accounts.models import ApiToken, Invitation
from audit.models import AuditEvent
from tests.conftest import PASSWORD, TenantHandle, make_user
from tests.support.jira_standin import DEFAULT_EMAIL, DEFAULT_TOKEN, JiraStandin, standin_connect
from tests.timesheets.factories import auth, make_employee, make_project, make_suggestion, staff_token
from timesheets.models import (
    AcceptanceBatch,
    PayPeriod,
    ProjectAllocationSuggestion,
    SuggestionStatus,
    TimesheetProjectAllocation,
    TimesheetWeek,
)
from worktime.models import ComplianceViolation, LeaveRecord, LeaveStatus, LeaveType

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


def _json_call(method: str, path: str, body: Any) -> Recipe:
    def call(h: TenantHandle, c: Client, a: dict[str, Any]) -> Any:
        return getattr(c, method)(path, body, content_type="application/json", **a)

    return call


def _leave_body(h: TenantHandle, start: date = DAY) -> dict[str, Any]:
    return {
        "employee": str(make_employee(h).id),
        "leave_type": "vacation",
        "start_date": str(start),
        "end_date": str(start),
    }


def _leave_then(action: str, body: dict[str, Any]) -> Recipe:
    """Leave an employee requested (waiting for a decision), then a decision or cancellation on it."""

    def call(h: TenantHandle, c: Client, a: dict[str, Any]) -> Any:
        with tenant_context(h.tenant):
            record = LeaveRecord.objects.create(
                employee=make_employee(h),
                leave_type=LeaveType.objects.get(code="vacation"),
                start_date=DAY,
                end_date=DAY,
                status=LeaveStatus.REQUESTED,
            )
        return c.post(f"/api/leave/{record.id}/{action}", body, content_type="application/json", **a)

    return call


def _violation_acknowledge(h: TenantHandle, c: Client, a: dict[str, Any]) -> Any:
    with tenant_context(h.tenant):
        violation = ComplianceViolation.objects.create(
            employee=make_employee(h), date=DAY, rule="daily_max", measured=11, limit=10, message="11 h"
        )
    return c.post(
        f"/api/compliance/violations/{violation.id}/acknowledge",
        {"comment": "Agreed exception"},
        content_type="application/json",
        **a,
    )


def _batch_undo(h: TenantHandle, c: Client, a: dict[str, Any]) -> Any:
    """An accepted confident batch of one suggestion, written through the ORM, then undone through the API."""
    suggestion = make_suggestion(h, make_employee(h), make_project(h))
    with tenant_context(h.tenant):
        batch = AcceptanceBatch.objects.create(accepted=1, hours=Decimal(str(suggestion.hours)))
        ProjectAllocationSuggestion.objects.filter(id=suggestion.id).update(
            status=SuggestionStatus.ACCEPTED, accepted_hours=suggestion.hours, batch=batch
        )
        TimesheetProjectAllocation.objects.create(
            employee_id=suggestion.employee_id,
            project_id=suggestion.project_id,
            date=suggestion.date,
            hours=suggestion.hours,
            suggestion=suggestion,
            suggestion_accepted=True,
        )
    return c.post(f"/api/timesheet-intelligence/suggestions/batches/{batch.id}/undo", **a)


def _pay_period_reopen(h: TenantHandle, c: Client, a: dict[str, Any]) -> Any:
    with tenant_context(h.tenant):
        period = PayPeriod.objects.create(start_date=date(2025, 1, 1), end_date=date(2025, 1, 31), status="closed")
    return c.post(
        f"/api/pay-periods/{period.id}/reopen", {"reason": "Correction"}, content_type="application/json", **a
    )


def _week_then(action: str, status: str, body: dict[str, Any]) -> Recipe:
    def call(h: TenantHandle, c: Client, a: dict[str, Any]) -> Any:
        with tenant_context(h.tenant):
            week = TimesheetWeek.objects.create(employee=make_employee(h), week_start=DAY, status=status)
        path = "/api/weeks/approve" if action == "bulk" else f"/api/weeks/{week.id}/{action}"
        payload = {"ids": [str(week.id)]} if action == "bulk" else body
        return c.post(path, payload, content_type="application/json", **a)

    return call


def _invitation(h: TenantHandle, token: str | None = None) -> Invitation:
    with tenant_context(h.tenant):
        now = timezone.now()
        return Invitation.objects.create(
            email=f"invited-{uuid.uuid4().hex[:6]}@example.com",
            role="Employee",
            token_hash=hashlib.sha256((token or uuid.uuid4().hex).encode()).hexdigest(),
            sent_at=now,
            expires_at=now + timedelta(days=1),
        )


def _invitation_token(h: TenantHandle) -> str:
    token = uuid.uuid4().hex
    _invitation(h, token=token)
    return token


def _api_token(h: TenantHandle) -> ApiToken:
    user = make_user(h, "token-owner@alpha.test", "Employee")
    with tenant_context(h.tenant):
        return ApiToken.objects.create(
            user=user,
            name="nightly",
            key_hash=uuid.uuid4().hex,
            prefix="x",
            expires_at=timezone.now() + timedelta(days=1),
        )


def _inactive_user(h: TenantHandle) -> User:
    user = make_user(h, "returning@alpha.test", "Employee")
    with tenant_context(h.tenant):
        User.objects.filter(pk=user.pk).update(is_active=False)
    return user


def _password_reset_confirm(h: TenantHandle, c: Client, a: dict[str, Any]) -> Any:
    user = make_user(h, "resetting@alpha.test", "Employee")
    with tenant_context(h.tenant):
        token = default_token_generator.make_token(user)
    body = {"uid": urlsafe_base64_encode(force_bytes(user.pk)), "token": token, "password": "a-long-new-passphrase-42"}
    return c.post("/api/auth/password-reset/confirm", body, content_type="application/json")


def _two_step_call(path: str, *, confirmed: bool, body: Callable[[bytes], dict[str, str]]) -> Recipe:
    """A TOTP device of the caller made through the ORM, then the request with a body from its key."""

    def call(h: TenantHandle, c: Client, a: dict[str, Any]) -> Any:
        with tenant_context(h.tenant):
            user = Token.objects.get(key=a["HTTP_AUTHORIZATION"].split()[-1]).user
            device = TOTPDevice.objects.create(user=user, name="app", confirmed=confirmed)
            key = device.bin_key
        return c.post(path, body(key), content_type="application/json", **a)

    return call


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
    ("POST", "/api/timesheet-intelligence/suggestions/accept-confident"): lambda h, c, a: (
        make_suggestion(h, make_employee(h), make_project(h), confidence="0.990"),
        c.post(
            "/api/timesheet-intelligence/suggestions/accept-confident",
            {"min_confidence": "0.95"},
            content_type="application/json",
            **a,
        ),
    )[1],
    ("POST", "/api/timesheet-intelligence/suggestions/batches/{batch_id}/undo"): _batch_undo,
    ("PUT", "/api/reminders/preference"): _json_call(
        "put", "/api/reminders/preference", {"week_reminders": False, "manager_digest": True}
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
    ("PUT", "/api/worktime/calendar"): _json_call("put", "/api/worktime/calendar", {"country": "DE"}),
    ("POST", "/api/worktime/days-off"): _json_call(
        "post", "/api/worktime/days-off", {"date": str(DAY), "name": "Company outing"}
    ),
    ("POST", "/api/leave-types"): _json_call("post", "/api/leave-types", {"code": "sabbatical", "name": "Sabbatical"}),
    ("POST", "/api/leave"): lambda h, c, a: c.post("/api/leave", _leave_body(h), content_type="application/json", **a),
    ("POST", "/api/leave/import"): lambda h, c, a: c.post(
        "/api/leave/import", [_leave_body(h), _leave_body(h)], content_type="application/json", **a
    ),
    ("POST", "/api/leave/{leave_id}/decide"): _leave_then("decide", {"approve": True}),
    ("POST", "/api/leave/{leave_id}/cancel"): _leave_then("cancel", {}),
    ("PUT", "/api/leave/entitlements"): lambda h, c, a: c.put(
        "/api/leave/entitlements",
        {"employee": str(make_employee(h).id), "leave_type": "vacation", "year": 2026, "days": "25"},
        content_type="application/json",
        **a,
    ),
    ("POST", "/api/contracts"): lambda h, c, a: c.post(
        "/api/contracts",
        {"employee": str(make_employee(h).id), "starts_on": str(DAY), "weekly_hours": "32", "work_days": [1, 2, 3, 4]},
        content_type="application/json",
        **a,
    ),
    ("PUT", "/api/compliance/rules"): _json_call("put", "/api/compliance/rules", {"preset": "de_arbzg"}),
    ("POST", "/api/compliance/check"): _json_call(
        "post", "/api/compliance/check", {"date_from": str(DAY), "date_to": str(DAY + timedelta(days=6))}
    ),
    ("POST", "/api/compliance/violations/{violation_id}/acknowledge"): _violation_acknowledge,
    ("PUT", "/api/pay-periods/policy"): _json_call(
        "put", "/api/pay-periods/policy", {"frequency": "weekly", "anchor_date": "2026-01-05"}
    ),
    ("POST", "/api/pay-periods/close"): _json_call("post", "/api/pay-periods/close", {"date": "2024-02-01"}),
    ("POST", "/api/pay-periods/{pay_period_id}/reopen"): _pay_period_reopen,
    ("POST", "/api/timesheets/{employee_id}/submit"): lambda h, c, a: c.post(
        f"/api/timesheets/{make_employee(h).id}/submit", {"week_start": str(DAY)}, content_type="application/json", **a
    ),
    ("PUT", "/api/timesheets/{employee_id}/day"): lambda h, c, a: c.put(
        f"/api/timesheets/{make_employee(h).id}/day",
        {"date": str(DAY), "allocations": [{"project": str(make_project(h).id), "hours": "4"}], "note": "Workshop"},
        content_type="application/json",
        **a,
    ),
    ("POST", "/api/weeks/approve"): _week_then("bulk", "submitted", {}),
    ("POST", "/api/weeks/{timesheet_week_id}/approve"): _week_then("approve", "submitted", {}),
    ("POST", "/api/weeks/{timesheet_week_id}/reject"): _week_then("reject", "submitted", {"comment": "Fix Tuesday"}),
    ("POST", "/api/weeks/{timesheet_week_id}/reopen"): _week_then("reopen", "approved", {"reason": "Correction"}),
    # People and access.
    ("POST", "/api/invitations"): _json_call("post", "/api/invitations", {"email": "new@example.com", "role": "HR"}),
    ("POST", "/api/invitations/{invitation_id}/resend"): lambda h, c, a: c.post(
        f"/api/invitations/{_invitation(h).id}/resend", **a
    ),
    ("POST", "/api/invitations/{invitation_id}/revoke"): lambda h, c, a: c.post(
        f"/api/invitations/{_invitation(h).id}/revoke", **a
    ),
    ("POST", "/api/invitations/accept"): lambda h, c, a: c.post(
        "/api/invitations/accept",
        {"token": _invitation_token(h), "password": "a-long-new-passphrase-42"},
        content_type="application/json",
    ),
    ("POST", "/api/employees/invitations"): lambda h, c, a: (
        make_employee(h),
        c.post("/api/employees/invitations", {}, content_type="application/json", **a),
    )[1],
    ("POST", "/api/users/{user_id}/deactivate"): lambda h, c, a: c.post(
        f"/api/users/{make_user(h, 'leaver@alpha.test', 'Employee').pk}/deactivate", **a
    ),
    ("POST", "/api/users/{user_id}/reactivate"): lambda h, c, a: c.post(
        f"/api/users/{_inactive_user(h).pk}/reactivate", **a
    ),
    ("PUT", "/api/users/{user_id}/role"): lambda h, c, a: c.put(
        f"/api/users/{make_user(h, 'mover@alpha.test', 'Employee').pk}/role",
        {"role": "Manager"},
        content_type="application/json",
        **a,
    ),
    ("POST", "/api/auth/password-reset"): lambda h, c, a: (
        make_user(h, "forgetful@alpha.test", "Employee"),
        c.post("/api/auth/password-reset", {"email": "forgetful@alpha.test"}, content_type="application/json"),
    )[1],
    ("POST", "/api/auth/password-reset/confirm"): _password_reset_confirm,
    ("PATCH", "/api/tenant/settings"): _json_call("patch", "/api/tenant/settings", {"auto_accept_threshold": "0.75"}),
    ("PUT", "/api/sso/provider"): _json_call(
        "put",
        "/api/sso/provider",
        {
            "display_name": "Example ID",
            "issuer": "https://id.example.com",
            "client_id": "hrms",
            "client_secret": "audit-recipe-secret",
            "allowed_domains": ["alpha.test"],
            "default_role": "Employee",
        },
    ),
    ("POST", "/api/tokens"): _json_call("post", "/api/tokens", {"name": "payroll export"}),
    ("POST", "/api/auth/two-step/setup"): _json_call("post", "/api/auth/two-step/setup", {}),
    ("POST", "/api/auth/two-step/confirm"): _two_step_call(
        "/api/auth/two-step/confirm", confirmed=False, body=lambda key: {"code": f"{totp(key):06d}"}
    ),
    ("POST", "/api/auth/two-step/disable"): _two_step_call(
        "/api/auth/two-step/disable", confirmed=True, body=lambda key: {"password": PASSWORD}
    ),
    ("POST", "/api/auth/two-step/recovery-codes"): _two_step_call(
        "/api/auth/two-step/recovery-codes", confirmed=True, body=lambda key: {"code": f"{totp(key):06d}"}
    ),
    ("POST", "/api/tokens/{token_id}/revoke"): lambda h, c, a: c.post(f"/api/tokens/{_api_token(h).id}/revoke", **a),
    ("POST", "/api/auth/password"): lambda h, c, a: c.post(
        "/api/auth/password",
        {"old_password": PASSWORD, "new_password": "a-long-new-passphrase-42"},
        content_type="application/json",
        **a,
    ),
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
