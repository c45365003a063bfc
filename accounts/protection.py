"""Login protection: failed logins counted per client address and per account with django-ratelimit.

The token endpoint (`POST /api/auth/token`) and the login form both go through `login_attempt`:

- before anything is hashed, the attempt is counted against the client's address and the account name (both
  counters, in one increment each); past either limit the answer is 429 with `Retry-After` (the seconds left
  in the window) and no hash is made, so a burst of guesses costs a few hashes, not one per guess. Counting
  before hashing, not after, keeps concurrent guesses from all passing a check while the first is hashing;
- a successful login takes its attempt back off both counters: only failures stay counted;
- a tenant hashes at most `LOGIN_HASH_CONCURRENCY` (default 1) passwords at a time across every process (a
  slot in Redis): a login that finds the slots taken is answered 429 "busy" at once, without a hash and without
  counting against its account. After a failed password the slot stays taken for
  `LOGIN_FAILURE_COOLDOWN_SECONDS` (2): a burst of guesses hashes at most once per cooldown, so even the few
  hashes it may cost are spread out and never take a core from the other tenants, while a tenant's rightful
  users wait at most that long after someone's typo (they are told to retry in a second);
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

import contextlib
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from django.conf import settings
from django.core.cache import caches
from django.http import HttpRequest

# django-ratelimit's own key functions, so that a success is taken back off the very counter it added to.
from django_ratelimit.core import ALL, _get_window, _make_cache_key, _split_rate, get_usage

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


def login_begin(request: HttpRequest, username: str) -> LoginRateLimited | None:
    """Count this attempt; the 429 to answer instead of trying it, or None when it may be tried (then call
    `login_succeeded` if the password was right)."""
    refusal: LoginRateLimited | None = None
    for counter in _counters(request, username):
        usage = _usage(request, counter, increment=True)
        if usage is not None and usage["count"] > usage["limit"] and refusal is None:
            metrics.ratelimit_rejected(scope=counter.group)
            refusal = LoginRateLimited(REFUSAL, retry_after=max(1, int(usage["time_left"])))
    return refusal


def login_succeeded(request: HttpRequest, username: str) -> None:
    """Take the attempt counted by `login_begin` back: the rightful user's logins never add up."""
    cache = caches[getattr(settings, "RATELIMIT_USE_CACHE", "default")]
    for counter in _counters(request, username):
        rate = counter.rate(counter.group, request)
        _, period = _split_rate(rate)
        key = _make_cache_key(counter.group, _get_window(counter.value, period), rate, counter.value, ALL)
        with contextlib.suppress(ValueError):  # the key expired in between: nothing to take back
            cache.decr(key)


GROUP_SSO = "sso-refusals-address"


def _sso_rate(group: str, request: HttpRequest) -> str:
    return _rate(int(getattr(settings, "SSO_REFUSALS_PER_ADDRESS", 50)))


def sso_refusal_count(request: HttpRequest) -> int | None:
    """Count a refused single sign-on attempt against the client's address. Past the limit, the seconds left in
    the window (the caller answers 429 and records nothing more: a flood of forged callbacks cannot fill the
    audit trail); else None."""
    address = client_address(request) or "unknown"
    usage = get_usage(request, group=GROUP_SSO, key=lambda group, req: address, rate=_sso_rate, increment=True)
    if usage is not None and usage["count"] > usage["limit"]:
        metrics.ratelimit_rejected(scope=GROUP_SSO)
        return max(1, int(usage["time_left"]))
    return None


BUSY = "Sign-in is busy for this company right now; try again in a second."
_SLOT_SECONDS = 30  # a slot left by a process that died mid-hash frees itself


def _slot_keys() -> list[str]:
    slots = max(1, int(getattr(settings, "LOGIN_HASH_CONCURRENCY", 1)))
    return [f"login-hash-slot:{current_schema()}:{n}" for n in range(slots)]


def hash_slot_take() -> str | None:
    """One of the tenant's password-hashing slots, or None when all are taken (Redis down: no limit)."""
    cache = caches[getattr(settings, "RATELIMIT_USE_CACHE", "default")]
    for key in _slot_keys():
        try:
            taken = cache.add(key, 1, timeout=_SLOT_SECONDS)
        except Exception:  # the cache failing must not refuse logins
            return ""
        if taken is None:  # django-redis answers None when Redis is down (IGNORE_EXCEPTIONS)
            return ""
        if taken:
            return key
    return None


def hash_slot_release(key: str, *, failed: bool = False) -> None:
    """Free the slot; after a failed password, only once the cooldown has passed."""
    if not key:
        return
    cache = caches[getattr(settings, "RATELIMIT_USE_CACHE", "default")]
    cooldown = int(getattr(settings, "LOGIN_FAILURE_COOLDOWN_SECONDS", 2))
    if failed and cooldown > 0:
        cache.set(key, 1, timeout=cooldown)
    else:
        cache.delete(key)


def login_attempt(request: HttpRequest, username: str, attempt: Callable[[], T | None]) -> T | None:
    """Run `attempt` (which hashes) unless a counter is spent or the tenant's hashing slots are taken; a success
    (not None) is taken back off the counters.

    Raises LoginRateLimited (429) when refused."""
    refusal = login_begin(request, username)
    if refusal is not None:
        raise refusal
    slot = hash_slot_take()
    if slot is None:
        login_succeeded(request, username)  # not tried: it does not count against the account
        metrics.ratelimit_rejected(scope="login-busy")
        raise LoginRateLimited(BUSY, retry_after=1)
    result = None
    try:
        result = attempt()
    finally:
        hash_slot_release(slot, failed=result is None)
    if result is not None:
        login_succeeded(request, username)
    return result


def login_check_counted(request: HttpRequest, username: str, check: Callable[[], T]) -> T:
    """Run a check of a signed-in user's code or password (turning two-step sign-in off, new recovery codes) as a
    login attempt: refused past the limits (LoginRateLimited), and a failure (the check raising) stays counted."""
    refusal = login_begin(request, username)
    if refusal is not None:
        raise refusal
    result = check()
    login_succeeded(request, username)
    return result
