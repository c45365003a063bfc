"""Login protection: failed logins counted per client address and per account with django-ratelimit.

The token endpoint (`POST /api/auth/token`) and the login form both go through `login_attempt`:

- before anything is hashed, the failure counters of the client's address and of the account name are read;
  past either limit the answer is 429 with `Retry-After` (the seconds left in the window) and no hash is made,
  so a burst of guesses costs a few hashes, not one per guess;
- a failed login adds one to both counters; a successful one adds nothing;
- an unknown account and a wrong password are the same failure: the same message, the same status, one hash
  each (Django's ModelBackend hashes the password of an unknown username too), and the account counter is kept
  per account *name*, so an unknown name is limited exactly like a real one.

Counters live in the `ratelimit` cache (Redis) in fixed windows of `LOGIN_FAILURE_WINDOW_SECONDS`. The account
counter is per tenant schema and name; the address counter is per address across tenants. If Redis cannot be
reached the counters are skipped (logins are not refused for it); the rightful user can always get in again
after the window, or at once through a password reset (which does not touch the counters).
The address is `core.proxy.client_address`: X-Forwarded-For is believed only from TRUSTED_PROXY_NETWORKS.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from django.conf import settings
from django.core.cache import caches
from django.http import HttpRequest
from django_ratelimit.core import get_usage

from core import metrics
from core.errors import RateLimited
from core.proxy import client_address
from core.schema import current_schema

T = TypeVar("T")

GROUP_ADDRESS = "login-address"
GROUP_ACCOUNT = "login-account"
REFUSAL = "Too many failed sign-in attempts. Wait a few minutes and try again, or reset your password."


def _window() -> int:
    return int(getattr(settings, "LOGIN_FAILURE_WINDOW_SECONDS", 900))


def _rate(limit: int) -> str:
    return f"{limit}/{_window()}s"


def _address_rate(group: str, request: HttpRequest) -> str:
    return _rate(int(getattr(settings, "LOGIN_FAILURES_PER_ADDRESS", 20)))


def _account_rate(group: str, request: HttpRequest) -> str:
    return _rate(int(getattr(settings, "LOGIN_FAILURES_PER_ACCOUNT", 5)))


@dataclass(frozen=True)
class _Counter:
    group: str
    rate: Callable[[str, HttpRequest], str]
    value: str


def _account_name(username: str) -> str:
    return f"{current_schema()}:{username.strip().lower()[:150]}"


def _reset_key(name: str) -> str:
    return f"login-reset:{hashlib.sha256(name.encode()).hexdigest()}"


def _account_epoch(name: str) -> int:
    """Bumped by a password reset, so the account's counter starts again (the rightful user is back in)."""
    try:
        return int(caches["ratelimit"].get(_reset_key(name)) or 0)
    except (TypeError, ValueError):
        return 0


def login_failures_forget(*, username: str) -> None:
    """The account's failure counter starts again (after a password reset)."""
    name = _account_name(username)
    caches["ratelimit"].set(_reset_key(name), _account_epoch(name) + 1, timeout=_window() * 2)


def _counters(request: HttpRequest, username: str) -> list[_Counter]:
    address = client_address(request) or "unknown"
    name = _account_name(username)
    account = f"{name}:{_account_epoch(name)}"
    return [
        _Counter(GROUP_ADDRESS, _address_rate, address),
        _Counter(GROUP_ACCOUNT, _account_rate, account),
    ]


def _usage(request: HttpRequest, counter: _Counter, *, increment: bool) -> dict[str, Any] | None:
    return get_usage(  # type: ignore[no-any-return]
        request,
        group=counter.group,
        key=lambda group, req: counter.value,
        rate=counter.rate,
        increment=increment,
    )


class LoginRateLimited(RateLimited):
    code = "too_many_login_failures"


def login_refusal(request: HttpRequest, username: str) -> LoginRateLimited | None:
    """The 429 to answer instead of trying this login, or None when it may be tried."""
    for counter in _counters(request, username):
        usage = _usage(request, counter, increment=False)
        if usage is not None and usage["count"] >= usage["limit"]:
            metrics.ratelimit_rejected(scope=counter.group)
            return LoginRateLimited(REFUSAL, retry_after=max(1, int(usage["time_left"])))
    return None


def login_failed(request: HttpRequest, username: str) -> None:
    for counter in _counters(request, username):
        _usage(request, counter, increment=True)


def login_attempt(request: HttpRequest, username: str, attempt: Callable[[], T | None]) -> T | None:
    """Run `attempt` (which hashes) unless a counter is spent; count it when it returns None (a failure).

    Raises LoginRateLimited (429) when refused."""
    refusal = login_refusal(request, username)
    if refusal is not None:
        raise refusal
    result = attempt()
    if result is None:
        login_failed(request, username)
    return result
