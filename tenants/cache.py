"""Tenant-scoped cache with O(1) invalidation of a namespace or of a whole tenant.

Keys carry version counters (one per tenant, one per namespace): invalidating bumps a counter, so old
entries are simply never read again and expire on their own — no SCAN over Redis. The default cache
alias already prefixes every key with the current schema, so one tenant never reads another's entries.
When Redis is down every call degrades to a miss (django-redis IGNORE_EXCEPTIONS) and callers go to
PostgreSQL.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Literal

from django.core.cache import caches
from redis.exceptions import RedisError

from core import metrics
from core.replica import read_basis, reader_last_write

DEFAULT_TIMEOUT = 300
_TENANT_VERSION_KEY = "tcv::all"


def _cache() -> Any:
    return caches["default"]


def _namespace_version_key(namespace: str) -> str:
    return f"tcv:{namespace}"


def _versioned_key(namespace: str, key: str) -> str:
    version_keys = [_TENANT_VERSION_KEY, _namespace_version_key(namespace)]
    versions = _cache().get_many(version_keys) or {}
    tenant_version = versions.get(_TENANT_VERSION_KEY, 0)
    namespace_version = versions.get(version_keys[1], 0)
    return f"tc:{namespace}:{tenant_version}.{namespace_version}:{key}"


# Both version counters and the entry they point at, in one round trip instead of two.
_GET_VERSIONED = """
local tenant_version = redis.call('GET', KEYS[1]) or '0'
local namespace_version = redis.call('GET', KEYS[2]) or '0'
return redis.call('GET', ARGV[1] .. tenant_version .. '.' .. namespace_version .. ARGV[2])
"""
_script: Any = None  # registered once; each call names the client it runs on


def _get_in_one_round_trip(namespace: str, key: str) -> Any | None:
    global _script
    cache = _cache()
    client = cache.client.get_client(write=False)
    script = _script = _script or client.register_script(_GET_VERSIONED)
    # make_key puts the key last ("<schema>:<prefix>:<version>:<key>"), so the versions are spliced in.
    head = cache.make_key(f"tc:{namespace}:")
    version_keys = [cache.make_key(_TENANT_VERSION_KEY), cache.make_key(_namespace_version_key(namespace))]
    raw = script(keys=version_keys, args=[head, f":{key}"], client=client)
    return None if raw is None else cache.client.decode(raw)


def tenant_cache_get(*, namespace: str, key: str) -> Any | None:
    try:
        value = _get_in_one_round_trip(namespace, key)
    except (RedisError, OSError):
        value = None  # Redis down: a miss, as for every other cache call
    metrics.tenant_cache_read(namespace=namespace, hit=value is not None)
    return value


def tenant_cache_set(*, namespace: str, key: str, value: Any, timeout: int = DEFAULT_TIMEOUT) -> None:
    _cache().set(_versioned_key(namespace, key), value, timeout)


def tenant_cache_add(*, namespace: str, key: str, value: Any, timeout: int = DEFAULT_TIMEOUT) -> bool:
    """Store only if absent (atomic in Redis); True when this call stored it. Redis down: False."""
    return bool(_cache().add(_versioned_key(namespace, key), value, timeout))


# How long a caller that found an entry past its freshness has to rebuild it before another one may.
REBUILD_CLAIM_SECONDS = 30


@dataclass(frozen=True)
class FreshRead:
    """An entry stored with `tenant_cache_set_fresh`, and what the reader should do with it.

    state: "hit" (fresh: serve it), "stale" (past its freshness while another caller rebuilds it: serve it),
    "miss" (absent, past its freshness and this caller has claimed the rebuild, or built from data older than
    this reader's own last write: compute and store it).
    """

    value: Any | None
    state: Literal["hit", "stale", "miss"]


def tenant_cache_get_fresh(*, namespace: str, key: str) -> FreshRead:
    """Read an entry with a freshness; past it, exactly one caller is told to rebuild while the rest keep the
    entry they had, so an expiry under load costs one rebuild instead of one per reader."""
    cached = tenant_cache_get(namespace=namespace, key=key)
    if not (isinstance(cached, tuple) and len(cached) == 3):
        return FreshRead(None, "miss")
    fresh_until, basis, value = cached
    last_write = reader_last_write()
    if last_write is not None and basis < last_write:
        # Built from the replica, or from the primary before this reader's write: it may not hold that write,
        # which read-your-writes promises them. They rebuild it from the primary (no claim: others keep theirs).
        return FreshRead(None, "miss")
    if time.time() < fresh_until:
        return FreshRead(value, "hit")
    claimed = tenant_cache_add(namespace=namespace, key=f"{key}:rebuild", value=1, timeout=REBUILD_CLAIM_SECONDS)
    return FreshRead(value, "miss" if claimed else "stale")


def tenant_cache_set_fresh(*, namespace: str, key: str, value: Any, fresh_seconds: int) -> None:
    """Store `value` fresh for `fresh_seconds`, kept as long again for the readers of a rebuild; frees the claim.

    The entry keeps the read basis of the block that built it (core.replica.read_basis), so a reader who wrote
    after it is not served it.
    """
    cache, versioned = _cache(), _versioned_key(namespace, key)
    cache.set(versioned, (time.time() + fresh_seconds, read_basis(), value), 2 * fresh_seconds)
    cache.delete(f"{versioned}:rebuild")


def _bump(version_key: str) -> None:
    cache = _cache()
    # add() is a no-op when the counter exists; incr() is atomic in Redis.
    cache.add(version_key, 0, timeout=None)
    try:
        cache.incr(version_key)
    except ValueError:
        cache.set(version_key, 1, timeout=None)


def tenant_cache_invalidate(*, namespace: str | None = None) -> None:
    """Forget a namespace of the current tenant, or every namespace of it when none is named."""
    _bump(_TENANT_VERSION_KEY if namespace is None else _namespace_version_key(namespace))
