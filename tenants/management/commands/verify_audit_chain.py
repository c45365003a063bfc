"""manage.py verify_audit_chain: exit 0 when every chain checked is intact, 1 naming the first broken event."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django_tenants.utils import schema_context, tenant_context

from audit.services import VerifyResult, audit_verify
from tenants.commands import command_tenant
from tenants.selectors import tenant_list


class Command(BaseCommand):
    help = "Verify the audit hash chain (and its signed checkpoints) of one tenant, all tenants, or public."

    def add_arguments(self, parser: CommandParser) -> None:
        target = parser.add_mutually_exclusive_group(required=True)
        target.add_argument("--tenant", help="tenant slug")
        target.add_argument("--all-tenants", action="store_true", help="every tenant and the public chain")
        target.add_argument("--public", action="store_true", help="the public (provisioning) chain")

    def handle(self, *args: Any, **options: Any) -> None:
        results: list[VerifyResult] = []
        if options["public"] or options["all_tenants"]:
            with schema_context("public"):
                results.append(audit_verify())
        if options["tenant"]:
            tenant = command_tenant(options["tenant"])
            tenants = [tenant]
        else:
            tenants = tenant_list() if options["all_tenants"] else []
        for tenant in tenants:
            with tenant_context(tenant):
                results.append(audit_verify())
        broken = [r for r in results if not r.ok]
        for result in results:
            if result.ok:
                self.stdout.write(f"{result.schema}: intact, {result.events} events, head #{result.head_sequence}")
            else:
                self.stdout.write(f"{result.schema}: BROKEN at #{result.broken_sequence}: {result.reason}")
        if broken:
            first = broken[0]
            raise CommandError(f"{first.schema}: audit chain broken at event #{first.broken_sequence}: {first.reason}")
