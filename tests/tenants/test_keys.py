"""Encrypted model fields, key rotation and re-encryption, and crypto-shredding on tenant deletion."""

from __future__ import annotations

import base64
import io
import os
import time
import uuid
from decimal import Decimal
from typing import Any

import psycopg
import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.core.management import CommandError, call_command
from django.db import connection
from django_tenants.utils import tenant_context

from jira_sync.services.directories import AuthorDirectory
from tenants.crypto import (
    EncryptionError,
    FieldContext,
    ciphertext_key_id,
    data_key_unwrap,
    field_decrypt,
    field_encrypt,
    keyset_publish,
    master_key,
    tenant_keys,
    tenant_keys_forget,
)
from tenants.keys import RetirePostponed, data_keys_retire
from tenants.models import TenantDataKey
from tenants.services import data_key_create, tenant_create
from tests.conftest import TenantHandle, make_user, token_for
from tests.support.private_services import session_database_url
from timesheets.models import Employee


def _employee(name: str = "Jane Roe", **pii: Any) -> Employee:
    values = {"national_id": "NI-123456", "bank_account": "DE89370400440532013000", "salary": Decimal("5123.45")}
    values.update(pii)
    return Employee.objects.create(
        name=name, email=f"{uuid.uuid4().hex[:8]}@x.test", email_index=uuid.uuid4().hex, **values
    )


def _raw(employee: Employee, column: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM timesheets_employee WHERE id = %s", [employee.id])
        return str(cursor.fetchone()[0])


def _reload(employee: Employee) -> Employee:
    return Employee.objects.get(id=employee.id)


def test_encrypted_fields_round_trip_and_are_not_stored_in_clear(alpha: TenantHandle) -> None:
    with tenant_context(alpha.tenant):
        employee = _employee()
        stored = _reload(employee)
        assert (stored.national_id, stored.bank_account, stored.salary) == (
            "NI-123456",
            "DE89370400440532013000",
            Decimal("5123.45"),
        )
        for column, plain in (("national_id", "NI-123456"), ("bank_account", "DE8937"), ("salary", "5123")):
            raw = _raw(employee, column)
            assert raw.startswith("v1:")
            assert plain not in raw


def test_a_ciphertext_copied_to_another_row_does_not_decrypt(alpha: TenantHandle) -> None:
    with tenant_context(alpha.tenant):
        victim, other = _employee("Victim"), _employee("Other", national_id="NI-999")
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE timesheets_employee SET national_id = %s WHERE id = %s", [_raw(victim, "national_id"), other.id]
            )
        with pytest.raises(EncryptionError):
            _ = _reload(other).national_id


def _new_master_key(settings: Any, key_id: str) -> None:
    settings.FIELD_ENCRYPTION_KEYS = [
        f"{key_id}:{base64.b64encode(os.urandom(32)).decode()}",
        *settings.FIELD_ENCRYPTION_KEYS,
    ]
    tenant_keys_forget()


def test_rewrapping_under_a_new_master_key_keeps_every_field_readable(alpha: TenantHandle, settings: Any) -> None:
    with tenant_context(alpha.tenant):
        employee = _employee()
    _new_master_key(settings, "m2")
    out = io.StringIO()
    call_command("rotate_encryption_keys", stdout=out)
    assert set(TenantDataKey.objects.values_list("master_key_id", flat=True)) == {"m2"}
    settings.FIELD_ENCRYPTION_KEYS = settings.FIELD_ENCRYPTION_KEYS[:1]  # the old master key is gone
    tenant_keys_forget()
    with tenant_context(alpha.tenant):
        assert _reload(employee).national_id == "NI-123456"


def test_reencryption_leaves_no_ciphertext_under_the_old_data_key(alpha: TenantHandle) -> None:
    with tenant_context(alpha.tenant):
        employees = [_employee(f"E{n}", national_id=f"NI-{n}") for n in range(5)]
        old_key = tenant_keys(alpha.tenant.schema_name).primary_key_id
    out = io.StringIO()
    call_command("rotate_encryption_keys", "--tenant=alpha", "--new-data-keys", "--reencrypt", "--retire", stdout=out)
    with tenant_context(alpha.tenant):
        new_key = tenant_keys(alpha.tenant.schema_name).primary_key_id
        assert new_key != old_key
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM timesheets_employee WHERE national_id LIKE %s OR bank_account LIKE %s "
                "OR salary LIKE %s",
                [f"v1:{old_key}:%"] * 3,
            )
            assert cursor.fetchone()[0] == 0
        assert [_reload(e).national_id for e in employees] == [f"NI-{n}" for n in range(5)]
    assert f"retired data keys {old_key}" in out.getvalue()
    assert not TenantDataKey.objects.filter(tenant=alpha.tenant, key_id=old_key).exists()


def test_no_nonce_repeats_in_100000_encryptions(alpha: TenantHandle) -> None:
    context = FieldContext(schema=alpha.tenant.schema_name, table="t", column="c", row_id="r")
    nonces = set()
    for _ in range(100_000):
        payload = field_encrypt("x", context).split(":", 2)[2]
        nonces.add(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))[:12])
    assert len(nonces) == 100_000


