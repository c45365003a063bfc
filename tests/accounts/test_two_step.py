"""Two-step sign-in with real TOTP codes (RFC 6238, computed here with django_otp.oath as an app would): set-up,
the code after the password (page and token endpoint), each code once, one step of drift, recovery codes,
the limits and audit of wrong codes, the tenant's requirement for Admins, turning it off, the operator's reset."""

from __future__ import annotations

import base64
import re
import threading
import time
import uuid
from typing import Any

import pytest
import segno
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.db import connections, transaction
from django.test import Client, override_settings
from django_otp.oath import TOTP, totp
from django_tenants.utils import tenant_context

from accounts.selectors import two_step_enabled, two_step_pending_device
from accounts.services.two_step import two_step_confirm, two_step_setup_of, two_step_setup_start, two_step_verify
from audit.models import AuditEvent
from tenants.settings_service import tenant_settings_update
from tests.conftest import PASSWORD, TenantHandle, make_user, token_for
from tests.timesheets.factories import auth

TOKEN = "/api/auth/token"


def code_at(key: bytes, when: float) -> str:
    """The code an authenticator app shows at `when`."""
    generator = TOTP(key)
    generator.time = when
    return f"{generator.token():06d}"


def code_now(key: bytes) -> str:
    return f"{totp(key):06d}"


def enable(handle: TenantHandle, user: User) -> tuple[bytes, list[str]]:
    """Turn two-step sign-in on as the set-up page does, confirmed with a code of two steps ago (so that the code
    of the current step is still unused); the app's key and the recovery codes."""
    with tenant_context(handle.tenant):
        setup = two_step_setup_start(user=user)
        key = base64.b32decode(setup.secret)
        earlier = time.time() - 60
        return key, two_step_confirm(user=user, code=code_at(key, earlier), now=earlier)


def signed_in(handle: TenantHandle, user: User) -> Client:
    client = handle.client()
    with tenant_context(handle.tenant):
        client.force_login(user)
    return client


def enabled(handle: TenantHandle, user: User) -> bool:
    with tenant_context(handle.tenant):
        return two_step_enabled(user=user)


def password_step(handle: TenantHandle, username: str) -> Client:
    client = handle.client()
    response = client.post("/login", {"username": username, "password": PASSWORD})
    assert response.status_code == 302, response.content
    assert response["Location"] == "/login/code"
    return client


def actions(handle: TenantHandle, user: User) -> list[tuple[str, dict[str, Any]]]:
    with tenant_context(handle.tenant):
        events = AuditEvent.objects.filter(object_id=str(user.pk)).order_by("sequence")
        return list(events.values_list("action", "data"))


