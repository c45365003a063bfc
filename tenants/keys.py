"""Key rotation: re-wrap data keys under the active master key, issue new data keys, re-encrypt, retire.

Every step is idempotent and resumable: re-wrapping skips keys already under the active master key,
re-encryption only touches ciphertext not yet under the tenant's primary data key, and retiring removes
only data keys no ciphertext refers to any more.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from django.apps import apps
from django.db import models, transaction
from django_tenants.utils import tenant_context

from tenants.crypto import (
    FORMAT_VERSION,
    data_key_unwrap,
    data_key_wrap,
    master_key,
    master_keys,
    tenant_keys,
    tenant_keys_forget,
)
from tenants.fields import Ciphertext, EncryptedTextField
from tenants.models import Tenant, TenantDataKey
from tenants.services import data_key_create

BATCH = 1000


@dataclass(frozen=True)
class EncryptedColumn:
    model: type[models.Model]
    field: EncryptedTextField


def encrypted_columns() -> list[EncryptedColumn]:
    """Every encrypted field of every installed model."""
    return [
        EncryptedColumn(model=model, field=field)
        for model in apps.get_models()
        for field in model._meta.concrete_fields
        if isinstance(field, EncryptedTextField)
    ]


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
    """Give the tenant a new primary data key; old ones keep decrypting until re-encryption retires them."""
    with transaction.atomic():
        key = data_key_create(tenant=tenant)
    tenant_keys_forget(tenant.schema_name)
    return key


def _stale_rows(column: EncryptedColumn, primary_prefix: str) -> Iterator[list[models.Model]]:
    name = column.field.attname
    manager = column.model._default_manager
    stale = manager.filter(**{f"{name}__isnull": False}).exclude(**{f"{name}__startswith": Ciphertext(primary_prefix)})
    last_pk = None
    while True:
        page = stale.order_by("pk")
        if last_pk is not None:
            page = page.filter(pk__gt=last_pk)
        rows = list(page[:BATCH])
        if not rows:
            return
        last_pk = rows[-1].pk
        yield rows


def fields_reencrypt(*, tenant: Tenant, progress: Callable[[str, int], None] | None = None) -> int:
    """Re-encrypt the tenant's encrypted fields under its primary data key, in batches; returns rows touched."""
    touched = 0
    with tenant_context(tenant):
        tenant_keys_forget(tenant.schema_name)
        primary_prefix = f"{FORMAT_VERSION}:{tenant_keys(tenant.schema_name).primary_key_id}:"
        for column in encrypted_columns():
            attname = column.field.attname
            for rows in _stale_rows(column, primary_prefix):
                with transaction.atomic():
                    for row in rows:
                        # Reading decrypts under the old key; bulk_update writes what seal() encrypted anew.
                        row.__dict__[attname] = column.field.seal(row, getattr(row, attname))
                    column.model._default_manager.bulk_update(rows, [attname])
                touched += len(rows)
                if progress is not None:
                    progress(f"{column.model._meta.label}.{attname}", len(rows))
    return touched


def data_keys_retire(*, tenant: Tenant) -> list[str]:
    """Delete the tenant's non-primary data keys that no ciphertext refers to; returns their ids."""
    retired: list[str] = []
    with tenant_context(tenant):
        for key in TenantDataKey.objects.filter(tenant=tenant, is_primary=False):
            prefix = f"{FORMAT_VERSION}:{key.key_id}:"
            in_use = any(
                column.model._default_manager.filter(
                    **{f"{column.field.attname}__startswith": Ciphertext(prefix)}
                ).exists()
                for column in encrypted_columns()
            )
            if not in_use:
                key.delete()
                retired.append(key.key_id)
    tenant_keys_forget(tenant.schema_name)
    return retired
