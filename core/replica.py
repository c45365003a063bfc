"""Read replica routing: read-only endpoints read from `DATABASE_REPLICA_URL`, everything else from the primary.

A view opts in with `@reads_from_replica` (or `ReplicaReadMixin` for DRF views). Inside such a request the
router sends reads to the "replica" alias unless
- no replica is configured, or it failed to answer recently (then reads stay on the primary, with a warning),
- this user wrote something within `READ_YOUR_WRITES_SECONDS` (their own writes may not have replicated yet).
Writes always go to the primary. The replica connection follows the tenant of the primary connection
(django-tenants calls `replica_follow_tenant` through EXTRA_SET_TENANT_METHOD_PATH).

A cache of pages built by such reads must not undo the second rule: `read_basis()` tells how fresh the data of
the current block is and `reader_last_write()` when its reader last wrote. tenants/cache.py stores the first with
each fresh entry and does not serve an entry to a reader whose write is newer than its basis.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, TypeVar

from django.conf import settings
from django.core.cache import caches
from django.db import DatabaseError, connections

from core.ttlcache import TtlCache

logger = logging.getLogger(__name__)

REPLICA = "replica"
_use_replica: ContextVar[bool] = ContextVar("use_replica", default=False)


@dataclass(frozen=True)
class _ReadState:
    began: float  # wall clock when the block began
    replica: bool
    last_write: float | None  # wall clock of the reader's last write, inside the read-your-writes window


_read_state: ContextVar[_ReadState | None] = ContextVar("read_state", default=None)
# Holds a key while the replica is known not to answer: reads stay on the primary until it expires.
_unhealthy: TtlCache[str, bool] = TtlCache("replica-health", maxsize=1, ttl=lambda: settings.REPLICA_RETRY_SECONDS)

F = TypeVar("F", bound=Callable[..., Any])


def replica_configured() -> bool:
    return REPLICA in connections.settings


def replica_follow_tenant(connection: Any, tenant: Any) -> None:
    """EXTRA_SET_TENANT_METHOD: when the primary connection switches tenant, the replica follows."""
    if connection.alias != "default" or not replica_configured():
        return
    replica: Any = connections[REPLICA]
    replica.set_tenant(tenant)


def _replica_healthy() -> bool:
    if _unhealthy.get(REPLICA):
        return False
    try:
        connections[REPLICA].ensure_connection()
        return True
    except DatabaseError as exc:
        _unhealthy.put(REPLICA, True)
        logger.warning("read replica unreachable, reading from the primary: %s", exc)
        return False


def _recent_writer_key(schema: str, user_id: Any) -> str:
    return f"ryw:{schema}:{user_id}"


def note_write(*, schema: str, user_id: Any) -> None:
    """Pin this user's reads to the primary for the read-your-writes window; the marker holds when they wrote."""
    caches["shared"].set(_recent_writer_key(schema, user_id), time.time(), settings.READ_YOUR_WRITES_SECONDS)


def last_write_at(*, schema: str, user_id: Any) -> float | None:
    """When this user last wrote (wall clock), if within the read-your-writes window."""
    marker = caches["shared"].get(_recent_writer_key(schema, user_id))
    return None if marker is None else float(marker)


def wrote_recently(*, schema: str, user_id: Any) -> bool:
    return last_write_at(schema=schema, user_id=user_id) is not None


@contextmanager
def replica_reads(*, schema: str, user_id: Any) -> Iterator[bool]:
    """Route reads in this block to the replica when that is safe; yields whether it will."""
    began = time.time()
    last_write = last_write_at(schema=schema, user_id=user_id) if user_id is not None and replica_configured() else None
    use = replica_configured() and last_write is None and _replica_healthy()
    token = _use_replica.set(use)
    state_token = _read_state.set(_ReadState(began=began, replica=use, last_write=last_write))
    try:
        yield use
    finally:
        _read_state.reset(state_token)
        _use_replica.reset(token)


def read_basis() -> float:
    """Every write committed before this wall-clock time is visible to the reads of the current block.

    On the primary that is when the block began. On the replica nothing is promised (it may lag by any amount),
    and outside a `replica_reads` block the caller's reads are not known, so both answer 0.0. Comparing it with
    a write noted by another web host assumes their clocks agree (NTP); a replica read never depends on that.
    """
    state = _read_state.get()
    return 0.0 if state is None or state.replica else state.began


def reader_last_write() -> float | None:
    """When the reader of the current `replica_reads` block last wrote, within the read-your-writes window."""
    state = _read_state.get()
    return None if state is None else state.last_write


def reads_from_replica(view: F) -> F:
    """Decorate a read-only view (function or DRF handler method taking `request`)."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        request = next(a for a in args if hasattr(a, "method"))
        user = getattr(request, "user", None)
        user_id = getattr(user, "pk", None) if getattr(user, "is_authenticated", False) else None
        tenant = getattr(request, "tenant", None)
        schema = tenant.schema_name if tenant is not None else "public"
        with replica_reads(schema=schema, user_id=user_id):
            return view(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


class ReadYourWritesMiddleware:
    """After a successful write request, keep that user's reads on the primary for a short window."""

    _SAFE = frozenset({"GET", "HEAD", "OPTIONS"})

    def __init__(self, get_response: Callable[[Any], Any]) -> None:
        self.get_response = get_response

    def __call__(self, request: Any) -> Any:
        response = self.get_response(request)
        if request.method not in self._SAFE and response.status_code < 400 and replica_configured():
            user = getattr(request, "user", None)
            tenant = getattr(request, "tenant", None)
            if tenant is not None and getattr(user, "is_authenticated", False):
                note_write(schema=tenant.schema_name, user_id=user.pk)  # type: ignore[union-attr]
        return response


class ReplicaRouter:
    """Reads go to the replica only inside `replica_reads`; nothing is ever migrated on the replica."""

    def db_for_read(self, model: Any, **hints: Any) -> str | None:
        return REPLICA if _use_replica.get() else None

    def db_for_write(self, model: Any, **hints: Any) -> str | None:
        return None

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool | None:
        return True

    def allow_migrate(self, db: str, app_label: str, model_name: str | None = None, **hints: Any) -> bool | None:
        return False if db == REPLICA else None