@pytest.fixture
def settings_now(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("django.db.transaction.on_commit", lambda func, using=None, robust=False: func())


def require_for_admins(handle: TenantHandle) -> None:
    with tenant_context(handle.tenant):
        tenant_settings_update(actor=None, changes={"require_admin_two_step": True})


def test_the_set_up_page_shows_the_secret_until_a_real_code_turns_it_on(alpha: TenantHandle) -> None:
    user = make_user(alpha, "setup@alpha.test", "Employee")
    client = signed_in(alpha, user)
    assert "Set up two-step sign-in" in client.get("/account/two-step").content.decode()
    assert client.post("/account/two-step", {"action": "start"})["Location"] == "/account/two-step"
    page = client.get("/account/two-step").content.decode()
    secret = page.split('id="two-step-secret">')[1].split("<")[0]
    assert "otpauth://totp/" in page
    assert f"secret={secret}" in page
    key = base64.b32decode(secret)

    wrong = client.post("/account/two-step", {"action": "confirm", "code": "000000"})
    assert wrong.status_code == 200
    assert "not right" in wrong.content.decode()
    assert not enabled(alpha, user)

    confirmed = client.post("/account/two-step", {"action": "confirm", "code": code_now(key)})
    body = confirmed.content.decode()
    assert "Two-step sign-in is on" in body
    assert "no-store" in confirmed["Cache-Control"]
    assert body.count("<li><code>") == 10
    assert enabled(alpha, user)
    # Once on, the secret is never shown again.
    assert secret not in client.get("/account/two-step").content.decode()
    assert [action for action, _ in actions(alpha, user)] == ["two_step.setup_start", "two_step.enable"]


def drawn_modules(svg: str) -> tuple[int, set[tuple[int, int]]]:
    """The side (in modules) of an SVG QR code and the dark modules its path draws: segno's path is made of moves
    (M absolute, m relative) and horizontal runs (h), each run through the middle of one row of modules."""
    size = re.search(r'viewBox="0 0 (\d+) \1"', svg)
    path = re.search(r'<path class="qr-dark" stroke="#000" d="([^"]+)"', svg)
    assert size is not None
    assert path is not None
    dark: set[tuple[int, int]] = set()
    x = y = 0.0
    for command, dx, dy in re.findall(r"([Mmh])(-?[\d.]+)(?: (-?[\d.]+))?", path.group(1)):
        if command == "M":
            x, y = float(dx), float(dy)
        elif command == "m":
            x, y = x + float(dx), y + float(dy)
        else:
            dark.update((int(x) + i, int(y)) for i in range(int(dx)))
            x += float(dx)
    return int(size.group(1)), dark


def test_the_set_up_page_draws_the_devices_otpauth_uri_as_an_inline_svg_qr_code(alpha: TenantHandle) -> None:
    user = make_user(alpha, "qr@alpha.test", "Employee")
    client = signed_in(alpha, user)
    client.post("/account/two-step", {"action": "start"})
    page = client.get("/account/two-step").content.decode()
    with tenant_context(alpha.tenant):
        uri = two_step_setup_of(two_step_pending_device(user=user)).uri
    assert uri.startswith("otpauth://totp/")

    svgs = re.findall(r"<svg\b.*?</svg>", page, re.S)
    assert len(svgs) == 1
    svg = svgs[0]
    assert 'role="img"' in svg
    assert 'aria-label="QR code for your authenticator app"' in svg
    assert "<image" not in svg
    assert "data:" not in svg
    assert "secret=" not in svg  # drawn, not written out
    # The key to type stays beside it for those who cannot scan.
    assert 'id="two-step-secret"' in page.split("</svg>", 1)[1]

    # The modules drawn are exactly those of the QR code of the device's URI, inside a four-module quiet zone.
    side, dark = drawn_modules(svg)
    expected = segno.make(uri, error="m", micro=False)
    assert expected.error in ("M", "Q", "H")
    assert side == len(expected.matrix) + 8
    assert dark == {
        (col + 4, row + 4) for row, line in enumerate(expected.matrix) for col, bit in enumerate(line) if bit
    }
    assert all(4 <= col < side - 4 and 4 <= row < side - 4 for col, row in dark)
    # Black on a white square covering the whole symbol, whatever the page's colours.
    assert f'<path fill="#fff" d="M0 0h{side}v{side}h-{side}z"/>' in svg

    # A code of another URI draws other modules: the comparison above can fail.
    _, other = drawn_modules(
        str(
            segno.make(uri.replace("secret=", "secret=A"), error="m").svg_inline(
                border=4, dark="#000", light="#fff", omitsize=True, lineclass="qr-dark"
            )
        )
    )
    assert other != dark


def test_a_right_password_alone_does_not_log_in_and_the_code_page_does(alpha: TenantHandle) -> None:
    user = make_user(alpha, "twostep@alpha.test", "Employee")
    key, _ = enable(alpha, user)
    client = password_step(alpha, user.username)
    assert client.get("/")["Location"].startswith("/login")  # not logged in yet
    assert client.get("/api/auth/me").status_code in (401, 403)

    wrong = client.post("/login/code", {"code": "123456" if code_now(key) != "123456" else "654321"})
    assert wrong.status_code == 200
    assert "not right" in wrong.content.decode()
    right = client.post("/login/code", {"code": code_now(key)})
    assert right.status_code == 302
    assert right["Location"] == "/"
    assert client.get("/").status_code == 200
    trail = actions(alpha, user)
    assert ("auth.second_factor_failed", {}) in trail
    assert trail[-1] == ("auth.login", {"via": "session", "second_factor": "totp"})


def test_a_code_works_once(alpha: TenantHandle) -> None:
    user = make_user(alpha, "once@alpha.test", "Employee")
    key, _ = enable(alpha, user)
    code = code_now(key)
    assert password_step(alpha, user.username).post("/login/code", {"code": code}).status_code == 302
    again = password_step(alpha, user.username).post("/login/code", {"code": code})
    assert again.status_code == 200
    assert "already used" in again.content.decode()


def test_one_step_of_drift_either_way_is_accepted_and_two_are_not(alpha: TenantHandle) -> None:
    user = make_user(alpha, "drift@alpha.test", "Employee")
    with tenant_context(alpha.tenant):
        key = base64.b32decode(two_step_setup_start(user=user).secret)
        now = 1_900_000_000.0  # a step boundary is 30 s away either side of ...000 + 15
        now += 15
        two_step_confirm(user=user, code=code_at(key, now - 150), now=now - 150)
        assert two_step_verify(user=user, code=code_at(key, now - 60), now=now) is None  # two steps ago
        assert two_step_verify(user=user, code=code_at(key, now - 30), now=now) == "totp"  # the previous step
        assert two_step_verify(user=user, code=code_at(key, now + 30), now=now) == "totp"  # the next step
        # The current step is before the last accepted one now: refused like a replay.
        assert two_step_verify(user=user, code=code_at(key, now), now=now) is None
        assert two_step_verify(user=user, code=code_at(key, now + 90), now=now) is None  # two steps ahead


def test_a_recovery_code_works_once_and_says_how_many_are_left(alpha: TenantHandle) -> None:
    user = make_user(alpha, "recovery@alpha.test", "Employee")
    _, codes = enable(alpha, user)
    client = password_step(alpha, user.username)
    used = client.post("/login/code", {"code": codes[3].upper()}, follow=True)  # as typed from paper
    assert "9 left" in used.content.decode()
    again = password_step(alpha, user.username).post("/login/code", {"code": codes[3]})
    assert again.status_code == 200
    assert actions(alpha, user)[-1] == ("auth.second_factor_failed", {})


@override_settings(LOGIN_FAILURES_PER_ACCOUNT=3)
def test_wrong_codes_are_refused_with_429_past_the_account_limit(alpha: TenantHandle) -> None:
    user = make_user(alpha, "guess@alpha.test", "Employee")
    key, _ = enable(alpha, user)
    client = password_step(alpha, user.username)
    wrong = "000000" if code_now(key) != "000000" else "111111"
    for _ in range(3):
        assert client.post("/login/code", {"code": wrong}).status_code == 200
    refused = client.post("/login/code", {"code": code_now(key)})  # even the right one, until the window passes
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) > 0
    token = alpha.client().post(
        TOKEN, {"username": user.username, "password": PASSWORD, "otp": code_now(key)}, "application/json"
    )
    assert token.status_code == 429
    assert [a for a, _ in actions(alpha, user)].count("auth.second_factor_failed") == 3