def test_after_delete_tenant_a_restored_copy_of_its_rows_cannot_be_decrypted(alpha: TenantHandle) -> None:
    tenant = tenant_create(slug="doomed", name="Doomed", domain="doomed.localhost", admin_email="a@doomed.test").tenant
    with tenant_context(tenant):
        employee = _employee()
        backup = {column: _raw(employee, column) for column in ("national_id", "bank_account", "salary")}
        context = FieldContext(
            schema=tenant.schema_name, table="timesheets_employee", column="national_id", row_id=str(employee.id)
        )
        assert field_decrypt(backup["national_id"], context) == "NI-123456"
    call_command("delete_tenant", "--slug=doomed", "--yes", stdout=io.StringIO())
    tenant_keys_forget()
    with pytest.raises(EncryptionError):
        field_decrypt(backup["national_id"], context)
    # Restore the backed-up row into a tenant re-created under the same name: still unreadable.
    again = tenant_create(slug="doomed", name="Doomed", domain="doomed.localhost", admin_email="a@doomed.test").tenant
    with tenant_context(again), connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO timesheets_employee (id, name, email, jira_account_id, active, weekly_hours, national_id, "
            "bank_account, salary, email_index, created_at, updated_at) "
            "VALUES (%s, 'Jane Roe', 'j@x.test', '', true, 40, %s, %s, %s, 'restored', now(), now())",
            [employee.id, backup["national_id"], backup["bank_account"], backup["salary"]],
        )
        with pytest.raises(EncryptionError):
            _ = _reload(employee).national_id


def test_delete_tenant_asks_for_confirmation_without_yes(alpha: TenantHandle) -> None:
    with pytest.raises(CommandError, match="--yes"):
        call_command("delete_tenant", "--slug=alpha", stdout=io.StringIO())
    assert TenantDataKey.objects.filter(tenant=alpha.tenant).exists()


# Rotation under a running product ---------------------------------------------------------------------------


def _hr(handle: TenantHandle) -> dict[str, Any]:
    user = make_user(handle, f"hr-{uuid.uuid4().hex[:6]}@{handle.tenant.slug}.test", "HR")
    return {"HTTP_AUTHORIZATION": f"Token {token_for(handle, user)}"}


def _create(handle: TenantHandle, auth: dict[str, Any], **body: Any) -> Any:
    return handle.client().post("/api/employees", body, content_type="application/json", **auth)


def _by_email(handle: TenantHandle, auth: dict[str, Any], email: str) -> list[str]:
    response = handle.client().get("/api/employees", {"email": email}, **auth)
    assert response.status_code == 200, response.content
    return [row["email"] for row in response.json()["results"]]


PEOPLE = [
    {"name": "Ada Lovelace", "email": "ada@alpha.test", "national_id": "NI-100001", "salary": "6100.00"},
    {"name": "Grace Hopper", "email": "Grace.Hopper@alpha.test", "national_id": "NI-100002", "salary": "6200.00"},
    {"name": "Alan Turing", "email": "alan@alpha.test", "national_id": "NI-100003", "salary": "6300.00"},
]


def _rotate(*flags: str) -> str:
    out = io.StringIO()
    call_command("rotate_encryption_keys", "--tenant=alpha", *flags, stdout=out, stderr=out)
    return out.getvalue()


@pytest.fixture
def fast_propagation(settings: Any) -> None:
    # No other process holds keys in these tests: the re-encryption pass need not wait for a fleet.
    settings.TENANT_KEYS_CHECK_SECONDS = 0


def test_exact_lookups_and_duplicate_checks_work_after_a_data_key_rotation_and_retire(
    alpha: TenantHandle, fast_propagation: None
) -> None:
    auth = _hr(alpha)
    for person in PEOPLE:
        assert _create(alpha, auth, **person).status_code == 201
    out = _rotate("--new-data-keys", "--reencrypt", "--retire")
    assert "retired data keys k1" in out, out
    for person in PEOPLE:
        assert _by_email(alpha, auth, person["email"].upper()) == [person["email"]]
    again = _create(alpha, auth, name="Ada Again", email="ADA@alpha.test")
    assert again.status_code == 400, again.content
    assert "email" in again.json()["error"]["fields"]
    same_id = _create(alpha, auth, name="Someone", email="someone@alpha.test", national_id="NI-100002")
    assert same_id.status_code == 400, same_id.content
    assert "national_id" in same_id.json()["error"]["fields"]
    with tenant_context(alpha.tenant):
        ada = Employee.objects.get(email="ada@alpha.test")
        assert AuthorDirectory().resolve(None, "ada@alpha.test") == ada.id
        assert (ada.national_id, ada.salary) == ("NI-100001", Decimal("6100.00"))


