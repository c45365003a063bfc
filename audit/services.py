"""Appending to the audit chain, verifying it, and signing its head into the public schema.

hash(n) = SHA-256(hash(n-1) || canonical JSON of event n). Appends take a transaction-level advisory
lock keyed by the schema, so concurrent writers queue up and the chain cannot fork; the sequence number
is assigned under that lock. Callers append inside the same transaction as the change they record.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeAlias

from django.conf import settings
from django.contrib.auth.models import User
from django.db import connection, transaction
from django.utils import timezone
from django_tenants.utils import schema_context

from audit.models import AuditCheckpoint, AuditEvent
from core.schema import current_schema

if TYPE_CHECKING:
    from django.contrib.auth.base_user import AbstractBaseUser
    from django.contrib.auth.models import AnonymousUser

GENESIS = "0" * 64


@dataclass(frozen=True)
class Actor:
    """Who did it: a user (by session or API token), or the system / a background job."""

    kind: str
    id: str = ""
    label: str = ""


SYSTEM = Actor(kind="system", label="system")

# What a service's `actor=` accepts: an Actor (the system, a job, a token), the acting user, or None (the system).
ActorLike: TypeAlias = "Actor | AbstractBaseUser | AnonymousUser | None"


def acting_user(actor: ActorLike) -> User | None:
    """The user behind an actor, for the columns that record who decided (None for the system or a job)."""
    return actor if isinstance(actor, User) and actor.is_authenticated else None


def actor_of(actor: ActorLike) -> Actor:
    """Normalise what services receive as `actor` (an Actor, a user, or None) into an Actor."""
    if isinstance(actor, Actor):
        return actor
    if actor is None or not getattr(actor, "is_authenticated", False):
        return SYSTEM
    return Actor(kind="user", id=str(actor.pk), label=actor.get_username())


def _canonical(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str).encode()


def event_payload(
    *,
    sequence: int,
    occurred_at: datetime,
    actor_type: str,
    actor_id: str,
    actor_label: str,
    action: str,
    object_type: str,
    object_id: str,
    data: dict[str, Any],
) -> dict[str, Any]:
    return {
        "sequence": sequence,
        "occurred_at": occurred_at.astimezone(UTC).isoformat(timespec="microseconds"),
        "actor_type": actor_type,
        "actor_id": actor_id,
        "actor_label": actor_label,
        "action": action,
        "object_type": object_type,
        "object_id": object_id,
        "data": data,
    }


def event_hash(prev_hash: str, payload: dict[str, Any]) -> str:
    return hashlib.sha256(prev_hash.encode() + _canonical(payload)).hexdigest()


def _chain_lock() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", [f"audit-chain:{current_schema()}"])


def audit_append(
    *,
    actor: ActorLike,
    action: str,
    object_type: str,
    object_id: Any = "",
    data: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one event to the current schema's chain; must run inside the transaction of the change."""
    if not connection.in_atomic_block:
        raise RuntimeError("audit_append must run inside the transaction of the change it records")
    who = actor_of(actor)
    _chain_lock()
    head = AuditEvent.objects.order_by("-sequence").values_list("sequence", "hash").first()
    sequence, prev_hash = (head[0] + 1, head[1]) if head else (1, GENESIS)
    occurred_at = timezone.now()
    fields = {
        "actor_type": who.kind,
        "actor_id": who.id,
        "actor_label": who.label[:200],
        "action": action,
        "object_type": object_type,
        "object_id": str(object_id)[:64],
        "data": json.loads(_canonical(data or {})),
    }
    payload = event_payload(sequence=sequence, occurred_at=occurred_at, **fields)
    return AuditEvent.objects.create(
        sequence=sequence, occurred_at=occurred_at, prev_hash=prev_hash, hash=event_hash(prev_hash, payload), **fields
    )


@dataclass(frozen=True)
class VerifyResult:
    schema: str
    ok: bool
    events: int
    head_sequence: int
    broken_sequence: int | None = None
    reason: str = ""
    checkpoint_sequence: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "schema": self.schema,
            "ok": self.ok,
            "events": self.events,
            "head_sequence": self.head_sequence,
            "broken_sequence": self.broken_sequence,
            "reason": self.reason,
            "checkpoint_sequence": self.checkpoint_sequence,
        }


def _events() -> Iterator[AuditEvent]:
    return AuditEvent.objects.order_by("sequence").iterator(chunk_size=2000)