def test_the_token_endpoint_wants_the_code_of_a_login_with_two_step(alpha: TenantHandle) -> None:
    user = make_user(alpha, "api-twostep@alpha.test", "Employee")
    key, codes = enable(alpha, user)
    client = alpha.client()

    def post(**extra: str) -> Any:
        return client.post(TOKEN, {"username": user.username, "password": PASSWORD, **extra}, "application/json")

    missing = post()
    assert missing.status_code == 400
    assert "otp" in missing.json()["error"]["fields"]
    blank = post(otp="  ")
    assert blank.status_code == 400
    assert "otp" in blank.json()["error"]["fields"]
    wrong = post(otp="12345x")
    assert wrong.status_code == 400
    assert "otp" in wrong.json()["error"]["fields"]
    issued = post(otp=code_now(key))
    assert issued.status_code == 200, issued.content
    assert client.get("/api/auth/me", **auth(issued.json()["token"])).status_code == 200
    assert post(otp=code_now(key)).status_code == 400  # used
    assert post(otp=codes[0]).status_code == 200
    assert post(otp=codes[0]).status_code == 400
    assert ("auth.token_issue", {"created": False, "second_factor": "recovery_code"}) in actions(alpha, user)
    # Nothing of the set-up comes back from the API.
    assert "secret" not in issued.content.decode()
    assert "otpauth" not in issued.content.decode()


def test_a_login_without_two_step_gets_its_token_as_before(alpha: TenantHandle) -> None:
    user = make_user(alpha, "plain@alpha.test", "Admin")
    response = alpha.client().post(TOKEN, {"username": user.username, "password": PASSWORD}, "application/json")
    assert response.status_code == 200


