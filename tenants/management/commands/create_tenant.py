"""manage.py create_tenant: provision a tenant (schema cloned from the base, roles, admin user)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.errors import ApplicationError
from tenants.services import tenant_create


class Command(BaseCommand):
    help = "Provision a tenant: cloned schema, domain, data key, Admin/HR/Employee groups and an admin user."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--slug", required=True)
        parser.add_argument("--name", required=True)
        parser.add_argument("--domain", required=True, help="Host name, e.g. acme.localhost")
        parser.add_argument("--admin-email", required=True)
        parser.add_argument("--admin-password", help="Generated and printed when omitted.")
        parser.add_argument("--timezone", default="UTC")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            result = tenant_create(
                slug=options["slug"],
                name=options["name"],
                domain=options["domain"],
                admin_email=options["admin_email"],
                admin_password=options["admin_password"],
                timezone=options["timezone"],
            )
        except ApplicationError as exc:
            details = "; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in exc.fields.items())
            raise CommandError(f"{exc.message} {details}".strip()) from exc
        self.stdout.write(self.style.SUCCESS(f"Created tenant {result.tenant.slug} ({result.tenant.schema_name})"))
        self.stdout.write(f"  URL:      http://{result.domain}:8000/")
        self.stdout.write(f"  login:    {result.admin_username}")
        if not options["admin_password"]:
            self.stdout.write(f"  password: {result.admin_password}")
