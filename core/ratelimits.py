"""Rate-limit policy of the ML endpoints: one budget per tenant (its own setting), and a share of it per user.

Generation, suggestion review (pending, accept, reject) and training share one budget keyed by the tenant's
schema, at `Tenant.ml_rate_limit_per_minute` requests a minute (default 100), counted in fixed one-minute
windows in Redis. No user may spend more than a share of it (1/USER_SHARE_DIVISOR, at least one request), so
one user flooding the endpoints (an Employee may call pending, accept and reject) spends their own share and
leaves the rest of the tenant's budget to everyone else. A process takes units in slices (one script call checks
the tenant's and the user's counters of the window and adds the slice to both, setting their expiry): one unit
at a time for ordinary budgets, so they are counted exactly, and up to LEASE_MAX at a time for very large ones,
so a busy user does not cost a Redis round trip per request. Over the limit the view raises `RateLimited`,
which the API's error handler renders as 429 JSON with `Retry-After` (the seconds left in the window).

Redis down (the `ratelimit` cache unreachable): the limiter fails open, so requests are served without a
limit rather than refused; the cache's short socket timeouts bound the delay this adds to each request.

A refusal must cost far less than the work it refuses, or a flooding tenant still takes the web workers
from everyone else. So once a process has seen a tenant's budget spent, it remembers until when, and
`MlLoadSheddingMiddleware` (right after tenant resolution) answers that tenant's ML requests with the 429
before authentication, Redis or the view run. A user's spent share is remembered the same way, keyed by the
credential the refused request carried (a hash of its Authorization and Cookie headers, the only things known
before authentication), so only requests carrying that same credential are refused early; any other request
of the tenant goes on to authentication and the budget check as usual.
"""

from __future__ import annotations

import hashlib
import json
import math
import threading
import time
import zlib
from collections.abc import Callable
from typing import Any

from django.core.cache import caches
from django.http import HttpRequest, HttpResponse
from redis.exceptions import RedisError

from core import metrics
from core.errors import RateLimited, error_body
from core.refusals import refused_connection_note

_JSON = "application/json"
ML_GROUP = "ml-endpoints"
DEFAULT_PER_MINUTE = 100
WINDOW_SECONDS = 60
# A user may spend at most this fraction (1/n) of the tenant's budget in a window: one user alone can never
# lock the others out, and a few together leave room for the rest.
USER_SHARE_DIVISOR = 4
# The URL prefixes of the endpoints in ML_GROUP, for the shedding middleware (which runs before URL routing).
ML_PATH_PREFIXES = ("/api/timesheet-intelligence/", "/api/intelligence/train")

# Tenant schema, or schema and credential for one user's share (`_credential_key`) -> (time.monotonic() until which
# this process refuses those ML requests, the refusal's text).
_spent_until: dict[str, tuple[float, str]] = {}
# How clients address a spent tenant (Host, X-Tenant), or a spent share (Host, X-Tenant, credential) -> the key
# in _spent_until, so the WSGI layer can refuse before Django.
_addresses: dict[tuple[str, ...], str] = {}
_spent_lock = threading.Lock()


def _address(meta: Any) -> tuple[str, str]:
    return str(meta.get("HTTP_HOST", "")), str(meta.get("HTTP_X_TENANT", ""))


def _credential(meta: Any) -> str:
    """A digest of what authenticates a request (token header, session cookie), readable before authentication.

    Hashed so the process's memory of refused users holds no usable credential.
    """
    raw = f"{meta.get('HTTP_AUTHORIZATION', '')}\n{meta.get('HTTP_COOKIE', '')}"
    return hashlib.blake2b(raw.encode(), digest_size=16).hexdigest()


def _credential_key(schema: str, credential: str) -> str:
    return f"{schema}\x1f{credential}"


# Past this many remembered addresses, the expired ones are dropped when another is added: each refused
# credential (a session cookie changes at every login) adds one, which would otherwise stay for good.
_ADDRESSES_PRUNED_ABOVE = 10_000


def _remember_spent(request: HttpRequest, key: str, retry_after: int, refusal_text: str, *credential: str) -> None:
    now = time.monotonic()
    with _spent_lock:
        _spent_until[key] = (now + retry_after, refusal_text)
        _addresses[(*_address(request.META), *credential)] = key
        if len(_addresses) > _ADDRESSES_PRUNED_ABOVE:
            for address, spent_key in list(_addresses.items()):
                entry = _spent_until.get(spent_key)
                if entry is None or entry[0] <= now:
                    del _addresses[address]
                    _spent_until.pop(spent_key, None)


def _still_spent(key: str) -> tuple[int, str] | None:
    """(seconds left, refusal text) while this process knows the budget (or share) is spent; None when it may spend."""
    entry = _spent_until.get(key)
    if entry is None:
        return None
    deadline, refusal_text = entry
    left = deadline - time.monotonic()
    if left <= 0:
        with _spent_lock:
            _spent_until.pop(key, None)
        return None
    return max(1, math.ceil(left)), refusal_text


