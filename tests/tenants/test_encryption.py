"""Field encryption: AES-256-GCM under a per-tenant data key, bound to schema, table, column and row."""

from __future__ import annotations

import pytest

from tenants.crypto import (
    EncryptionError,
    FieldContext,
    blind_index,
    ciphertext_key_id,
    field_decrypt,
    field_encrypt,
    tenant_keys,
    tenant_keys_forget,
)
from tests.conftest import TenantHandle


def _context(handle: TenantHandle, **overrides: str) -> FieldContext:
    values = {
        "schema": handle.tenant.schema_name,
        "table": "employee",
        "column": "national_id",
        "row_id": "r-1",
    }
    values.update(overrides)
    return FieldContext(**values)


def test_it_round_trips_a_value(alpha: TenantHandle) -> None:
    token = field_encrypt("AB-123-456", _context(alpha))
    assert token.startswith("v1:")
    assert "AB-123-456" not in token
    assert ciphertext_key_id(token) == tenant_keys(alpha.tenant.schema_name).primary_key_id
    assert field_decrypt(token, _context(alpha)) == "AB-123-456"


def test_two_encryptions_of_one_value_differ(alpha: TenantHandle) -> None:
    assert field_encrypt("same", _context(alpha)) != field_encrypt("same", _context(alpha))


def test_it_rejects_tampered_ciphertext(alpha: TenantHandle) -> None:
    token = field_encrypt("AB-123-456", _context(alpha))
    flipped = token[:-3] + ("A" if token[-3] != "A" else "B") + token[-2:]
    with pytest.raises(EncryptionError):
        field_decrypt(flipped, _context(alpha))
    with pytest.raises(EncryptionError):
        field_decrypt("v2:" + token[3:], _context(alpha))


@pytest.mark.parametrize("moved_to", [{"row_id": "r-2"}, {"column": "bank_account"}, {"table": "project"}])
def test_it_rejects_ciphertext_copied_to_another_row_or_column(alpha: TenantHandle, moved_to: dict[str, str]) -> None:
    token = field_encrypt("AB-123-456", _context(alpha))
    with pytest.raises(EncryptionError):
        field_decrypt(token, _context(alpha, **moved_to))


def test_it_rejects_ciphertext_copied_to_another_tenant(alpha: TenantHandle, beta: TenantHandle) -> None:
    token = field_encrypt("AB-123-456", _context(alpha))
    with pytest.raises(EncryptionError):
        field_decrypt(token, _context(beta))


def test_two_tenants_have_different_data_keys(alpha: TenantHandle, beta: TenantHandle) -> None:
    alpha_keys = tenant_keys(alpha.tenant.schema_name)
    beta_keys = tenant_keys(beta.tenant.schema_name)
    assert alpha_keys.keys[alpha_keys.primary_key_id] != beta_keys.keys[beta_keys.primary_key_id]


def test_blind_indexes_match_within_a_tenant_and_differ_across_tenants(alpha: TenantHandle, beta: TenantHandle) -> None:
    a = blind_index("Jane@Example.com ", purpose="email", schema_name=alpha.tenant.schema_name)
    assert a == blind_index("jane@example.com", purpose="email", schema_name=alpha.tenant.schema_name)
    assert a != blind_index("jane@example.com", purpose="email", schema_name=beta.tenant.schema_name)
    assert a != blind_index("jane@example.com", purpose="national_id", schema_name=alpha.tenant.schema_name)


def test_data_keys_are_stored_only_wrapped_and_unwrap_with_the_master_key(alpha: TenantHandle, settings) -> None:
    from tenants.models import TenantDataKey

    row = TenantDataKey.objects.get(tenant=alpha.tenant, is_primary=True)
    plain = tenant_keys(alpha.tenant.schema_name).keys[row.key_id]
    assert plain not in bytes(row.wrapped_key)
    tenant_keys_forget(alpha.tenant.schema_name)
    settings.FIELD_ENCRYPTION_KEYS = ["other:" + "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUE="]
    try:
        with pytest.raises(EncryptionError):
            tenant_keys(alpha.tenant.schema_name)
    finally:
        tenant_keys_forget(alpha.tenant.schema_name)