def test_an_admin_without_a_device_is_sent_to_set_one_up_when_the_tenant_requires_it(
    alpha: TenantHandle, settings_now: None
) -> None:
    admin = make_user(alpha, "must@alpha.test", "Admin")
    hr = make_user(alpha, "hr-free@alpha.test", "HR")
    require_for_admins(alpha)
    client = alpha.client()
    assert client.post("/login", {"username": admin.username, "password": PASSWORD})["Location"] == "/"
    sent = client.get("/employees")
    assert sent.status_code == 302
    assert sent["Location"] == "/account/two-step"
    assert client.get("/api/auth/me").json()["error"]["code"] == "two_step_required"
    assert client.get("/account/two-step").status_code == 200
    assert client.get("/api/auth/two-step").json()["enabled"] is False
    token = alpha.client().post(TOKEN, {"username": admin.username, "password": PASSWORD}, "application/json")
    assert token.status_code == 400
    assert "otp" in token.json()["error"]["fields"]
    # Others are not asked; the Admin with a device goes on.
    other = signed_in(alpha, hr)
    assert other.get("/employees").status_code == 200
    enable(alpha, admin)
    assert client.get("/employees").status_code == 200


def test_it_is_turned_off_with_the_password_or_a_code_and_not_with_a_wrong_one(alpha: TenantHandle) -> None:
    user = make_user(alpha, "off@alpha.test", "Employee")
    key, codes = enable(alpha, user)
    client = signed_in(alpha, user)
    client.post("/account/two-step/off", {"password": "not-the-password"})
    assert enabled(alpha, user)
    client.post("/account/two-step/off", {"code": "000000" if code_now(key) != "000000" else "111111"})
    assert enabled(alpha, user)
    client.post("/account/two-step/off", {"password": PASSWORD})
    assert not enabled(alpha, user)

    key, codes = enable(alpha, user)
    client.post("/account/two-step/off", {"code": codes[1]})
    assert not enabled(alpha, user)
    assert [data for action, data in actions(alpha, user) if action == "two_step.disable"] == [
        {"proof": "password"},
        {"proof": "code"},
    ]


def test_new_recovery_codes_replace_the_old_ones(alpha: TenantHandle) -> None:
    user = make_user(alpha, "renew@alpha.test", "Employee")
    key, old = enable(alpha, user)
    client = signed_in(alpha, user)
    page = client.post("/account/two-step/recovery-codes", {"code": code_now(key)})
    assert page.status_code == 200
    assert "no-store" in page["Cache-Control"]
    assert not any(code in page.content.decode() for code in old)
    with tenant_context(alpha.tenant):
        assert two_step_verify(user=user, code=old[0]) is None


def test_the_code_page_sends_back_to_the_password_when_nothing_waits_or_it_is_too_late(alpha: TenantHandle) -> None:
    assert alpha.client().get("/login/code")["Location"] == "/login"
    user = make_user(alpha, "late@alpha.test", "Employee")
    key, _ = enable(alpha, user)
    client = password_step(alpha, user.username)
    with override_settings(TWO_STEP_PENDING_SECONDS=-1):
        client = password_step(alpha, user.username)
    response = client.post("/login/code", {"code": code_now(key)})
    assert response.status_code == 302
    assert response["Location"] == "/login"
    assert client.get("/").status_code == 302


def test_the_operator_command_removes_a_users_devices_with_an_audit_event(alpha: TenantHandle) -> None:
    user = make_user(alpha, "lost-phone@alpha.test", "Admin")
    enable(alpha, user)
    call_command("two_step_reset", tenant="alpha", user=user.username, reason="ticket 42")
    assert not enabled(alpha, user)
    assert actions(alpha, user)[-1] == ("two_step.reset", {"username": user.username, "devices": 2})
    assert alpha.client().post("/login", {"username": user.username, "password": PASSWORD})["Location"] == "/"
    with pytest.raises(CommandError):
        call_command("two_step_reset", tenant="alpha", user="nobody@alpha.test")


def test_a_device_of_one_tenant_does_not_exist_in_another(alpha: TenantHandle, beta: TenantHandle) -> None:
    """Tenant isolation: the same username in another tenant signs in with its password alone."""
    enable(alpha, make_user(alpha, "same@both.test", "Employee"))
    make_user(beta, "same@both.test", "Employee")
    assert beta.client().post("/login", {"username": "same@both.test", "password": PASSWORD})["Location"] == "/"
    assert alpha.client().post("/login", {"username": "same@both.test", "password": PASSWORD})["Location"] == (
        "/login/code"
    )


