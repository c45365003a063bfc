"""Encrypted model fields, key rotation and re-encryption, and crypto-shredding on tenant deletion."""

from __future__ import annotations

import base64
import io
import os
import uuid
from decimal import Decimal
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django_tenants.utils import tenant_context

from tenants.crypto import EncryptionError, FieldContext, field_decrypt, field_encrypt, tenant_keys, tenant_keys_forget
from tenants.models import TenantDataKey
from tenants.services import tenant_create
from tests.conftest import TenantHandle
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
