"""manage.py seed_demo: fill one tenant with reproducible synthetic data (see demo/world.py and demo/services.py)."""

from __future__ import annotations

from datetime import date
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from django_tenants.utils import tenant_context

from demo.services import DemoDataExists, demo_seed
from demo.world import DEFAULT_CHUNK_SIZE, DemoSpec
from tenants.commands import command_tenant

MAX_DAYS = 366


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise ValueError(text)
    return value


class Command(BaseCommand):
    help = (
        "Write synthetic projects, employees (encrypted PII), attendance, Jira work logs and assignments, and "
        "review history into one tenant with COPY. Deterministic for a given --seed."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tenant", required=True, help="tenant slug")
        parser.add_argument("--employees", type=_positive, default=200)
        parser.add_argument(
            "--days", type=_positive, default=60, help=f"calendar days ending on --end-date (<= {MAX_DAYS})"
        )
        parser.add_argument("--seed", type=int, default=42)
        parser.add_argument(
            "--end-date", type=date.fromisoformat, help="YYYY-MM-DD; default: today in the tenant's zone"
        )
        parser.add_argument("--reset", action="store_true", help="empty the tenant's demo tables first")
        parser.add_argument(
            "--if-empty", action="store_true", help="do nothing (and succeed) when the tenant already has data"
        )
        parser.add_argument("--chunk-size", type=_positive, default=DEFAULT_CHUNK_SIZE, help="employees per COPY batch")

    def handle(self, *args: Any, **options: Any) -> None:
        tenant = command_tenant(options["tenant"])
        if options["days"] > MAX_DAYS:
            raise CommandError(f"--days must be at most {MAX_DAYS}.")
        try:
            zone = ZoneInfo(tenant.timezone or "UTC")
        except (ZoneInfoNotFoundError, ValueError):
            zone = ZoneInfo("UTC")
        spec = DemoSpec(
            schema=tenant.schema_name,
            email_domain=f"{tenant.slug}.example",
            zone=zone,
            employees=options["employees"],
            days=options["days"],
            end_date=options["end_date"] or timezone.now().astimezone(zone).date(),
            seed=options["seed"],
            auto_accept_threshold=float(tenant.auto_accept_threshold),
            chunk_size=options["chunk_size"],
        )
        self.stdout.write(
            f"Seeding {tenant.slug} ({tenant.schema_name}): {spec.employees} employees, {spec.start_date} to "
            f"{spec.end_date}, review history through {spec.history_end}, seed {spec.seed}"
        )
        with tenant_context(tenant):
            try:
                summary = demo_seed(
                    spec=spec, reset=options["reset"], on_progress=lambda line: self.stdout.write(f"  {line}")
                )
            except DemoDataExists as exc:
                if options["if_empty"]:
                    self.stdout.write(f"  {tenant.slug} already has data; left as it is.")
                    return
                raise CommandError(exc.message) from exc
        self.stdout.write(f"  generated in {summary.generate_seconds:.2f} s (including PII encryption)")
        for name, stats in summary.tables.items():
            self.stdout.write(f"  {name:<18} {stats.rows:>10,} rows  COPY {stats.seconds:6.2f} s")
        self.stdout.write(
            self.style.SUCCESS(
                f"Seeded {summary.employees} employees, {summary.projects} projects, {summary.attended_days:,} "
                f"attended days ({summary.worked_hours:,} h) in {summary.total_seconds:.2f} s."
            )
        )