def test_the_api_turns_it_on_with_a_real_code_and_never_shows_the_secret_again(
    alpha: TenantHandle, beta: TenantHandle
) -> None:
    user = make_user(alpha, "api-setup@alpha.test", "Manager")
    client, credentials = alpha.client(), auth(token_for(alpha, user))

    def post(path: str, body: dict[str, str] | None = None) -> Any:
        return client.post(f"/api/auth/two-step{path}", body or {}, "application/json", **credentials)

    assert client.get("/api/auth/two-step", **credentials).json() == {
        "enabled": False,
        "setup_pending": False,
        "recovery_codes_left": 0,
    }
    started = post("/setup")
    assert started.status_code == 201
    secret = started.json()["secret"]
    assert f"secret={secret}" in started.json()["otpauth_uri"]
    key = base64.b32decode(secret)
    wrong = post("/confirm", {"code": "abc"})
    assert wrong.status_code == 400
    assert "code" in wrong.json()["error"]["fields"]
    confirmed = post("/confirm", {"code": code_at(key, time.time() - 30)})
    assert confirmed.status_code == 200
    assert len(confirmed.json()["recovery_codes"]) == 10
    status = client.get("/api/auth/two-step", **credentials)
    assert status.json() == {"enabled": True, "setup_pending": False, "recovery_codes_left": 10}
    assert post("/setup").status_code == 409
    renewed = post("/recovery-codes", {"code": code_now(key)})
    assert renewed.status_code == 200
    assert set(renewed.json()["recovery_codes"]).isdisjoint(confirmed.json()["recovery_codes"])
    assert post("/disable", {"password": "wrong-password"}).status_code == 400
    assert post("/disable", {"password": PASSWORD}).status_code == 204
    assert post("/disable", {"password": PASSWORD}).status_code == 409
    assert post("/confirm", {"code": "123456"}).status_code == 409
    # Another tenant's token is not a credential here.
    other = auth(token_for(beta, make_user(beta, "api-setup@alpha.test", "Admin")))
    assert client.post("/api/auth/two-step/setup", {}, "application/json", **other).status_code == 401
    for response in (status, confirmed, renewed):
        assert secret not in response.content.decode()


def _while_another_holds_it(handle: TenantHandle, user: User, code: str, blocker: Any) -> list[str | None]:
    """Two connections verify one code: the first one's transaction is still open (its verification done, not
    committed) while the second one verifies. Without the device's row lock the second would read the state
    from before the first and accept the code too."""
    first_done, release = threading.Event(), threading.Event()
    results: dict[str, str | None] = {}
    errors: list[BaseException] = []

    def first() -> None:
        try:
            with blocker.unblock(), tenant_context(handle.tenant), transaction.atomic():
                results["first"] = two_step_verify(user=user, code=code)
                first_done.set()
                release.wait(timeout=30)
        except BaseException as exc:
            errors.append(exc)
        finally:
            first_done.set()
            connections.close_all()

    def second() -> None:
        try:
            with blocker.unblock(), tenant_context(handle.tenant):
                results["second"] = two_step_verify(user=user, code=code)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    threads[0].start()
    assert first_done.wait(timeout=30)
    threads[1].start()
    # Gives the second connection the time to reach the device row and wait on the first one's lock.
    time.sleep(0.5)
    release.set()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    return [results.get("first"), results.get("second")]


@pytest.mark.slow
def test_a_code_verified_by_two_connections_at_once_is_accepted_once(
    tenants: dict[str, TenantHandle], django_db_blocker: Any
) -> None:
    """Committed data, separate connections: the device's row lock makes a code (and a recovery code) one use."""
    handle = tenants["beta"]
    username = f"race-{uuid.uuid4().hex[:8]}@beta.test"
    with django_db_blocker.unblock():
        user = make_user(handle, username, "Employee")
        key, codes = enable(handle, user)
    try:
        assert _while_another_holds_it(handle, user, code_now(key), django_db_blocker) == ["totp", None]
        assert _while_another_holds_it(handle, user, codes[0], django_db_blocker) == ["recovery_code", None]
    finally:
        with django_db_blocker.unblock(), tenant_context(handle.tenant):
            User.objects.filter(username=username).delete()
        connections.close_all()
