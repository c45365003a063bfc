"""Invitations by e-mail through a real SMTP server on loopback: invite, follow the link, accept, refusals."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.utils import timezone
from django_tenants.utils import tenant_context

from accounts.models import Invitation
from tests.conftest import TenantHandle, make_user, token_for
from tests.support.smtp import SmtpServer
from tests.timesheets.factories import auth, make_employee
from timesheets.models import Employee

pytestmark = pytest.mark.usefixtures("eager_tasks")
NEW_PASSWORD = "a-long-new-passphrase-42"


def _post(handle: TenantHandle, path: str, body: Any, token: str | None = None) -> Any:
    headers = auth(token) if token else {}
    return handle.client().post(path, body, content_type="application/json", **headers)


def _hr(handle: TenantHandle) -> str:
    return token_for(handle, make_user(handle, f"hr-inv@{handle.tenant.slug}.test", "HR"))


def _token_from(smtp: SmtpServer, to: str, django_capture_on_commit_callbacks: Any = None) -> str:
    [message] = smtp.wait_for(1, to=to)
    [link] = [link for link in message.links() if "/invitations/" in link]
    return link.rsplit("/", 1)[1]


def test_an_invitation_is_mailed_and_its_link_creates_the_login_with_the_role(
    alpha: TenantHandle, smtp: SmtpServer, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = _post(alpha, "/api/invitations", {"email": "new.person@example.com", "role": "Manager"}, _hr(alpha))
    assert response.status_code == 201, response.content
    assert response.json()["status"] == "pending"
    [message] = smtp.wait_for(1, to="new.person@example.com")
    assert "Alpha Ltd" in message.subject
    [link] = [link for link in message.links() if "/invitations/" in link]
    assert link.startswith("http://alpha.localhost/invitations/")
    token = link.rsplit("/", 1)[1]
    accepted = _post(alpha, "/api/invitations/accept", {"token": token, "password": NEW_PASSWORD})
    assert accepted.status_code == 201, accepted.content
    login = _post(alpha, "/api/auth/token", {"username": "new.person@example.com", "password": NEW_PASSWORD})
    assert login.status_code == 200
    me = alpha.client().get("/api/auth/me", **auth(login.json()["token"])).json()
    assert me["roles"] == ["Manager"]
    again = _post(alpha, "/api/invitations/accept", {"token": token, "password": NEW_PASSWORD})
    assert again.status_code == 400
    assert again.json()["error"]["code"] == "invitation_invalid"


def test_a_weak_password_is_refused_with_the_validators_messages(
    alpha: TenantHandle, smtp: SmtpServer, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        _post(alpha, "/api/invitations", {"email": "weak@example.com", "role": "Employee"}, _hr(alpha))
    token = _token_from(smtp, "weak@example.com")
    response = _post(alpha, "/api/invitations/accept", {"token": token, "password": "12345"})
    assert response.status_code == 400
    assert response.json()["error"]["fields"]["password"]
    with tenant_context(alpha.tenant):
        assert not User.objects.filter(username="weak@example.com").exists()


def test_an_address_with_a_login_is_a_conflict(alpha: TenantHandle, smtp: SmtpServer) -> None:
    make_user(alpha, "taken@example.com", "Employee")
    response = _post(alpha, "/api/invitations", {"email": "TAKEN@example.com", "role": "Employee"}, _hr(alpha))
    assert response.status_code == 409
    assert smtp.messages == []


def test_an_unknown_role_is_a_400_naming_the_field(alpha: TenantHandle) -> None:
    response = _post(alpha, "/api/invitations", {"email": "x@example.com", "role": "Boss"}, _hr(alpha))
    assert response.status_code == 400
    assert "role" in response.json()["error"]["fields"]


def test_hr_cannot_invite_an_admin(alpha: TenantHandle) -> None:
    response = _post(alpha, "/api/invitations", {"email": "x@example.com", "role": "Admin"}, _hr(alpha))
    assert response.status_code == 403


def test_an_expired_link_is_refused(
    alpha: TenantHandle, smtp: SmtpServer, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        _post(alpha, "/api/invitations", {"email": "late@example.com", "role": "Employee"}, _hr(alpha))
    token = _token_from(smtp, "late@example.com")
    with tenant_context(alpha.tenant):
        Invitation.objects.filter(email="late@example.com").update(expires_at=timezone.now() - timedelta(seconds=1))
    response = _post(alpha, "/api/invitations/accept", {"token": token, "password": NEW_PASSWORD})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invitation_invalid"


def test_a_revoked_invitation_and_the_link_before_a_resend_stop_working(
    alpha: TenantHandle, smtp: SmtpServer, django_capture_on_commit_callbacks: Any
) -> None:
    hr = _hr(alpha)
    with django_capture_on_commit_callbacks(execute=True):
        created = _post(alpha, "/api/invitations", {"email": "twice@example.com", "role": "Employee"}, hr).json()
    first = _token_from(smtp, "twice@example.com")
    smtp.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert _post(alpha, f"/api/invitations/{created['id']}/resend", {}, hr).status_code == 200
    second = _token_from(smtp, "twice@example.com")
    assert first != second
    assert _post(alpha, "/api/invitations/accept", {"token": first, "password": NEW_PASSWORD}).status_code == 400
    assert _post(alpha, f"/api/invitations/{created['id']}/revoke", {}, hr).status_code == 200
    assert _post(alpha, "/api/invitations/accept", {"token": second, "password": NEW_PASSWORD}).status_code == 400
    assert _post(alpha, f"/api/invitations/{created['id']}/resend", {}, hr).status_code == 409


def test_tenant_as_link_is_refused_on_tenant_bs_host(
    alpha: TenantHandle, beta: TenantHandle, smtp: SmtpServer, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        _post(alpha, "/api/invitations", {"email": "cross@example.com", "role": "Employee"}, _hr(alpha))
    token = _token_from(smtp, "cross@example.com")
    response = _post(beta, "/api/invitations/accept", {"token": token, "password": NEW_PASSWORD})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invitation_invalid"
    with tenant_context(beta.tenant):
        assert not User.objects.filter(username="cross@example.com").exists()
    assert _post(alpha, "/api/invitations/accept", {"token": token, "password": NEW_PASSWORD}).status_code == 201


def test_bulk_invite_reaches_every_employee_without_a_login_and_links_them_on_acceptance(
    alpha: TenantHandle, smtp: SmtpServer, django_capture_on_commit_callbacks: Any
) -> None:
    people = [make_employee(alpha, email=f"staff{n}@example.com") for n in range(3)]
    make_employee(alpha, email="linked@example.com", user=make_user(alpha, "linked@example.com", "Employee"))
    make_employee(alpha, email="gone@example.com", active=False)
    hr = _hr(alpha)
    with django_capture_on_commit_callbacks(execute=True):
        response = _post(alpha, "/api/employees/invitations", {}, hr)
    assert response.status_code == 201, response.content
    assert response.json() == {"invited": 3, "skipped": 0}
    assert sorted(m.to[0] for m in smtp.wait_for(3)) == [f"staff{n}@example.com" for n in range(3)]
    assert _post(alpha, "/api/employees/invitations", {}, hr).json() == {"invited": 0, "skipped": 0}
    token = _token_from(smtp, "staff1@example.com")
    assert _post(alpha, "/api/invitations/accept", {"token": token, "password": NEW_PASSWORD}).status_code == 201
    with tenant_context(alpha.tenant):
        assert Employee.objects.get(id=people[1].id).user.username == "staff1@example.com"  # type: ignore[union-attr]


def test_a_message_the_server_refuses_is_retried_then_shown_failed(
    alpha: TenantHandle, smtp: SmtpServer, django_capture_on_commit_callbacks: Any, settings: Any
) -> None:
    settings.EMAIL_SEND_RETRIES = 2
    settings.EMAIL_RETRY_SECONDS = 0
    smtp.refuse()
    hr = _hr(alpha)
    with django_capture_on_commit_callbacks(execute=True):
        assert (
            _post(alpha, "/api/invitations", {"email": "bounce@example.com", "role": "Employee"}, hr).status_code == 201
        )
    rows = alpha.client().get("/api/emails?status=failed", **auth(hr)).json()["results"]
    assert [(row["to"], row["attempts"]) for row in rows] == [("bounce@example.com", 3)]
    assert "451" in rows[0]["last_error"]
