"""Writes to the public schema: provisioning, suspension and deletion of tenants, and their data keys."""

from __future__ import annotations

import re
import secrets
import zoneinfo
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.models import Group, User
from django.db import connection, transaction
from django_tenants.utils import schema_exists, tenant_context

from audit.services import audit_append
from core.errors import NotFound, ValidationFailed
from core.roles import ROLE_ADMIN, ROLES
from core.schema import use_public_schema
from tenants.cloning import schema_clone
from tenants.crypto import data_key_generate, data_key_wrap, keyset_publish, master_keys, tenant_keys_forget
from tenants.models import SLUG_PATTERN, Domain, Tenant, TenantDataKey, TenantStatus
from tenants.selectors import tenant_lookup_forget

_DOMAIN_RE = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$")


@dataclass(frozen=True)
class ProvisionedTenant:
    tenant: Tenant
    domain: str
    admin_username: str
    admin_password: str


def schema_name_for(slug: str) -> str:
    return "t_" + slug.replace("-", "_")


def _validate_new_tenant(*, slug: str, name: str, domain: str, admin_email: str, timezone: str) -> None:
    errors: dict[str, list[str]] = {}
    if not re.fullmatch(SLUG_PATTERN, slug):
        errors["slug"] = ["Use 2-40 lower-case letters, digits or dashes, starting with a letter."]
    elif Tenant.objects.filter(slug=slug).exists() or schema_exists(schema_name_for(slug)):
        errors["slug"] = [f"A tenant with slug '{slug}' already exists."]
    if not name.strip():
        errors["name"] = ["Name is required."]
    if not _DOMAIN_RE.fullmatch(domain):
        errors["domain"] = ["Not a valid host name."]
    elif Domain.objects.filter(domain=domain).exists():
        errors["domain"] = [f"Domain '{domain}' is already in use."]
    if "@" not in admin_email or admin_email.startswith("@") or admin_email.endswith("@"):
        errors["admin_email"] = ["Not a valid e-mail address."]
    if timezone not in zoneinfo.available_timezones():
        errors["timezone"] = [f"Unknown time zone '{timezone}'."]
    if errors:
        raise ValidationFailed("The tenant cannot be created.", fields=errors)


def _schema_clone(schema_name: str) -> None:
    base = settings.TENANT_BASE_SCHEMA
    if not schema_exists(base):
        raise ValidationFailed(f"The base schema '{base}' is missing: run `manage.py migrate_tenants` first.")
    schema_clone(base=base, target=schema_name)


def data_key_create(*, tenant: Tenant) -> TenantDataKey:
    master = master_keys()[0]
    # Past the highest id in use, never a count: a count falls back onto a live key's id once one is retired.
    numbers = [
        int(key_id[1:])
        for key_id in TenantDataKey.objects.select_for_update().filter(tenant=tenant).values_list("key_id", flat=True)
        if key_id[1:].isdigit()
    ]
    key_id = f"k{max(numbers, default=0) + 1}"
    TenantDataKey.objects.filter(tenant=tenant, is_primary=True).update(is_primary=False)
    # A process may still hold the keys of an earlier tenant under the same schema name: tell it.
    schema = tenant.schema_name
    transaction.on_commit(lambda: keyset_publish(schema, quiet=True))
    return TenantDataKey.objects.create(
        tenant=tenant,
        key_id=key_id,
        master_key_id=master.key_id,
        wrapped_key=data_key_wrap(tenant_id=str(tenant.id), key_id=key_id, data_key=data_key_generate(), master=master),
        is_primary=True,
    )


def _tenant_seed(*, admin_email: str, admin_password: str) -> User:
    groups = {role: Group.objects.get_or_create(name=role)[0] for role in ROLES}
    admin = User.objects.create_user(username=admin_email, email=admin_email, password=admin_password, is_staff=True)
    admin.groups.add(groups[ROLE_ADMIN])
    audit_append(actor=None, action="user.create", object_type="user", object_id=admin.pk, data={"roles": [ROLE_ADMIN]})
    return admin


@transaction.atomic
def tenant_create(
    *,
    slug: str,
    name: str,
    domain: str,
    admin_email: str,
    admin_password: str | None = None,
    timezone: str = "UTC",
) -> ProvisionedTenant:
    """Provision a tenant: row, cloned schema, domain, data key, roles and admin — all or nothing.

    PostgreSQL DDL is transactional, so a failure at any step rolls the schema back with the rows.
    """
    slug, domain, admin_email = slug.strip().lower(), domain.strip().lower(), admin_email.strip().lower()
    _validate_new_tenant(slug=slug, name=name, domain=domain, admin_email=admin_email, timezone=timezone)
    use_public_schema()
    tenant = Tenant(schema_name=schema_name_for(slug), slug=slug, name=name.strip(), timezone=timezone)
    tenant.save()
    _schema_clone(tenant.schema_name)
    Domain.objects.create(domain=domain, tenant=tenant, is_primary=True)
    data_key_create(tenant=tenant)
    password = admin_password or secrets.token_urlsafe(12)
    with tenant_context(tenant):
        admin = _tenant_seed(admin_email=admin_email, admin_password=password)
    audit_append(
        actor=None,
        action="tenant.provision",
        object_type="tenant",
        object_id=tenant.id,
        data={"slug": slug, "schema": tenant.schema_name, "domain": domain},
    )
    transaction.on_commit(lambda: tenant_lookup_forget(slug=slug, hosts=[domain]))
    return ProvisionedTenant(tenant=tenant, domain=domain, admin_username=admin.username, admin_password=password)


def _tenant_hosts(tenant: Tenant) -> list[str]:
    return list(Domain.objects.filter(tenant=tenant).values_list("domain", flat=True))


@transaction.atomic
def tenant_set_status(*, slug: str, status: TenantStatus) -> Tenant:
    tenant = Tenant.objects.select_for_update().filter(slug=slug).first()
    if tenant is None:
        raise NotFound(f"No tenant with slug '{slug}'.")
    tenant.status = status
    tenant.save(update_fields=["status", "updated_at"])
    audit_append(
        actor=None,
        action="tenant.suspend" if status == TenantStatus.SUSPENDED else "tenant.resume",
        object_type="tenant",
        object_id=tenant.id,
        data={"slug": slug},
    )
    hosts = _tenant_hosts(tenant)
    transaction.on_commit(lambda: tenant_lookup_forget(slug=slug, hosts=hosts))
    return tenant  # type: ignore[no-any-return]


@transaction.atomic
def tenant_delete(*, slug: str) -> None:
    """Destroy the data key first (crypto-shredding), then the schema, domains and row."""
    tenant = Tenant.objects.select_for_update().filter(slug=slug).first()
    if tenant is None:
        raise NotFound(f"No tenant with slug '{slug}'.")
    hosts = _tenant_hosts(tenant)
    schema = tenant.schema_name
    TenantDataKey.objects.filter(tenant=tenant).delete()
    use_public_schema()
    with connection.cursor() as cursor:
        # Deferred foreign-key checks still pending in this transaction would block DROP SCHEMA.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    tenant_id = tenant.pk
    tenant.delete(force_drop=True)
    audit_append(actor=None, action="tenant.delete", object_type="tenant", object_id=tenant_id, data={"slug": slug})

    def forget() -> None:
        tenant_lookup_forget(slug=slug, hosts=hosts)
        tenant_keys_forget(schema)
        keyset_publish(schema, quiet=True)  # every other process drops the destroyed keys within seconds

    transaction.on_commit(forget)