def test_lookups_and_duplicate_checks_hold_between_a_new_data_key_and_the_end_of_reencryption(
    alpha: TenantHandle, fast_propagation: None
) -> None:
    auth = _hr(alpha)
    for person in PEOPLE:
        assert _create(alpha, auth, **person).status_code == 201
    _rotate("--new-data-keys")  # re-encryption has not run yet: every index is still under k1
    assert _by_email(alpha, auth, "ada@alpha.test") == ["ada@alpha.test"]
    assert _create(alpha, auth, name="Ada Again", email="ada@alpha.test").status_code == 400
    assert _create(alpha, auth, name="X", email="x@alpha.test", national_id="NI-100003").status_code == 400
    with tenant_context(alpha.tenant):
        assert AuthorDirectory().resolve(None, "alan@alpha.test") is not None


def test_reencryption_rewrites_every_blind_index_under_the_new_key_and_is_resumable(
    alpha: TenantHandle, fast_propagation: None
) -> None:
    auth = _hr(alpha)
    for person in PEOPLE:
        assert _create(alpha, auth, **person).status_code == 201
    _rotate("--new-data-keys", "--reencrypt")
    with tenant_context(alpha.tenant):
        indexes = list(Employee.objects.values_list("email_index", "national_id_index"))
    assert len(indexes) == 3
    assert {(email[:3], str(national)[:3]) for email, national in indexes} == {("k2:", "k2:")}, indexes
    assert "0 rows re-encrypted" in _rotate("--reencrypt")  # nothing left to do


def test_a_second_rotation_after_a_retire_issues_a_fresh_key(alpha: TenantHandle, fast_propagation: None) -> None:
    auth = _hr(alpha)
    assert _create(alpha, auth, **PEOPLE[0]).status_code == 201
    first = _rotate("--new-data-keys", "--reencrypt", "--retire")
    second = _rotate("--new-data-keys", "--reencrypt", "--retire")
    assert "new primary data key k2" in first, first
    assert "retired data keys k1" in first, first
    assert "new primary data key k3" in second, second
    assert "retired data keys k2" in second, second
    assert list(TenantDataKey.objects.filter(tenant=alpha.tenant).values_list("key_id", flat=True)) == ["k3"]
    assert _by_email(alpha, auth, "ada@alpha.test") == ["ada@alpha.test"]


def test_a_ciphertext_under_a_key_this_process_has_not_seen_is_read_from_the_database(alpha: TenantHandle) -> None:
    schema = alpha.tenant.schema_name
    context = FieldContext(schema=schema, table="t", column="c", row_id="r")
    tenant_keys(schema)  # this process now holds k1 and trusts it for the check interval
    data_key_create(tenant=alpha.tenant)  # another process rotates: k2 becomes primary
    token = _encrypt_as_another_process(alpha, "secret")
    assert ciphertext_key_id(token) == "k2"
    assert field_decrypt(token, context) == "secret"


def _encrypt_as_another_process(handle: TenantHandle, plain: str) -> str:
    """Encrypt with keys read from the database now, leaving this process's copy of the keys as it was."""
    key = TenantDataKey.objects.get(tenant=handle.tenant, is_primary=True)
    data_key = data_key_unwrap(
        tenant_id=str(handle.tenant.id),
        key_id=key.key_id,
        wrapped=bytes(key.wrapped_key),
        master=master_key(key.master_key_id),
    )
    context = FieldContext(schema=handle.tenant.schema_name, table="t", column="c", row_id="r")
    nonce = os.urandom(12)
    sealed = AESGCM(data_key).encrypt(nonce, plain.encode(), context.aad(key.key_id))
    payload = base64.urlsafe_b64encode(nonce + sealed).decode().rstrip("=")
    return f"v1:{key.key_id}:{payload}"


def test_a_process_stops_encrypting_under_a_replaced_key_once_its_check_interval_ends(
    alpha: TenantHandle, settings: Any
) -> None:
    settings.TENANT_KEYS_CHECK_SECONDS = 1
    schema = alpha.tenant.schema_name
    context = FieldContext(schema=schema, table="t", column="c", row_id="r")
    assert ciphertext_key_id(field_encrypt("x", context)) == "k1"
    data_key_create(tenant=alpha.tenant)  # another process rotates and tells everyone through Redis
    keyset_publish(schema)
    assert ciphertext_key_id(field_encrypt("x", context)) == "k1"  # within the interval: the documented window
    time.sleep(1.1)  # the check interval of this process's copy runs out
    assert ciphertext_key_id(field_encrypt("x", context)) == "k2"


def test_retiring_waits_for_a_transaction_begun_before_every_process_saw_the_new_key(
    alpha: TenantHandle, fast_propagation: None
) -> None:
    # Another process's transaction, open since before the rotation: it may still commit rows under k1.
    with psycopg.connect(session_database_url(), autocommit=False) as other:
        other.execute("SELECT 1")
        _rotate("--new-data-keys", "--reencrypt")
        with pytest.raises(RetirePostponed):
            data_keys_retire(tenant=alpha.tenant, timeout=0.5)
        assert "no data key retired" in _rotate("--retire", "--retire-wait=0.5")
        other.rollback()
    assert data_keys_retire(tenant=alpha.tenant) == ["k1"]
