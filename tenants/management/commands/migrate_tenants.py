"""manage.py migrate_tenants: migrate public, the base schema and every tenant behind head, in parallel."""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from tenants.migration import tenants_migrate


class Command(BaseCommand):
    help = "Migrate the public schema, the tenant base schema, and (in parallel) every tenant not at head."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--processes", type=int, default=settings.TENANT_MIGRATE_PROCESSES)
        parser.add_argument("--skip-public", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.monotonic()
        verbosity = max(0, int(options["verbosity"]) - 1)
        done = 0

        def progress(schema: str) -> None:
            nonlocal done
            done += 1
            self.stdout.write(f"  migrated {schema} ({done})")

        report = tenants_migrate(
            processes=options["processes"],
            verbosity=verbosity,
            include_public=not options["skip_public"],
            progress=progress,
        )
        seconds = time.monotonic() - started
        self.stdout.write(
            self.style.SUCCESS(
                f"{report.tenants} tenants: {len(report.migrated)} migrated, "
                f"{report.skipped} already at head "
                f"({seconds:.1f}s)"
            )
        )
