"""The audit chain: serialized appends, tamper detection (edit, delete, reorder, rewrite), API and command."""

from __future__ import annotations

import io
import threading
import uuid
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, connections, transaction
from django.db.utils import DatabaseError
from django_tenants.utils import schema_context, tenant_context

from audit.models import AuditCheckpoint, AuditEvent
from audit.services import audit_append, audit_checkpoint, audit_verify, event_hash, event_payload
from tenants.services import tenant_create
from tests.conftest import PASSWORD, TenantHandle, make_user


@pytest.fixture
def fresh(alpha: TenantHandle) -> Any:
    """A tenant created inside the test transaction: its chain is ours to tamper with (rolled back after)."""
    tenant = tenant_create(
        slug="audited", name="Audited", domain="audited.localhost", admin_email="a@audited.test"
    ).tenant
    with tenant_context(tenant):
        with transaction.atomic():
            for n in range(5):
                audit_append(actor=None, action="thing.change", object_type="thing", object_id=n, data={"n": n})
        yield tenant


def _tamper(sql: str, params: list[Any] | None = None) -> None:
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE audit_auditevent DISABLE TRIGGER USER")
        cursor.execute(sql, params or [])
        cursor.execute("ALTER TABLE audit_auditevent ENABLE TRIGGER USER")


def test_a_fresh_chain_verifies(fresh: Any) -> None:
    result = audit_verify()
    assert result.ok
    assert result.events == 6  # the admin's creation at provisioning, then five changes
    assert result.head_sequence == 6


def test_it_names_an_edited_event(fresh: Any) -> None:
    _tamper("UPDATE audit_auditevent SET data = '{\"n\": 99}' WHERE sequence = 3")
    result = audit_verify()
    assert (result.ok, result.broken_sequence, result.reason) == (False, 3, "hash mismatch: event altered")


def test_it_names_a_deleted_event(fresh: Any) -> None:
    _tamper("DELETE FROM audit_auditevent WHERE sequence = 3")
    result = audit_verify()
    assert (result.ok, result.broken_sequence) == (False, 3)
    assert result.reason.startswith("gap")


def test_it_names_reordered_events(fresh: Any) -> None:
    _tamper(
        "UPDATE audit_auditevent AS a SET data = b.data, object_id = b.object_id FROM audit_auditevent AS b "
        "WHERE (a.sequence, b.sequence) IN ((3, 4), (4, 3))"
    )
    result = audit_verify()
    assert (result.ok, result.broken_sequence) == (False, 3)


def _rewrite_from(sequence: int) -> None:
    """What an attacker with the database's superuser does: edit an event, then re-hash every event after it
    so the chain is internally consistent again."""
    _tamper("UPDATE audit_auditevent SET data = '{\"n\": 99}' WHERE sequence = %s", [sequence])
    prev = AuditEvent.objects.get(sequence=sequence - 1).hash
    for event in AuditEvent.objects.filter(sequence__gte=sequence).order_by("sequence"):
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
        new_hash = event_hash(prev, payload)
        _tamper(
            "UPDATE audit_auditevent SET prev_hash = %s, hash = %s WHERE sequence = %s",
            [prev, new_hash, event.sequence],
        )
        prev = new_hash


def _append(count: int) -> None:
    with transaction.atomic():
        for n in range(count):
            audit_append(actor=None, action="thing.change", object_type="thing", object_id=n, data={"n": n})


def test_a_rewritten_and_rehashed_chain_is_caught_by_the_signed_checkpoint(fresh: Any) -> None:
    checkpoint = audit_checkpoint()
    assert checkpoint is not None
    assert checkpoint.sequence == 6
    _rewrite_from(3)
    result = audit_verify()
    assert (result.ok, result.broken_sequence, result.reason) == (
        False,
        6,
        "checkpoint mismatch: the chain was rewritten",
    )


def test_a_rewrite_is_named_at_the_first_signed_head_that_disagrees_in_the_function_command_and_api(
    fresh: Any,
) -> None:
    signed = []
    for _ in range(3):  # heads signed at #6, #8 and #10
        checkpoint = audit_checkpoint()
        assert checkpoint is not None
        signed.append(checkpoint.sequence)
        _append(2)
    assert signed == [6, 8, 10]
    _rewrite_from(7)

    result = audit_verify()
    assert (result.ok, result.broken_sequence, result.checkpoint_sequence) == (False, 8, 8)
    assert (
        result.reason == "checkpoint mismatch: the chain was rewritten after #6, the last signed head it still matches"
    )
    with pytest.raises(CommandError, match="broken at event #8: checkpoint mismatch"):
        call_command("verify_audit_chain", "--tenant=audited", stdout=io.StringIO())


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_auditcheckpoint SET hash = repeat('0', 64)",
        "DELETE FROM audit_auditcheckpoint",
        "TRUNCATE audit_auditcheckpoint",
    ],
)
def test_the_database_rejects_changes_to_the_signed_checkpoints(fresh: Any, statement: str) -> None:
    assert audit_checkpoint() is not None
    with schema_context("public"):
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement)
        assert AuditCheckpoint.objects.filter(schema_name=fresh.schema_name).count() == 1