def checkpoint_signature(*, schema: str, sequence: int, head_hash: str) -> str:
    key = settings.AUDIT_CHECKPOINT_KEY.encode()
    return hmac.new(key, f"{schema}|{sequence}|{head_hash}".encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class _Signed:
    sequence: int
    hash: str
    signature: str

    def genuine(self, schema: str) -> bool:
        expected = checkpoint_signature(schema=schema, sequence=self.sequence, head_hash=self.hash)
        return hmac.compare_digest(self.signature, expected)


def _checkpoints(schema: str, *, batch: int = 2000) -> Iterator[_Signed]:
    """The schema's signed heads, oldest first, read from the public schema a batch at a time."""
    after = 0
    while True:
        with schema_context("public"):
            rows = list(
                AuditCheckpoint.objects.filter(schema_name=schema, sequence__gt=after)
                .order_by("sequence")
                .values_list("sequence", "hash", "signature")[:batch]
            )
        yield from (_Signed(*row) for row in rows)
        if len(rows) < batch:
            return
        after = rows[-1][0]


def audit_verify() -> VerifyResult:
    """Walk the current schema's chain against its own hashes and every signed checkpoint of it; name the first
    event that is broken or disagrees with what was signed, and why.

    The checkpoints are append-only like the chain, so a chain rewritten and re-hashed end to end (which takes
    the triggers off) still disagrees with the heads signed before the rewrite, and the first of those names
    where it went wrong.
    """
    schema = current_schema()
    signed = _checkpoints(schema)
    pending = next(signed, None)
    agreed: int | None = None  # the last signed head the chain still matches
    latest: int | None = None
    expected_sequence, prev_hash, count = 1, GENESIS, 0

    def broken(sequence: int, reason: str, checkpoint: int | None = None) -> VerifyResult:
        return VerifyResult(schema, False, count, expected_sequence - 1, sequence, reason, checkpoint)

    for event in _events():
        count += 1
        if event.sequence != expected_sequence:
            return VerifyResult(
                schema, False, count, event.sequence, expected_sequence, f"gap: event {expected_sequence} is missing"
            )
        if event.prev_hash != prev_hash:
            return VerifyResult(schema, False, count, event.sequence, event.sequence, "prev_hash does not match")
        payload = event_payload(
            sequence=event.sequence,
            occurred_at=event.occurred_at,
            actor_type=event.actor_type,
            actor_id=event.actor_id,
            actor_label=event.actor_label,
            action=event.action,
            object_type=event.object_type,
            object_id=event.object_id,
            data=event.data,
        )
        if event_hash(prev_hash, payload) != event.hash:
            return VerifyResult(schema, False, count, event.sequence, event.sequence, "hash mismatch: event altered")
        prev_hash, expected_sequence = event.hash, event.sequence + 1
        while pending is not None and pending.sequence <= event.sequence:
            latest = pending.sequence
            if not pending.genuine(schema):
                return broken(pending.sequence, "checkpoint mismatch: bad signature", pending.sequence)
            if pending.hash != event.hash:
                since = f" after #{agreed}, the last signed head it still matches" if agreed is not None else ""
                return broken(event.sequence, f"checkpoint mismatch: the chain was rewritten{since}", pending.sequence)
            agreed = pending.sequence
            pending = next(signed, None)
    head = expected_sequence - 1
    if pending is not None:
        # Signed heads beyond the chain's end: events were cut off its tail. The newest one is reported.
        rest = deque(signed, maxlen=1)
        tail = rest[0] if rest else pending
        if not tail.genuine(schema):
            return broken(tail.sequence, "checkpoint mismatch: bad signature", tail.sequence)
        return broken(
            tail.sequence,
            f"checkpoint mismatch: chain ends at {head}, before the signed head {tail.sequence}",
            tail.sequence,
        )
    return VerifyResult(schema, True, count, head, checkpoint_sequence=latest)


def audit_checkpoint() -> AuditCheckpoint | None:
    """Sign the current schema's chain head into the public schema (nothing to sign on an empty chain)."""
    schema = current_schema()
    head = AuditEvent.objects.order_by("-sequence").values_list("sequence", "hash").first()
    if head is None:
        return None
    sequence, head_hash = head
    with schema_context("public"), transaction.atomic():
        latest = AuditCheckpoint.objects.filter(schema_name=schema).order_by("-sequence").first()
        if latest is not None and latest.sequence == sequence:
            return latest
        return AuditCheckpoint.objects.create(
            schema_name=schema,
            sequence=sequence,
            hash=head_hash,
            signature=checkpoint_signature(schema=schema, sequence=sequence, head_hash=head_hash),
        )