def ratelimit_forget() -> None:
    """Forget which tenants this process saw over budget (tests; an operator never needs it: it expires)."""
    with _spent_lock:
        _spent_until.clear()
        _addresses.clear()
    with _lease_lock:
        _leases.clear()


def _refusal(refusal_text: str, retry_after: int) -> RateLimited:
    return RateLimited(f"{refusal_text}; retry in {retry_after} s.", retry_after=retry_after)


def _tenant_refusal_text(limit: int) -> str:
    return f"This tenant's ML endpoints allow {limit} requests a minute"


def _share_refusal_text(limit: int, share: int) -> str:
    return f"Each user may make {share} of this tenant's {limit} ML requests a minute"


def user_share(limit: int) -> int:
    """How many of a tenant's `limit` ML requests a minute one user may make."""
    return max(1, limit // USER_SHARE_DIVISOR)


def _tenant_schema(request: HttpRequest) -> str:
    tenant = getattr(request, "tenant", None)
    return str(getattr(tenant, "schema_name", "public"))


def _per_minute(request: HttpRequest) -> int:
    tenant = getattr(request, "tenant", None)
    return int(getattr(tenant, "ml_rate_limit_per_minute", None) or DEFAULT_PER_MINUTE)


# A process takes its tenant's budget from Redis in slices, so a busy tenant costs one round trip a slice rather
# than one a request. A slice is 1/LEASE_DIVISOR of the limit, at most LEASE_MAX and at least one: a tenant on the
# default budget takes one unit at a time and is counted exactly; one allowed 20,000 a minute takes 50 at a time.
# Units a process took but had not spent when the window ended (under a slice per process) are what other
# processes may have refused early.
LEASE_DIVISOR = 200
LEASE_MAX = 50

# Takes up to a slice (ARGV[1]) from the tenant's window counter (KEYS[1], limit ARGV[3]) and, when a user's share
# is counted (ARGV[4] > 0), from the user's counter (KEYS[2]) too; a new counter gets its expiry (ARGV[2]).
# Returns the units granted, 0 when the user's share is spent, -1 when the tenant's budget is. A refused request
# adds nothing, so a user flooding past their share never spends the tenant's budget.
_TAKE = """
local size, limit, share = tonumber(ARGV[1]), tonumber(ARGV[3]), tonumber(ARGV[4])
local room = limit - tonumber(redis.call('GET', KEYS[1]) or '0')
if room <= 0 then return -1 end
if share > 0 then
  local left = share - tonumber(redis.call('GET', KEYS[2]) or '0')
  if left <= 0 then return 0 end
  room = math.min(room, left)
end
local granted = math.min(size, room)
for i = 1, (share > 0) and 2 or 1 do
  redis.call('INCRBY', KEYS[i], granted)
  if redis.call('TTL', KEYS[i]) < 0 then redis.call('EXPIRE', KEYS[i], ARGV[2]) end
end
return granted
"""
_take_script: Any = None  # registered once; each call names the client it runs on
TENANT_SPENT = -1
SHARE_SPENT = 0

# Tenant schema, or schema and user id -> (window, units this process has taken and not yet spent).
_leases: dict[str, tuple[int, int]] = {}
_lease_lock = threading.Lock()


def _window_position(schema: str, now: float) -> tuple[int, float]:
    """(index of the tenant's current window, seconds left in it).

    Each tenant's windows are offset by a hash of its schema, so refused tenants do not all come back at the
    same second of the minute.
    """
    shifted = now + zlib.crc32(schema.encode()) % WINDOW_SECONDS
    return int(shifted // WINDOW_SECONDS), WINDOW_SECONDS - shifted % WINDOW_SECONDS


def _lease_size(limit: int) -> int:
    return max(1, min(LEASE_MAX, limit // LEASE_DIVISOR))


def _spend_leased(lease: str, window: int) -> bool:
    """One unit of a slice this process already holds for the window; False when it holds none."""
    with _lease_lock:
        held = _leases.get(lease)
        if held is None or held[0] != window or held[1] <= 0:
            return False
        _leases[lease] = (window, held[1] - 1)
        return True


# (user id, the user's share) when a user's share is counted along with the tenant's budget.
Share = tuple[str, int]


def _take(schema: str, window: int, size: int, limit: int, share: Share | None = None) -> int | None:
    """Units granted (up to `size`), SHARE_SPENT or TENANT_SPENT; None when Redis is unreachable."""
    global _take_script
    cache: Any = caches["ratelimit"]  # django-redis: its client is the raw redis-py one
    # The schema in braces is the keys' hash tag: both counters live on one Redis Cluster node, as a script needs.
    key = cache.make_key(f"{ML_GROUP}:{{{schema}}}:{window}")
    keys = [key] if share is None else [key, cache.make_key(f"{ML_GROUP}:{{{schema}}}:{window}:{share[0]}")]
    try:
        client = cache.client.get_client(write=True)
        script = _take_script = _take_script or client.register_script(_TAKE)
        args = [size, WINDOW_SECONDS + 1, limit, 0 if share is None else share[1]]
        return int(script(keys=keys, args=args, client=client))
    except (RedisError, OSError):
        return None


def _admitted(schema: str, window: int, limit: int, share: Share | None = None) -> bool | None:
    """True when one more request fits the tenant's budget (and the user's share) in this window; False when the
    tenant's budget is spent, None when only the user's share is. True when Redis is down: the limiter fails open.
    """
    lease = schema if share is None else f"{schema}:{share[0]}"
    if _spend_leased(lease, window):
        return True
    size = _lease_size(limit if share is None else min(limit, share[1]))
    granted = _take(schema, window, size, limit, share)
    if granted is None:
        return True  # fail open: serve without a limit rather than refuse
    if granted == TENANT_SPENT:
        return False
    if granted == SHARE_SPENT:
        return None
    with _lease_lock:
        _leases[lease] = (window, granted - 1)  # this request spends the first unit
    return True


def ml_rate_limit(request: HttpRequest) -> None:
    """Count one request against the tenant's ML budget and its user's share; RateLimited (429) once spent."""
    schema = _tenant_schema(request)
    window, seconds_left = _window_position(schema, time.time())
    limit = _per_minute(request)
    user_id = getattr(getattr(request, "user", None), "pk", None)
    share = None if user_id is None else (str(user_id), user_share(limit))
    admitted = _admitted(schema, window, limit, share)
    if admitted:
        return
    retry_after = max(1, math.ceil(seconds_left))
    if admitted is False or share is None:
        text = _tenant_refusal_text(limit)
        _remember_spent(request, schema, retry_after, text)
    else:
        text = _share_refusal_text(limit, share[1])
        credential = _credential(request.META)
        _remember_spent(request, _credential_key(schema, credential), retry_after, text, credential)
    metrics.ratelimit_rejected(scope=ML_GROUP)
    refused_connection_note(request.META)
    raise _refusal(text, retry_after)


class MlRateLimited:
    """Mixin for a DRF APIView: the tenant's ML budget is checked where DRF checks its throttles."""

    def check_throttles(self, request: Any) -> None:
        super().check_throttles(request)  # type: ignore[misc]
        ml_rate_limit(request)


def _shed(schema: str | None, path: str, environ: Any) -> tuple[bytes, int] | None:
    """(429 body, Retry-After) when `path` is an ML endpoint and this process knows `schema` is over budget.

    Counted as a rejection, its connection noted for a pause; the caller only has to send it.
    """
    if schema is None or not path.startswith(ML_PATH_PREFIXES):
        return None
    spent = _still_spent(schema)
    if spent is None:
        # A spent share is looked for only while this process knows of one: the read path pays no hashing.
        if len(_spent_until) == 0:
            return None
        spent = _still_spent(_credential_key(schema, _credential(environ)))
        if spent is None:
            return None
    retry_after, refusal_text = spent
    metrics.ratelimit_rejected(scope=ML_GROUP)
    refused_connection_note(environ)
    refusal = _refusal(refusal_text, retry_after)
    body = error_body(refusal.code, refusal.message, refusal.fields, **refusal.extra)
    return json.dumps(body).encode(), retry_after


class MlLoadSheddingMiddleware:
    """Refuses a tenant's ML requests at once while this process knows that tenant's budget is spent.

    For requests that reach Django (and the test client); in production `MlLoadSheddingWSGI` refuses most of a
    flood earlier still.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        shed = _shed(_tenant_schema(request), request.path, request.META)
        if shed is None:
            return self.get_response(request)
        body, retry_after = shed
        # The refusal that taught this process the budget was spent has been logged; the flood after it is
        # counted, not written line by line.
        request.log_line_suppressed = True  # type: ignore[attr-defined]
        response = HttpResponse(body, status=429, content_type=_JSON)
        response["Retry-After"] = str(retry_after)
        return response


class MlLoadSheddingWSGI:
    """The same refusal in front of Django: no request object, middleware, URL routing or database.

    A tenant is recognised by how its spent requests addressed it (Host and X-Tenant), a user by that and their
    credential, recorded when the limiter refused one; anything not recognised goes to Django as usual.
    """

    def __init__(self, application: Any) -> None:
        self.application = application

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        schema = None
        if _addresses:
            address = _address(environ)
            schema = _addresses.get(address)
            if schema is None:
                key = _addresses.get((*address, _credential(environ)))
                schema = None if key is None else key.split("\x1f", 1)[0]
        shed = _shed(schema, str(environ.get("PATH_INFO", "")), environ) if schema is not None else None
        if shed is None:
            return self.application(environ, start_response)
        body, retry_after = shed
        headers = [("Content-Type", _JSON), ("Content-Length", str(len(body))), ("Retry-After", str(retry_after))]
        start_response("429 Too Many Requests", headers)
        return [body]