def test_a_newly_provisioned_tenant_schema_carries_the_checkpoint_triggers(fresh: Any) -> None:
    # The table exists in every schema (rows only in public's); the cloned schema must refuse changes as well.
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO audit_auditcheckpoint (schema_name, sequence, hash, signature, signed_at) "
            "VALUES (%s, 1, repeat('0', 64), repeat('0', 64), now())",
            [fresh.schema_name],
        )
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_auditcheckpoint")


def test_deleting_the_checkpoints_to_hide_a_rewrite_is_refused_and_the_rewrite_is_caught(fresh: Any) -> None:
    assert audit_checkpoint() is not None
    with (
        schema_context("public"),
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("DELETE FROM audit_auditcheckpoint WHERE schema_name = %s", [fresh.schema_name])
    _rewrite_from(2)
    result = audit_verify()
    assert (result.ok, result.broken_sequence) == (False, 6)
    assert result.reason.startswith("checkpoint mismatch: the chain was rewritten")


def test_a_truncated_chain_is_caught_by_the_signed_checkpoint(fresh: Any) -> None:
    audit_checkpoint()
    _tamper("DELETE FROM audit_auditevent WHERE sequence >= 5")
    result = audit_verify()
    assert not result.ok
    assert result.reason.startswith("checkpoint mismatch: chain ends at 4")


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_auditevent SET action = 'x' WHERE sequence = 1",
        "DELETE FROM audit_auditevent WHERE sequence = 1",
        "TRUNCATE audit_auditevent",
    ],
)
def test_the_database_rejects_update_delete_and_truncate(fresh: Any, statement: str) -> None:
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(statement)


def test_provisioning_and_suspension_are_recorded_in_the_public_chain(fresh: Any) -> None:
    with schema_context("public"):
        actions = list(AuditEvent.objects.order_by("-sequence").values_list("action", "data__slug")[:1])
        assert actions == [("tenant.provision", "audited")]
        assert audit_verify().ok


def test_the_command_exits_non_zero_naming_the_first_broken_event(fresh: Any) -> None:
    out = io.StringIO()
    call_command("verify_audit_chain", "--tenant=audited", stdout=out)
    assert "intact, 6 events" in out.getvalue()
    _tamper("UPDATE audit_auditevent SET action = 'forged' WHERE sequence = 2")
    with pytest.raises(CommandError, match="broken at event #2: hash mismatch"):
        call_command("verify_audit_chain", "--tenant=audited", stdout=out)


def test_the_verify_and_events_api_for_staff_only(alpha: TenantHandle, beta: TenantHandle) -> None:
    make_user(alpha, "hr@alpha.test", "HR")
    make_user(alpha, "emp@alpha.test", "Employee")
    client = alpha.client()

    def issue(username: str) -> str:
        response = client.post(
            "/api/auth/token", {"username": username, "password": PASSWORD}, content_type="application/json"
        )
        return str(response.json()["token"])

    hr, employee = issue("hr@alpha.test"), issue("emp@alpha.test")
    verify = client.get("/api/audit/verify", HTTP_AUTHORIZATION=f"Token {hr}")
    assert verify.status_code == 200
    assert verify.json()["ok"] is True
    events = client.get("/api/audit/events?action=auth.token_issue", HTTP_AUTHORIZATION=f"Token {hr}")
    assert events.status_code == 200
    assert {e["action"] for e in events.json()["results"]} == {"auth.token_issue"}
    assert {e["actor_label"] for e in events.json()["results"]} >= {"hr@alpha.test", "emp@alpha.test"}
    bad = client.get("/api/audit/events?since=yesterday", HTTP_AUTHORIZATION=f"Token {hr}")
    assert bad.status_code == 400
    assert "since" in bad.json()["error"]["fields"]
    assert client.get("/api/audit/verify", HTTP_AUTHORIZATION=f"Token {employee}").status_code == 403
    assert beta.client().get("/api/audit/verify", HTTP_AUTHORIZATION=f"Token {hr}").status_code == 401


@pytest.mark.slow
def test_fifty_concurrent_appends_from_separate_connections_form_one_chain(
    tenants: dict[str, TenantHandle], django_db_blocker: Any
) -> None:
    handle = tenants["beta"]
    barrier = threading.Barrier(50)
    probe = f"probe-{uuid.uuid4().hex[:8]}"  # committed events stay (append-only): tell this run's apart
    errors: list[BaseException] = []

    def append(n: int) -> None:
        try:
            with django_db_blocker.unblock(), tenant_context(handle.tenant):
                barrier.wait(timeout=30)
                with transaction.atomic():
                    audit_append(actor=None, action="concurrency.probe", object_type=probe, object_id=n)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    with django_db_blocker.unblock(), tenant_context(handle.tenant):
        before = AuditEvent.objects.count()
        threads = [threading.Thread(target=append, args=(n,)) for n in range(50)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert errors == []
        result = audit_verify()
        assert result.ok, result
        assert result.events == before + 50
        assert sorted(AuditEvent.objects.filter(object_type=probe).values_list("object_id", flat=True)) == sorted(
            str(n) for n in range(50)
        )
    connections.close_all()
