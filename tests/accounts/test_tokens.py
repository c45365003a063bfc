"""Named API tokens: issue, use, list, revoke; expiry; revocation and deactivation reach another process in < 1 s."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from django.contrib.auth.models import User
from django.utils import timezone
from django_tenants.utils import tenant_context

from accounts.models import ApiToken
from accounts.services import user_deactivate
from accounts.services.tokens import api_token_create, api_token_revoke
from tests.conftest import TenantHandle, make_user, token_for
from tests.support.private_services import gunicorn_server
from tests.timesheets.factories import auth


def _now_commits(monkeypatch: pytest.MonkeyPatch) -> None:
    """on_commit callbacks run at once: the test's transaction never commits."""
    monkeypatch.setattr("django.db.transaction.on_commit", lambda func, using=None, robust=False: func())


def test_a_named_token_is_shown_once_works_and_records_its_last_use(alpha: TenantHandle) -> None:
    user = make_user(alpha, "tokens@alpha.test", "Employee")
    login = token_for(alpha, user)
    created = alpha.client().post("/api/tokens", {"name": "payroll sync"}, "application/json", **auth(login))
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["name"] == "payroll sync"
    assert body["status"] == "active"
    assert body["key"].startswith(body["prefix"])
    expires = datetime.fromisoformat(body["expires_at"])
    assert abs((expires - timezone.now()) - timedelta(days=90)) < timedelta(minutes=1)
    assert alpha.client().get("/api/auth/me", **auth(body["key"])).json()["username"] == "tokens@alpha.test"
    [listed] = alpha.client().get("/api/tokens", **auth(login)).json()["results"]
    assert "key" not in listed
    assert listed["last_used_at"] is not None
    with tenant_context(alpha.tenant):
        assert not ApiToken.objects.filter(key_hash=body["key"]).exists()  # only a hash is stored


def test_bad_token_input_is_a_400_naming_the_field(alpha: TenantHandle) -> None:
    login = token_for(alpha, make_user(alpha, "bad-token@alpha.test", "Employee"))
    response = alpha.client().post(
        "/api/tokens", {"name": "x", "expires_in_days": 400}, "application/json", **auth(login)
    )
    assert response.status_code == 400
    assert "expires_in_days" in response.json()["error"]["fields"]


def test_an_expired_token_is_refused(alpha: TenantHandle) -> None:
    user = make_user(alpha, "expiring@alpha.test", "Employee")
    with tenant_context(alpha.tenant):
        issued = api_token_create(actor=user, user=user, name="short", expires_in_days=1)
        ApiToken.objects.filter(id=issued.token.id).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert alpha.client().get("/api/auth/me", **auth(issued.key)).status_code == 401


def test_a_user_revokes_their_own_token_and_not_anothers_while_an_admin_revokes_any(
    alpha: TenantHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    _now_commits(monkeypatch)
    owner = make_user(alpha, "owner@alpha.test", "Employee")
    other = make_user(alpha, "other@alpha.test", "Employee")
    admin = make_user(alpha, "admin-tokens@alpha.test", "Admin")
    with tenant_context(alpha.tenant):
        mine = api_token_create(actor=owner, user=owner, name="mine")
        theirs = api_token_create(actor=other, user=other, name="theirs")
    owner_login = token_for(alpha, owner)
    assert alpha.client().get("/api/auth/me", **auth(theirs.key)).status_code == 200  # remembered from here on
    refused = alpha.client().post(f"/api/tokens/{theirs.token.id}/revoke", **auth(owner_login))
    assert refused.status_code == 404
    own = alpha.client().post(f"/api/tokens/{mine.token.id}/revoke", **auth(owner_login))
    assert own.json()["status"] == "revoked"
    assert alpha.client().get("/api/auth/me", **auth(mine.key)).status_code == 401
    admin_login = token_for(alpha, admin)
    everyone = alpha.client().get("/api/tokens?user=-1", **auth(admin_login)).json()["results"]
    assert {row["name"] for row in everyone} >= {"mine", "theirs"}
    assert alpha.client().post(f"/api/tokens/{theirs.token.id}/revoke", **auth(admin_login)).status_code == 200
    assert alpha.client().get("/api/auth/me", **auth(theirs.key)).status_code == 401
    assert alpha.client().post(f"/api/tokens/{theirs.token.id}/revoke", **auth(admin_login)).status_code == 409
    only_own = alpha.client().get("/api/tokens?user=-1", **auth(owner_login)).json()["results"]
    assert {row["name"] for row in only_own} == {"mine"}


def test_another_tenants_token_id_is_not_found(alpha: TenantHandle, beta: TenantHandle) -> None:
    theirs = make_user(beta, "theirs-token@beta.test", "Employee")
    with tenant_context(beta.tenant):
        issued = api_token_create(actor=theirs, user=theirs, name="beta")
    admin = token_for(alpha, make_user(alpha, "admin-probe-token@alpha.test", "Admin"))
    assert alpha.client().post(f"/api/tokens/{issued.token.id}/revoke", **auth(admin)).status_code == 404
    assert alpha.client().get("/api/auth/me", **auth(issued.key)).status_code == 401


# Two processes --------------------------------------------------------------------------------------------------


@pytest.fixture
def committed_alpha(tenants: dict[str, TenantHandle], django_db_blocker: Any) -> Iterator[TenantHandle]:
    handle = tenants["alpha"]
    with django_db_blocker.unblock():
        yield handle
        with tenant_context(handle.tenant):
            User.objects.filter(username__startswith="twoproc-").delete()


def _refused_within(port: int, key: str, change: Any) -> float:
    """Seconds from `change()` returning until the other process refuses the key (it answered 200 before)."""
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers={"Host": "alpha.localhost"}) as web:
        for _ in range(3):  # the other process has the token's user in its memory now
            assert web.get("/api/auth/me", headers={"Authorization": f"Token {key}"}).status_code == 200
        change()
        changed = time.monotonic()
        while time.monotonic() - changed < 10:
            if web.get("/api/auth/me", headers={"Authorization": f"Token {key}"}).status_code == 401:
                return time.monotonic() - changed
            time.sleep(0.02)  # polling the other process
    raise AssertionError("the other process still accepts the token after 10 s")


@pytest.mark.slow
def test_a_revocation_and_a_deactivation_reach_another_process_within_a_second(
    committed_alpha: TenantHandle, tmp_path: Path
) -> None:
    handle = committed_alpha
    user = make_user(handle, f"twoproc-{uuid.uuid4().hex[:6]}@alpha.test", "Employee")
    second = make_user(handle, f"twoproc-{uuid.uuid4().hex[:6]}@alpha.test", "Employee")
    with tenant_context(handle.tenant):
        revoked = api_token_create(actor=user, user=user, name="revoked")
        kept = api_token_create(actor=second, user=second, name="deactivated")
    # A token cache of 30 s in the web process: only the revocation generation can make it forget in time.
    with gunicorn_server(tmp_path / "web.log", AUTH_TOKEN_CACHE_SECONDS="30") as (_, port):

        def revoke() -> None:
            with tenant_context(handle.tenant):
                api_token_revoke(actor=user, token=revoked.token)

        def deactivate() -> None:
            with tenant_context(handle.tenant):
                user_deactivate(actor=None, user=second)

        assert _refused_within(port, revoked.key, revoke) < 1.0
        assert _refused_within(port, kept.key, deactivate) < 1.0
