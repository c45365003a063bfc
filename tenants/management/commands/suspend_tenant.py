"""manage.py suspend_tenant: suspend (or --resume) a tenant; its hosts answer 403 within seconds."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.errors import ApplicationError
from tenants.models import TenantStatus
from tenants.services import tenant_set_status


class Command(BaseCommand):
    help = "Suspend a tenant, or resume it with --resume."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--slug", required=True)
        parser.add_argument("--resume", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        status = TenantStatus.ACTIVE if options["resume"] else TenantStatus.SUSPENDED
        try:
            tenant = tenant_set_status(slug=options["slug"], status=status)
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(self.style.SUCCESS(f"{tenant.slug}: {tenant.status}"))
