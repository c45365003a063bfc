"""Tenant leases: the only code that takes locks.

A lease is a Redis lock (`lock:tenant:<schema>:<name>`, redis-py `Lock` with a random token) renewed by its
holder between chunks of work, plus a fencing epoch in PostgreSQL incremented on every acquisition. Every
write transaction of the holder calls `lease_guard` first: it share-locks the epoch row and fails if a newer
holder has bumped it, so a holder whose lease silently expired (a paused process, a network split) cannot
write over its successor. Unique constraints remain the last line.
"""

from __future__ import annotations

import contextlib
import secrets
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, transaction
from django_redis import get_redis_connection
from redis.exceptions import LockError, RedisError

from core.errors import ApplicationError, Conflict
from core.schema import current_schema
from locks.models import FencingEpoch


class LeaseUnavailable(Conflict):
    code = "lock_held"


class LeaseLost(ApplicationError):
    """The lease expired or was taken over; the holder must stop."""

    status = 409
    code = "lease_lost"


class LockServiceDown(ApplicationError):
    status = 503
    code = "lock_service_unavailable"


@dataclass
class Lease:
    name: str
    schema: str
    epoch: int
    ttl_seconds: int
    token: str
    _lock: Any = field(repr=False)


def lease_key(*, schema: str, name: str) -> str:
    return f"lock:tenant:{schema}:{name}"


def _redis() -> Any:
    return get_redis_connection("default")


def _epoch_bump(name: str) -> int:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {FencingEpoch._meta.db_table} (name, epoch, updated_at) VALUES (%s, 1, now()) "  # noqa: S608
            "ON CONFLICT (name) DO UPDATE SET epoch = EXCLUDED.epoch + "
            f"{FencingEpoch._meta.db_table}.epoch, updated_at = now() RETURNING epoch",
            [name],
        )
        row = cursor.fetchone()
    assert row is not None
    return int(row[0])


def lease_acquire(*, name: str, ttl_seconds: int = 120) -> Lease:
    """Take the tenant's lease `name` or raise LeaseUnavailable; bumps the fencing epoch."""
    schema = current_schema()
    token = secrets.token_hex(16)
    try:
        lock = _redis().lock(lease_key(schema=schema, name=name), timeout=ttl_seconds, thread_local=False)
        acquired = lock.acquire(blocking=False, token=token)
    except RedisError as exc:
        raise LockServiceDown("The lock service (Redis) is unreachable.") from exc
    if not acquired:
        raise LeaseUnavailable(f"'{name}' is already running for this tenant.")
    return Lease(name=name, schema=schema, epoch=_epoch_bump(name), ttl_seconds=ttl_seconds, token=token, _lock=lock)


def lease_renew(lease: Lease) -> None:
    """Extend the lease to a full TTL again; LeaseLost if it is no longer ours."""
    try:
        lease._lock.reacquire()
    except (LockError, RedisError) as exc:
        raise LeaseLost(f"The '{lease.name}' lease was lost: {exc}") from exc


def lease_release(lease: Lease) -> None:
    # Expired or taken over already: nothing of ours to release.
    with contextlib.suppress(LockError, RedisError):
        lease._lock.release()


def lease_guard(lease: Lease) -> None:
    """Call inside each write transaction of the holder: refuses the write if a newer holder exists.

    FOR SHARE makes a concurrent acquisition (which updates the row) wait for this transaction, so the
    successor never starts writing while the stale holder's last transaction is still open.
    """
    if not connection.in_atomic_block:
        raise RuntimeError("lease_guard must run inside the write transaction it protects")
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT epoch FROM {FencingEpoch._meta.db_table} WHERE name = %s FOR SHARE",  # noqa: S608
            [lease.name],
        )
        row = cursor.fetchone()
    current = int(row[0]) if row else 0
    if current != lease.epoch:
        raise LeaseLost(f"Stale '{lease.name}' holder (epoch {lease.epoch}, current {current}); write refused.")
