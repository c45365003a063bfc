"""AES-256-GCM envelope encryption: master keys from the environment wrap one data key per tenant.

Field ciphertext is ``v1:<data key id>:<base64url(nonce | ciphertext | tag)>``. The associated data binds
it to schema, table, column and row, so a ciphertext copied to another row, column or tenant fails to
decrypt instead of revealing another record's value.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django_redis import get_redis_connection
from redis.exceptions import RedisError

from core.schema import current_schema
from core.ttlcache import TtlCache

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
    version: str  # which key set this is: the tenant, its key ids and its primary (see keyset_publish)


def _check_seconds() -> float:
    return float(settings.TENANT_KEYS_CHECK_SECONDS)


# schema -> its unwrapped data keys. A key never changes under its id, so entries only leave to make room or
# when the key set's version in Redis says the set changed (a new primary, a retired key).
_keys: TtlCache[str, TenantKeys] = TtlCache("tenant-keys", maxsize=10_000, ttl=None)
# schema -> True while this process trusts its copy without asking Redis: the bound on how long a process
# may go on encrypting under a primary key that another process has replaced.
_checked: TtlCache[str, bool] = TtlCache("tenant-keys-checked", maxsize=10_000, ttl=_check_seconds)


VERSION_SECONDS = 7 * 24 * 3600  # republished by any process that finds it missing


def _version_key(schema_name: str) -> str:
    return f"{settings.CACHE_KEY_PREFIX}:tenant-keys:{schema_name}"


def _version_shared(schema_name: str) -> str | None:
    """The key set's version as published in Redis; None when absent or Redis does not answer."""
    try:
        raw = get_redis_connection("shared").get(_version_key(schema_name))
    except RedisError:
        return None
    return None if raw is None else bytes(raw).decode()


def _version_offer(schema_name: str, version: str) -> None:
    """Publish the version just read from the database unless someone already did (a rotation wins)."""
    with contextlib.suppress(RedisError):
        get_redis_connection("shared").set(_version_key(schema_name), version, nx=True, ex=VERSION_SECONDS)


def tenant_keys_forget(schema_name: str | None = None) -> None:
    """Drop unwrapped data keys from this process (all of them when no schema is named)."""
    if schema_name is None:
        _keys.clear()
        _checked.clear()
    else:
        _keys.pop(schema_name)
        _checked.pop(schema_name)


def _tenant_keys_load(schema_name: str) -> TenantKeys:
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
    primary = primary or rows[0][1]
    version = f"{rows[0][0]}|{','.join(sorted(keys))}|{primary}"
    return TenantKeys(primary_key_id=primary, keys=keys, version=version)


def tenant_keys(schema_name: str, *, refresh: bool = False) -> TenantKeys:
    """The unwrapped data keys of a tenant, as every process will see them within TENANT_KEYS_CHECK_SECONDS.

    A process keeps its copy, asks Redis for the key set's version once per check interval, and reads the
    database again only when that version differs (or Redis does not know it). `refresh` reads the database
    now: a ciphertext names a key this process has not seen yet.
    """
    cached = _keys.get(schema_name)
    if cached is not None and not refresh and _checked.get(schema_name):
        return cached
    shared = _version_shared(schema_name)
    if cached is not None and not refresh and shared == cached.version:
        _checked.put(schema_name, True)
        return cached
    loaded = _tenant_keys_load(schema_name)
    if shared is None:
        _version_offer(schema_name, loaded.version)
    _keys.put(schema_name, loaded)
    _checked.put(schema_name, True)
    return loaded


def keyset_publish(schema_name: str, *, quiet: bool = False) -> str:
    """Tell every process that the tenant's key set changed; call after the change has committed.

    Raises when Redis cannot be written (unless `quiet`): a rotation nobody hears of leaves processes
    encrypting under a replaced key until they read the database for another reason. This process's own
    copy is left alone.
    """
    try:
        version = _tenant_keys_load(schema_name).version
    except EncryptionError:
        version = "none"  # every key destroyed (crypto-shredded): nobody may keep a copy
    try:
        get_redis_connection("shared").set(_version_key(schema_name), version, ex=VERSION_SECONDS)
    except RedisError:
        if not quiet:
            raise
    return version


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
    data_key = tenant_keys(context.schema).keys.get(key_id)
    if data_key is None:
        # Written under a key issued since this process last looked (another process rotated): read again.
        data_key = tenant_keys(context.schema, refresh=True).keys.get(key_id)
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


INDEX_LENGTH = 64  # the width of a blind-index column


def _digest(data_key: bytes, value: str, purpose: str) -> str:
    index_key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=f"blind-index|{purpose}".encode()).derive(
        data_key
    )
    return hmac.new(index_key, value.strip().lower().encode(), hashlib.sha256).hexdigest()


def _blind_index_under(key_id: str, data_key: bytes, value: str, purpose: str) -> str:
    return f"{key_id}:{_digest(data_key, value, purpose)}"[:INDEX_LENGTH]


def blind_index(value: str, *, purpose: str, schema_name: str | None = None) -> str:
    """Keyed hash for exact-match lookup of an encrypted value, without revealing it: `<data key id>:<hmac>`.

    The key is derived from the tenant's primary data key, so two tenants index the same value differently;
    the key id in front lets re-encryption find (and recompute) indexes made under an older data key.
    """
    keys = tenant_keys(schema_name or current_schema())
    return _blind_index_under(keys.primary_key_id, keys.keys[keys.primary_key_id], value, purpose)


def blind_index_candidates(value: str, *, purpose: str, schema_name: str | None = None) -> list[str]:
    """Every index the value may be stored under: one per live data key, the primary's first.

    During a data-key rotation, rows not yet re-indexed still carry the index under the previous key; a
    lookup or a duplicate check that compares with all of them neither misses nor lets a duplicate in.
    Indexes written before they carried a key id (a bare 64-digit hash) match too, until re-encryption
    rewrites them.
    """
    keys = tenant_keys(schema_name or current_schema())
    order = [keys.primary_key_id, *sorted(k for k in keys.keys if k != keys.primary_key_id)]
    digests = [(key_id, _digest(keys.keys[key_id], value, purpose)) for key_id in order]
    return [f"{key_id}:{digest}"[:INDEX_LENGTH] for key_id, digest in digests] + [digest for _, digest in digests]
