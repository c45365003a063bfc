"""manage.py list_tenants: one line per tenant with its status and domains."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from tenants.models import Tenant


class Command(BaseCommand):
    help = "List tenants: slug, schema, status, domains."

    def handle(self, *args: Any, **options: Any) -> None:
        tenants = Tenant.objects.exclude(schema_name="public").prefetch_related("domains").order_by("slug")
        self.stdout.write(f"{'slug':<24} {'schema':<28} {'status':<10} domains")
        for tenant in tenants:
            domains = ",".join(d.domain for d in tenant.domains.all())
            self.stdout.write(f"{tenant.slug:<24} {tenant.schema_name:<28} {tenant.status:<10} {domains}")
