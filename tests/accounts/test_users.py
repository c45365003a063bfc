"""Users of a tenant: list, deactivate and reactivate, change role, the last Admin; passwords reset and changed."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django_tenants.utils import tenant_context

from tests.conftest import PASSWORD, TenantHandle, make_user, token_for
from tests.support.smtp import SmtpServer
from tests.timesheets.factories import auth

NEW_PASSWORD = "a-long-new-passphrase-42"


def _post(handle: TenantHandle, path: str, body: Any, token: str | None = None) -> Any:
    return handle.client().post(path, body, content_type="application/json", **(auth(token) if token else {}))


def _admin(handle: TenantHandle) -> tuple[User, str]:
    with tenant_context(handle.tenant):
        admin = User.objects.get(username=handle.admin_email)
    return admin, token_for(handle, admin)


def test_hr_lists_users_with_their_roles(alpha: TenantHandle) -> None:
    hr = make_user(alpha, "hr-list@alpha.test", "HR")
    make_user(alpha, "emp-list@alpha.test", "Employee")
    response = alpha.client().get("/api/users?role=Employee", **auth(token_for(alpha, hr)))
    assert response.status_code == 200
    assert [(row["username"], row["roles"]) for row in response.json()["results"]] == [
        ("emp-list@alpha.test", ["Employee"])
    ]


def test_a_deactivated_users_token_and_session_stop_working_at_once(alpha: TenantHandle) -> None:
    _, admin_token = _admin(alpha)
    user = make_user(alpha, "leaver@alpha.test", "Employee")
    token = token_for(alpha, user)
    browser = alpha.client()
    assert browser.post("/login", {"username": user.username, "password": PASSWORD}).status_code == 302
    assert alpha.client().get("/api/auth/me", **auth(token)).status_code == 200  # now remembered by this process
    with pytest.MonkeyPatch.context() as patch:
        # on_commit runs at once: the test's transaction never commits.
        patch.setattr("django.db.transaction.on_commit", lambda func, using=None, robust=False: func())
        assert _post(alpha, f"/api/users/{user.pk}/deactivate", {}, admin_token).status_code == 200
    assert alpha.client().get("/api/auth/me", **auth(token)).status_code == 401
    assert browser.get("/my-week")["Location"].startswith("/login")
    assert _post(alpha, "/api/auth/token", {"username": user.username, "password": PASSWORD}).status_code == 400
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("django.db.transaction.on_commit", lambda func, using=None, robust=False: func())
        assert _post(alpha, f"/api/users/{user.pk}/reactivate", {}, admin_token).json()["is_active"] is True
    assert alpha.client().get("/api/auth/me", **auth(token)).status_code == 200


def test_the_last_active_admin_cannot_be_deactivated_or_demoted(alpha: TenantHandle) -> None:
    admin, token = _admin(alpha)
    assert _post(alpha, f"/api/users/{admin.pk}/deactivate", {}, token).status_code == 409
    response = alpha.client().put(f"/api/users/{admin.pk}/role", {"role": "HR"}, "application/json", **auth(token))
    assert response.status_code == 409
    second = make_user(alpha, "second-admin@alpha.test", "Admin")
    assert _post(alpha, f"/api/users/{second.pk}/deactivate", {}, token).status_code == 200


def test_an_admin_changes_a_role_and_hr_may_not_touch_an_admin(alpha: TenantHandle) -> None:
    _, admin_token = _admin(alpha)
    user = make_user(alpha, "mover@alpha.test", "Employee")
    response = alpha.client().put(
        f"/api/users/{user.pk}/role", {"role": "Manager"}, "application/json", **auth(admin_token)
    )
    assert response.status_code == 200
    assert response.json()["roles"] == ["Manager"]
    hr_token = token_for(alpha, make_user(alpha, "hr-role@alpha.test", "HR"))
    admin, _ = _admin(alpha)
    assert _post(alpha, f"/api/users/{admin.pk}/deactivate", {}, hr_token).status_code == 403
    refused = alpha.client().put(f"/api/users/{user.pk}/role", {"role": "Admin"}, "application/json", **auth(hr_token))
    assert refused.status_code == 403
    unknown = alpha.client().put(f"/api/users/{user.pk}/role", {"role": "Boss"}, "application/json", **auth(hr_token))
    assert unknown.status_code == 400
    assert "role" in unknown.json()["error"]["fields"]


def test_another_tenants_user_id_is_not_found(alpha: TenantHandle, beta: TenantHandle) -> None:
    theirs = make_user(beta, "theirs@beta.test", "Employee")
    _, token = _admin(alpha)
    response = _post(alpha, f"/api/users/{theirs.pk + 100000}/deactivate", {}, token)
    assert response.status_code == 404


@pytest.mark.usefixtures("eager_tasks")
def test_a_forgotten_password_is_reset_through_the_link_on_the_tenants_host(
    alpha: TenantHandle, smtp: SmtpServer, django_capture_on_commit_callbacks: Any
) -> None:
    user = make_user(alpha, "forgetful@alpha.test", "Employee")
    with django_capture_on_commit_callbacks(execute=True):
        known = _post(alpha, "/api/auth/password-reset", {"email": "Forgetful@alpha.test"})
        unknown = _post(alpha, "/api/auth/password-reset", {"email": "nobody@alpha.test"})
    assert known.status_code == unknown.status_code == 202
    assert known.json() == unknown.json()
    [message] = smtp.wait_for(1)
    assert message.to == ["forgetful@alpha.test"]
    [link] = message.links()
    assert link.startswith("http://alpha.localhost/password-reset/")
    uid, token = link.split("/")[-2:]
    weak = _post(alpha, "/api/auth/password-reset/confirm", {"uid": uid, "token": token, "password": "abc"})
    assert weak.status_code == 400
    done = _post(alpha, "/api/auth/password-reset/confirm", {"uid": uid, "token": token, "password": NEW_PASSWORD})
    assert done.status_code == 200, done.content
    assert _post(alpha, "/api/auth/token", {"username": user.username, "password": NEW_PASSWORD}).status_code == 200
    used = _post(alpha, "/api/auth/password-reset/confirm", {"uid": uid, "token": token, "password": NEW_PASSWORD})
    assert used.status_code == 400
    assert used.json()["error"]["code"] == "reset_link_invalid"


def test_a_user_changes_their_own_password(alpha: TenantHandle) -> None:
    user = make_user(alpha, "changer@alpha.test", "Employee")
    token = token_for(alpha, user)
    wrong = _post(alpha, "/api/auth/password", {"old_password": "nope", "new_password": NEW_PASSWORD}, token)
    assert wrong.status_code == 400
    assert "old_password" in wrong.json()["error"]["fields"]
    weak = _post(alpha, "/api/auth/password", {"old_password": PASSWORD, "new_password": "changer"}, token)
    assert "new_password" in weak.json()["error"]["fields"]
    done = _post(alpha, "/api/auth/password", {"old_password": PASSWORD, "new_password": NEW_PASSWORD}, token)
    assert done.status_code == 200
    assert _post(alpha, "/api/auth/token", {"username": user.username, "password": NEW_PASSWORD}).status_code == 200
