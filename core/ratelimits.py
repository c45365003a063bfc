"""Rate-limit policy of the ML endpoints: one budget per tenant, its size the tenant's own setting.

Generation, suggestion review (pending, accept, reject) and training share one budget keyed by the tenant's
schema, at `Tenant.ml_rate_limit_per_minute` requests a minute (default 100), counted in fixed one-minute
windows in Redis. A process takes units of the budget in slices (one script call adds the slice to the window's
counter and sets its expiry): one unit at a time for ordinary budgets, so they are counted exactly, and up to
LEASE_MAX at a time for very large ones, so a busy tenant does not cost a Redis round trip per request. Over
the limit the view raises `RateLimited`, which the API's error handler renders as 429 JSON with `Retry-After`
(the seconds left in the window).

Redis down (the `ratelimit` cache unreachable): the limiter fails open, so requests are served without a
limit rather than refused; the cache's short socket timeouts bound the delay this adds to each request.

A refusal must cost far less than the work it refuses, or a flooding tenant still takes the web workers
from everyone else. So once a process has seen a tenant's budget spent, it remembers until when, and
`MlLoadSheddingMiddleware` (right after tenant resolution) answers that tenant's ML requests with the 429
before authentication, Redis or the view run.
"""

from __future__ import annotations

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
# The URL prefixes of the endpoints in ML_GROUP, for the shedding middleware (which runs before URL routing).
ML_PATH_PREFIXES = ("/api/timesheet-intelligence/", "/api/intelligence/train")

# Tenant schema -> (time.monotonic() until which this process refuses its ML requests, the limit's text).
_spent_until: dict[str, tuple[float, str]] = {}
# How clients address a spent tenant (Host, X-Tenant) -> its schema, so the WSGI layer can refuse before Django.
_addresses: dict[tuple[str, str], str] = {}
_spent_lock = threading.Lock()


def _address(meta: Any) -> tuple[str, str]:
    return str(meta.get("HTTP_HOST", "")), str(meta.get("HTTP_X_TENANT", ""))


def _remember_spent(request: HttpRequest, schema: str, retry_after: int, limit_text: str) -> None:
    with _spent_lock:
        _spent_until[schema] = (time.monotonic() + retry_after, limit_text)
        _addresses[_address(request.META)] = schema


def _still_spent(schema: str) -> tuple[int, str] | None:
    """(seconds left, limit) while this process knows the tenant's budget is spent; None when it may spend."""
    entry = _spent_until.get(schema)
    if entry is None:
        return None
    deadline, limit_text = entry
    left = deadline - time.monotonic()
    if left <= 0:
        with _spent_lock:
            _spent_until.pop(schema, None)
        return None
    return max(1, math.ceil(left)), limit_text


def ratelimit_forget() -> None:
    """Forget which tenants this process saw over budget (tests; an operator never needs it: it expires)."""
    with _spent_lock:
        _spent_until.clear()
        _addresses.clear()
    with _lease_lock:
        _leases.clear()


def _refusal(limit_text: str, retry_after: int) -> RateLimited:
    return RateLimited(
        f"This tenant's ML endpoints allow {limit_text} requests a minute; retry in {retry_after} s.",
        retry_after=retry_after,
    )


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

# The window's counter, advanced by a slice; the expiry set when the window's counter is new.
_TAKE = """
local count = redis.call('INCRBY', KEYS[1], ARGV[1])
if redis.call('TTL', KEYS[1]) < 0 then redis.call('EXPIRE', KEYS[1], ARGV[2]) end
return count
"""
_take_script: Any = None  # registered once; each call names the client it runs on

# Tenant schema -> (window, units this process has taken and not yet spent).
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


def _spend_leased(schema: str, window: int) -> bool:
    """One unit of a slice this process already holds for the window; False when it holds none."""
    with _lease_lock:
        held = _leases.get(schema)
        if held is None or held[0] != window or held[1] <= 0:
            return False
        _leases[schema] = (window, held[1] - 1)
        return True


def _take(schema: str, window: int, size: int) -> int | None:
    """The window's count after taking `size` units, or None when Redis is unreachable."""
    global _take_script
    cache: Any = caches["ratelimit"]  # django-redis: its client is the raw redis-py one
    key = cache.make_key(f"{ML_GROUP}:{schema}:{window}")
    try:
        client = cache.client.get_client(write=True)
        script = _take_script = _take_script or client.register_script(_TAKE)
        return int(script(keys=[key], args=[size, WINDOW_SECONDS + 1], client=client))
    except (RedisError, OSError):
        return None


def _admitted(schema: str, window: int, limit: int) -> bool:
    """Whether one more request fits the tenant's budget in this window (True when Redis is down: fail open)."""
    if _spend_leased(schema, window):
        return True
    size = _lease_size(limit)
    count = _take(schema, window, size)
    if count is None:
        return True  # fail open: serve without a limit rather than refuse
    granted = min(size, limit - (count - size))
    if granted <= 0:
        return False
    with _lease_lock:
        _leases[schema] = (window, granted - 1)  # this request spends the first unit
    return True


def ml_rate_limit(request: HttpRequest) -> None:
    """Count one request against the tenant's ML budget; RateLimited (429) once it is spent."""
    schema = _tenant_schema(request)
    window, seconds_left = _window_position(schema, time.time())
    limit = _per_minute(request)
    if _admitted(schema, window, limit):
        return
    retry_after = max(1, math.ceil(seconds_left))
    _remember_spent(request, schema, retry_after, str(limit))
    metrics.ratelimit_rejected(scope=ML_GROUP)
    refused_connection_note(request.META)
    raise _refusal(str(limit), retry_after)


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
        return None
    retry_after, limit_text = spent
    metrics.ratelimit_rejected(scope=ML_GROUP)
    refused_connection_note(environ)
    refusal = _refusal(limit_text, retry_after)
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

    A tenant is recognised by how its spent requests addressed it (Host and X-Tenant), recorded when the
    limiter refused one; anything not recognised goes to Django as usual.
    """

    def __init__(self, application: Any) -> None:
        self.application = application

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        schema = _addresses.get(_address(environ)) if _addresses else None
        shed = _shed(schema, str(environ.get("PATH_INFO", "")), environ) if schema is not None else None
        if shed is None:
            return self.application(environ, start_response)
        body, retry_after = shed
        headers = [("Content-Type", _JSON), ("Content-Length", str(len(body))), ("Retry-After", str(retry_after))]
        start_response("429 Too Many Requests", headers)
        return [body]
