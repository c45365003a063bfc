"""manage.py delete_tenant: crypto-shred a tenant (data key first), then drop its schema and domains."""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.errors import ApplicationError
from tenants.services import tenant_delete


class Command(BaseCommand):
    help = "Delete a tenant for good: its data key is destroyed first, so even backups of its rows are unreadable."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--slug", required=True)
        parser.add_argument("--yes", action="store_true", help="do not ask for confirmation")

    def handle(self, *args: Any, **options: Any) -> None:
        slug = options["slug"]
        if not options["yes"]:
            if not sys.stdin.isatty():
                raise CommandError("Refusing to delete without confirmation: pass --yes.")
            answer = input(f"Type the slug '{slug}' to delete this tenant and all its data: ")
            if answer.strip() != slug:
                raise CommandError("Not confirmed; nothing deleted.")
        try:
            tenant_delete(slug=slug)
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(self.style.SUCCESS(f"Deleted tenant {slug}: data key destroyed, schema dropped."))
