"""Key rotation: re-wrap data keys under the active master key, issue new data keys, re-encrypt, retire.

Every step is idempotent and resumable: re-wrapping skips keys already under the active master key,
re-encryption only touches rows whose ciphertext or blind index is not yet under the tenant's primary data
key, and retiring removes only data keys no ciphertext or index refers to any more, once no transaction that
might still write under them is open. A new key set is published to every process (tenants.crypto
keyset_publish); re-encryption starts once they have all had time to see it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.apps import apps
from django.conf import settings
from django.db import connection, models, transaction
from django.db.models import Q
from django.utils import timezone
from django_tenants.utils import tenant_context

from tenants.crypto import (
    FORMAT_VERSION,
    INDEX_LENGTH,
    blind_index,
    data_key_unwrap,
    data_key_wrap,
    keyset_publish,
    master_key,
    master_keys,
    tenant_keys,
    tenant_keys_forget,
)
from tenants.fields import Ciphertext, EncryptedTextField
from tenants.models import Tenant, TenantDataKey
from tenants.services import data_key_create

BATCH = 1000
# Beyond the check interval: time for the publication to reach Redis and for a request that had just read
# the old key set to finish encrypting under it.
PROPAGATION_MARGIN_SECONDS = 1.0
RETIRE_WAIT_SECONDS = 60.0

Sleep = Callable[[float], None]


class RetirePostponed(Exception):
    """A transaction that may still write under an old data key is open: retiring now could lose its rows."""


@dataclass(frozen=True)
class BlindIndexColumn:
    attname: str  # the index column, `<source>_index`
    source: str  # the attribute it indexes (plain or encrypted)
    purpose: str


@dataclass(frozen=True)
class SealedModel:
    """A model with encrypted columns or blind indexes: what re-encryption rewrites and retiring checks."""

    model: type[models.Model]
    encrypted: list[EncryptedTextField]
    indexes: list[BlindIndexColumn]

    @property
    def columns(self) -> list[str]:
        return [field.attname for field in self.encrypted] + [index.attname for index in self.indexes]

    def under_key(self, key_id: str) -> Q:
        """Rows with any ciphertext or index made under this data key."""
        query = Q(pk__in=[])
        for field in self.encrypted:
            query |= Q(**{f"{field.attname}__startswith": Ciphertext(f"{FORMAT_VERSION}:{key_id}:")})
        for index in self.indexes:
            query |= Q(**{f"{index.attname}__startswith": f"{key_id}:"})
        return query

    def unattributed(self) -> Q:
        """Rows with an index that names no key (written before indexes carried one): made under some key."""
        query = Q(pk__in=[])
        for index in self.indexes:
            query |= Q(**{f"{index.attname}__isnull": False}) & ~Q(**{f"{index.attname}__contains": ":"})
        return query

    def stale(self, primary_key_id: str) -> Q:
        """Rows with a ciphertext or index not made under the primary data key (older keys, older formats)."""
        query = Q(pk__in=[])
        for field in self.encrypted:
            prefix = Ciphertext(f"{FORMAT_VERSION}:{primary_key_id}:")
            query |= Q(**{f"{field.attname}__isnull": False}) & ~Q(**{f"{field.attname}__startswith": prefix})
        for index in self.indexes:
            query |= Q(**{f"{index.attname}__isnull": False}) & ~Q(
                **{f"{index.attname}__startswith": f"{primary_key_id}:"}
            )
        return query


def sealed_models() -> list[SealedModel]:
    """Every installed model with encrypted fields or blind-index columns.

    A blind index is by convention the 64-character column `<field>_index` next to `<field>`, keyed with
    purpose `<field>` (the same convention tenant export and import follow).
    """
    found: list[SealedModel] = []
    for model in apps.get_models():
        fields = {field.name: field for field in model._meta.concrete_fields}
        encrypted = [field for field in fields.values() if isinstance(field, EncryptedTextField)]
        indexes = [
            BlindIndexColumn(
                attname=field.attname,
                source=fields[field.name[: -len("_index")]].attname,
                purpose=field.name[: -len("_index")],
            )
            for field in fields.values()
            if field.name.endswith("_index")
            and field.name[: -len("_index")] in fields
            and getattr(field, "max_length", 0) == INDEX_LENGTH
        ]
        if encrypted or indexes:
            found.append(SealedModel(model=model, encrypted=encrypted, indexes=indexes))
    return found


def data_keys_rewrap() -> int:
    """Re-wrap every data key not yet under the active (first) master key; returns how many."""
    active = master_keys()[0]
    rewrapped = 0
    with transaction.atomic():
        for key in TenantDataKey.objects.exclude(master_key_id=active.key_id).select_for_update():
            plain = data_key_unwrap(
                tenant_id=str(key.tenant_id),
                key_id=key.key_id,
                wrapped=bytes(key.wrapped_key),
                master=master_key(key.master_key_id),
            )
            key.wrapped_key = data_key_wrap(
                tenant_id=str(key.tenant_id), key_id=key.key_id, data_key=plain, master=active
            )
            key.master_key_id = active.key_id
            key.save(update_fields=["wrapped_key", "master_key_id"])
            rewrapped += 1
    tenant_keys_forget()
    return rewrapped


def data_key_rotate(*, tenant: Tenant) -> TenantDataKey:
    """Give the tenant a new primary data key and tell every process; old keys keep decrypting until retired."""
    with transaction.atomic():
        key = data_key_create(tenant=tenant)
    keyset_publish(tenant.schema_name)
    tenant_keys_forget(tenant.schema_name)
    return key


def _seconds_since_primary(tenant: Tenant) -> tuple[TenantDataKey, float]:
    primary = TenantDataKey.objects.get(tenant=tenant, is_primary=True)
    return primary, (timezone.now() - primary.created_at).total_seconds()


def _propagation_wait(tenant: Tenant, sleep: Sleep) -> None:
    """Wait until every process has seen the primary key, so none still encrypts under the previous one."""
    _, elapsed = _seconds_since_primary(tenant)
    remaining = settings.TENANT_KEYS_CHECK_SECONDS + PROPAGATION_MARGIN_SECONDS - elapsed
    if remaining > 0:
        sleep(remaining)


def _stale_page(sealed: SealedModel, primary_key_id: str, after: Any) -> list[models.Model]:
    """The next stale rows in primary-key order, locked until the caller's transaction ends: a concurrent edit
    of the same row waits instead of being overwritten with the value read here."""
    stale = sealed.model._default_manager.filter(sealed.stale(primary_key_id)).order_by("pk")
    if after is not None:
        stale = stale.filter(pk__gt=after)
    return list(stale.select_for_update()[:BATCH])


def _rewrite(sealed: SealedModel, rows: list[models.Model], schema_name: str) -> None:
    for row in rows:
        # Indexes first, from the plain values: sealing replaces them with ciphertext.
        for index in sealed.indexes:
            source = getattr(row, index.source)
            row.__dict__[index.attname] = (
                None if source is None else blind_index(str(source), purpose=index.purpose, schema_name=schema_name)
            )
        # Reading decrypts under the old key; bulk_update writes what seal() encrypted anew.
        for field in sealed.encrypted:
            value = getattr(row, field.attname)
            if value is not None:
                row.__dict__[field.attname] = field.seal(row, value)
    sealed.model._default_manager.bulk_update(rows, sealed.columns)


def fields_reencrypt(
    *, tenant: Tenant, progress: Callable[[str, int], None] | None = None, sleep: Sleep = time.sleep
) -> int:
    """Rewrite the tenant's ciphertexts and blind indexes under its primary data key, in batches.

    Returns the rows touched. Each row's index is recomputed from its (decrypted) source value in the same
    transaction that re-encrypts it, so after the pass exact lookups find every row under the new key.
    """
    touched = 0
    _propagation_wait(tenant, sleep)
    with tenant_context(tenant):
        tenant_keys_forget(tenant.schema_name)
        primary = tenant_keys(tenant.schema_name).primary_key_id
        for sealed in sealed_models():
            last_pk: Any = None
            while True:
                with transaction.atomic():
                    rows = _stale_page(sealed, primary, last_pk)
                    if not rows:
                        break
                    _rewrite(sealed, rows, tenant.schema_name)
                last_pk = rows[-1].pk
                touched += len(rows)
                if progress is not None:
                    progress(sealed.model._meta.label, len(rows))
    return touched


def _transactions_drain(*, begun_before: datetime, timeout: float, sleep: Sleep) -> bool:
    """Wait until no other session of this database has a transaction begun before `begun_before`.

    Returns whether they all ended within `timeout` seconds. The moment is passed to PostgreSQL as an age,
    so that a difference between this host's clock and the database's does not matter.
    """
    deadline = time.monotonic() + timeout
    while True:
        with connection.cursor() as cursor:
            # Inside a transaction PostgreSQL answers from a snapshot of the activity taken at first look.
            cursor.execute("SELECT pg_stat_clear_snapshot()")
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid() AND xact_start < clock_timestamp() - make_interval(secs => %s)",
                [(timezone.now() - begun_before).total_seconds()],
            )
            (open_transactions,) = cursor.fetchone()
        if open_transactions == 0:
            return True
        if time.monotonic() >= deadline:
            return False
        sleep(0.2)


def data_keys_retire(*, tenant: Tenant, timeout: float = RETIRE_WAIT_SECONDS, sleep: Sleep = time.sleep) -> list[str]:
    """Delete the tenant's non-primary data keys that no ciphertext or index refers to; returns their ids.

    A process may have encrypted under the previous primary key until it saw the new one. Those rows are
    visible only once their transaction commits, so keys are retired only after every transaction begun
    before the whole fleet saw the new primary has ended; RetirePostponed if one is still open after `timeout`.
    """
    if not TenantDataKey.objects.filter(tenant=tenant, is_primary=False).exists():
        return []
    propagation = settings.TENANT_KEYS_CHECK_SECONDS + PROPAGATION_MARGIN_SECONDS
    primary, elapsed = _seconds_since_primary(tenant)
    if elapsed < propagation:
        sleep(propagation - elapsed)
    seen_by_all = primary.created_at + timedelta(seconds=propagation)
    if not _transactions_drain(begun_before=seen_by_all, timeout=timeout, sleep=sleep):
        raise RetirePostponed(
            f"a transaction begun before every process saw data key {primary.key_id} is still open after "
            f"{timeout:.0f}s; run the command again later"
        )
    retired: list[str] = []
    with tenant_context(tenant):
        sealed = sealed_models()
        for key in TenantDataKey.objects.filter(tenant=tenant, is_primary=False):
            in_use = any(
                each.model._default_manager.filter(each.under_key(key.key_id) | each.unattributed()).exists()
                for each in sealed
            )
            if not in_use:
                key.delete()
                retired.append(key.key_id)
    if retired:
        keyset_publish(tenant.schema_name)
        tenant_keys_forget(tenant.schema_name)
    return retired
