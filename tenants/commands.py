"""What the tenant-scoped management commands share."""

from __future__ import annotations

from django.core.management.base import CommandError

from tenants.models import Tenant


def command_tenant(slug: str) -> Tenant:
    """The tenant a command's `--tenant` names, read from the database (no cache); CommandError when absent."""
    tenant: Tenant | None = Tenant.objects.filter(slug=slug).first()
    if tenant is None:
        raise CommandError(f"No tenant with slug '{slug}'.")
    return tenant
