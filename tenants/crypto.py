"""AES-256-GCM envelope encryption: master keys from the environment wrap one data key per tenant.

Field ciphertext is ``v1:<data key id>:<base64url(nonce | ciphertext | tag)>``. The associated data binds
it to schema, table, column and row, so a ciphertext copied to another row, column or tenant fails to
decrypt instead of revealing another record's value.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
import threading
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

from core.schema import current_schema

FORMAT_VERSION = "v1"
NONCE_BYTES = 12
KEY_BYTES = 32


class EncryptionError(Exception):
    """A value could not be encrypted or decrypted (wrong key, tampered data, wrong row)."""


@dataclass(frozen=True)
class MasterKey:
    key_id: str
    key: bytes


def master_keys() -> list[MasterKey]:
    """Master keys from FIELD_ENCRYPTION_KEYS; the first wraps new data keys."""
    keys: list[MasterKey] = []
    for entry in settings.FIELD_ENCRYPTION_KEYS:
        key_id, _, encoded = entry.partition(":")
        raw = base64.b64decode(encoded)
        if not key_id or len(raw) != KEY_BYTES:
            raise EncryptionError(f"FIELD_ENCRYPTION_KEYS entry {key_id!r} must be 'id:base64(32 bytes)'")
        keys.append(MasterKey(key_id=key_id, key=raw))
    if not keys:
        raise EncryptionError("FIELD_ENCRYPTION_KEYS is empty")
    return keys


def master_key(key_id: str) -> MasterKey:
    for key in master_keys():
        if key.key_id == key_id:
            return key
    raise EncryptionError(f"master key {key_id!r} is not configured")


def _wrap_aad(tenant_id: str, key_id: str) -> bytes:
    return f"hrms-data-key|{tenant_id}|{key_id}".encode()


def data_key_wrap(*, tenant_id: str, key_id: str, data_key: bytes, master: MasterKey) -> bytes:
    nonce = os.urandom(NONCE_BYTES)
    return nonce + AESGCM(master.key).encrypt(nonce, data_key, _wrap_aad(tenant_id, key_id))


def data_key_unwrap(*, tenant_id: str, key_id: str, wrapped: bytes, master: MasterKey) -> bytes:
    try:
        return AESGCM(master.key).decrypt(wrapped[:NONCE_BYTES], wrapped[NONCE_BYTES:], _wrap_aad(tenant_id, key_id))
    except InvalidTag as exc:
        raise EncryptionError(f"data key {key_id} of tenant {tenant_id} does not unwrap") from exc


def data_key_generate() -> bytes:
    return secrets.token_bytes(KEY_BYTES)


@dataclass(frozen=True)
class TenantKeys:
    primary_key_id: str
    keys: dict[str, bytes]


_keys_by_schema: dict[str, TenantKeys] = {}
_keys_lock = threading.Lock()


def tenant_keys_forget(schema_name: str | None = None) -> None:
    """Drop unwrapped data keys from this process (all of them when no schema is named)."""
    with _keys_lock:
        if schema_name is None:
            _keys_by_schema.clear()
        else:
            _keys_by_schema.pop(schema_name, None)


def tenant_keys(schema_name: str) -> TenantKeys:
    """The unwrapped data keys of a tenant, loaded once per process."""
    cached = _keys_by_schema.get(schema_name)
    if cached is not None:
        return cached
    from tenants.models import TenantDataKey

    rows = list(
        TenantDataKey.objects.filter(tenant__schema_name=schema_name).values_list(
            "tenant_id", "key_id", "master_key_id", "wrapped_key", "is_primary"
        )
    )
    if not rows:
        raise EncryptionError(f"tenant schema {schema_name!r} has no data key")
    keys: dict[str, bytes] = {}
    primary = ""
    for tenant_id, key_id, master_key_id, wrapped, is_primary in rows:
        keys[key_id] = data_key_unwrap(
            tenant_id=str(tenant_id), key_id=key_id, wrapped=bytes(wrapped), master=master_key(master_key_id)
        )
        if is_primary:
            primary = key_id
    loaded = TenantKeys(primary_key_id=primary or rows[0][1], keys=keys)
    with _keys_lock:
        _keys_by_schema[schema_name] = loaded
    return loaded


@dataclass(frozen=True)
class FieldContext:
    """Where a value lives; bound into the ciphertext as associated data."""

    schema: str
    table: str
    column: str
    row_id: str

    def aad(self, key_id: str) -> bytes:
        return f"{FORMAT_VERSION}|{self.schema}|{self.table}|{self.column}|{self.row_id}|{key_id}".encode()


def _b64encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def field_encrypt(plaintext: str, context: FieldContext) -> str:
    keys = tenant_keys(context.schema)
    key_id = keys.primary_key_id
    nonce = os.urandom(NONCE_BYTES)
    sealed = AESGCM(keys.keys[key_id]).encrypt(nonce, plaintext.encode(), context.aad(key_id))
    return f"{FORMAT_VERSION}:{key_id}:{_b64encode(nonce + sealed)}"


def ciphertext_key_id(token: str) -> str:
    _, key_id, _ = _split(token)
    return key_id


def _split(token: str) -> tuple[str, str, str]:
    parts = token.split(":", 2)
    if len(parts) != 3 or parts[0] != FORMAT_VERSION:
        raise EncryptionError("not a recognised ciphertext")
    return parts[0], parts[1], parts[2]


def field_decrypt(token: str, context: FieldContext) -> str:
    _, key_id, payload = _split(token)
    keys = tenant_keys(context.schema)
    data_key = keys.keys.get(key_id)
    if data_key is None:
        raise EncryptionError(f"data key {key_id!r} is not available for {context.schema}")
    try:
        raw = _b64decode(payload)
        plain = AESGCM(data_key).decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], context.aad(key_id))
    except (InvalidTag, ValueError) as exc:
        raise EncryptionError(
            f"ciphertext does not authenticate for {context.table}.{context.column} row {context.row_id}"
        ) from exc
    return plain.decode()


def blind_index(value: str, *, purpose: str, schema_name: str | None = None) -> str:
    """Keyed hash for exact-match lookup of an encrypted value, without revealing it.

    The key is derived from the tenant's primary data key, so two tenants index the same value differently.
    """
    schema = schema_name or current_schema()
    keys = tenant_keys(schema)
    index_key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=f"blind-index|{purpose}".encode()).derive(
        keys.keys[keys.primary_key_id]
    )
    normalized = value.strip().lower()
    return hmac.new(index_key, normalized.encode(), hashlib.sha256).hexdigest()
