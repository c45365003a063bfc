"""The tenant's credential generation: bumped when a login's credentials change, read by every process.

Processes remember a token's user for a while (accounts/authentication.py). A deactivation, a role change, a
token revocation or a password reset bumps a per-schema counter in Redis; each process re-reads that counter
at most every `AUTH_REVOCATION_CHECK_SECONDS` (default 0.5 s) and drops what it remembered under an older
generation, so such a change takes effect in every process within that time plus a round trip. When Redis
cannot be read, the cached users are not trusted at all and every request reads the database.
"""

from __future__ import annotations

from django.conf import settings
from django.core.cache import caches
from django.db import transaction
from django_tenants.utils import schema_context

from core.schema import current_schema
from core.ttlcache import TtlCache

_KEY = "auth:generation"


def _check_seconds() -> float:
    return float(getattr(settings, "AUTH_REVOCATION_CHECK_SECONDS", 0.5))


# schema -> the generation read from Redis (None: Redis could not be read).
_seen: TtlCache[str, int] = TtlCache("auth-generation", maxsize=10_000, ttl=_check_seconds)
_MISSING = -1


def credentials_generation() -> int | None:
    """The current schema's generation (0 before the first change), or None when Redis cannot be read."""
    schema = current_schema()
    cached = _seen.get(schema)
    if cached is not None:
        return cached
    try:
        value = caches["default"].get(_KEY, _MISSING)
    except Exception:
        return None
    if value is None:
        return None  # django-redis answers None when Redis is down (IGNORE_EXCEPTIONS)
    generation = 0 if value == _MISSING else int(value)
    _seen.put(schema, generation)
    return generation


def _bump(schema: str) -> None:
    cache = caches["default"]
    with schema_context(schema):  # the cache key carries the schema it is made in
        try:
            cache.add(_KEY, 0, timeout=None)
            cache.incr(_KEY)
        except ValueError:  # the key vanished between add and incr (flushed): start again
            cache.set(_KEY, 1, timeout=None)
    _seen.pop(schema)


def credentials_changed() -> None:
    """Call inside the transaction of the change: every process forgets remembered logins once it commits."""
    schema = current_schema()
    transaction.on_commit(lambda: _bump(schema))
