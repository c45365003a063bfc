"""Login protection: failures counted per address and per account; past the limit a 429 without any hash."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.hashers import MD5PasswordHasher
from django.test import Client

from tests.conftest import PASSWORD, TenantHandle, make_user

TOKEN = "/api/auth/token"


@pytest.fixture
def hashes(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many password hashes the process computed (the test settings' hasher, wrapped to count)."""
    counted = [0]
    original = MD5PasswordHasher.encode

    def counting(self: MD5PasswordHasher, password: str, salt: str) -> str:
        counted[0] += 1
        return original(self, password, salt)

    monkeypatch.setattr(MD5PasswordHasher, "encode", counting)
    return counted


def _login(client: Client, username: str, password: str, **extra: Any) -> Any:
    return client.post(TOKEN, {"username": username, "password": password}, "application/json", **extra)


def test_after_five_failures_an_account_is_refused_with_429_and_no_hash(alpha: TenantHandle, hashes: list[int]) -> None:
    make_user(alpha, "target@alpha.test", "Employee")
    client = alpha.client()
    for _ in range(5):
        assert _login(client, "target@alpha.test", "wrong").status_code == 400
    before = hashes[0]
    refused = _login(client, "target@alpha.test", "wrong")
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) > 0
    assert refused.json()["error"]["code"] == "too_many_login_failures"
    assert "Too many failed sign-in attempts" in refused.json()["error"]["message"]
    assert _login(client, "target@alpha.test", PASSWORD).status_code == 429  # even the right password, for now
    assert hashes[0] == before


def test_an_unknown_account_and_a_wrong_password_look_the_same(alpha: TenantHandle, hashes: list[int]) -> None:
    make_user(alpha, "known@alpha.test", "Employee")
    client = alpha.client()
    known: list[Any] = []
    unknown: list[Any] = []
    for _ in range(6):
        before = hashes[0]
        known.append((_login(client, "known@alpha.test", "wrong"), hashes[0] - before))
        before = hashes[0]
        unknown.append((_login(client, "nobody@alpha.test", "wrong"), hashes[0] - before))
    for (k, k_hashes), (u, u_hashes) in zip(known, unknown, strict=True):
        # Retry-After differs by name (each name's window starts at its own offset), known or not alike.
        k_error, u_error = k.json()["error"], u.json()["error"]
        k_error.pop("retry_after", None)
        u_error.pop("retry_after", None)
        assert (k.status_code, k_error, k_hashes) == (u.status_code, u_error, u_hashes)
    assert [k.status_code for k, _ in known] == [400] * 5 + [429]


def test_failures_from_one_address_across_accounts_are_limited(
    alpha: TenantHandle, settings: Any, hashes: list[int]
) -> None:
    settings.LOGIN_FAILURES_PER_ADDRESS = 3
    client = alpha.client()
    statuses = [_login(client, f"guess{n}@alpha.test", "wrong").status_code for n in range(5)]
    assert statuses == [400, 400, 400, 429, 429]
    other_address = Client(HTTP_HOST=alpha.host, REMOTE_ADDR="10.9.8.7")
    assert _login(other_address, "guess9@alpha.test", "wrong").status_code == 400


def test_addresses_behind_a_trusted_proxy_are_counted_apart(alpha: TenantHandle, settings: Any) -> None:
    settings.LOGIN_FAILURES_PER_ADDRESS = 2
    settings.TRUSTED_PROXY_NETWORKS = ["127.0.0.1/32"]
    client = alpha.client()
    for address in ("198.51.100.1", "198.51.100.2"):
        statuses = [
            _login(client, f"p{n}@alpha.test", "wrong", HTTP_X_FORWARDED_FOR=address).status_code for n in range(3)
        ]
        assert statuses == [400, 400, 429], address


def test_the_rightful_user_gets_in_after_a_password_reset(alpha: TenantHandle, monkeypatch: pytest.MonkeyPatch) -> None:
    from django.contrib.auth.tokens import default_token_generator
    from django.utils.encoding import force_bytes
    from django.utils.http import urlsafe_base64_encode
    from django_tenants.utils import tenant_context

    monkeypatch.setattr("django.db.transaction.on_commit", lambda func, using=None, robust=False: func())
    user = make_user(alpha, "locked@alpha.test", "Employee")
    client = Client(HTTP_HOST=alpha.host, REMOTE_ADDR="203.0.113.50")
    for _ in range(5):
        _login(client, "locked@alpha.test", "wrong")
    assert _login(client, "locked@alpha.test", PASSWORD).status_code == 429
    with tenant_context(alpha.tenant):
        token = default_token_generator.make_token(user)
    body = {"uid": urlsafe_base64_encode(force_bytes(user.pk)), "token": token, "password": "a-long-new-passphrase-42"}
    assert alpha.client().post("/api/auth/password-reset/confirm", body, "application/json").status_code == 200
    assert _login(alpha.client(), "locked@alpha.test", "a-long-new-passphrase-42").status_code == 200


def test_the_login_form_is_limited_too(alpha: TenantHandle, hashes: list[int]) -> None:
    make_user(alpha, "form@alpha.test", "Employee")
    client = alpha.client()
    for _ in range(5):
        page = client.post("/login", {"username": "form@alpha.test", "password": "wrong"})
        assert page.status_code == 200
    before = hashes[0]
    refused = client.post("/login", {"username": "form@alpha.test", "password": PASSWORD})
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) > 0
    assert "Too many failed sign-in attempts" in refused.content.decode()
    assert hashes[0] == before


def test_a_login_while_the_tenants_hashing_slot_is_taken_is_busy_and_not_counted(alpha: TenantHandle) -> None:
    from django_tenants.utils import tenant_context

    from accounts.protection import BUSY, hash_slot_release, hash_slot_take

    make_user(alpha, "busy@alpha.test", "Employee")
    with tenant_context(alpha.tenant):
        slot = hash_slot_take()
    assert slot
    try:
        for _ in range(8):  # more than the account's limit: none of them counts
            busy = _login(alpha.client(), "busy@alpha.test", PASSWORD)
            assert busy.status_code == 429
            assert busy["Retry-After"] == "1"
            assert busy.json()["error"]["message"] == BUSY
    finally:
        hash_slot_release(slot)
    assert _login(alpha.client(), "busy@alpha.test", PASSWORD).status_code == 200


def test_after_a_wrong_password_the_tenant_hashes_again_only_after_the_cooldown(
    alpha: TenantHandle, settings: Any, hashes: list[int]
) -> None:
    import time

    settings.LOGIN_FAILURE_COOLDOWN_SECONDS = 1
    make_user(alpha, "cooldown@alpha.test", "Employee")
    assert _login(alpha.client(), "cooldown@alpha.test", "typo").status_code == 400
    before = hashes[0]
    busy = _login(alpha.client(), "cooldown@alpha.test", PASSWORD)
    assert busy.status_code == 429
    assert hashes[0] == before
    time.sleep(1.1)  # the slot's expiry in Redis
    assert _login(alpha.client(), "cooldown@alpha.test", PASSWORD).status_code == 200
