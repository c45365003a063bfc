"""manage.py ensure_demo_tenant: provision the demo tenant once; later runs only make sure its login works."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Group, User
from django.core.management.base import BaseCommand, CommandParser
from django_tenants.utils import tenant_context

from core.roles import ROLE_ADMIN
from tenants.models import Tenant
from tenants.services import tenant_create


class Command(BaseCommand):
    help = "Create the demo tenant if it does not exist, and print its URL and login."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--slug", default="acme")
        parser.add_argument("--name", default="Acme Ltd")
        parser.add_argument("--domain", default="acme.localhost")
        parser.add_argument("--admin-email", default="admin@acme.example")
        parser.add_argument("--admin-password", default="acme-demo-2026")

    def handle(self, *args: Any, **options: Any) -> None:
        tenant = Tenant.objects.filter(slug=options["slug"]).first()
        if tenant is None:
            tenant = tenant_create(
                slug=options["slug"],
                name=options["name"],
                domain=options["domain"],
                admin_email=options["admin_email"],
                admin_password=options["admin_password"],
            ).tenant
            self.stdout.write(self.style.SUCCESS(f"Created demo tenant {tenant.slug}"))
        else:
            with tenant_context(tenant):
                admin, _ = User.objects.get_or_create(
                    username=options["admin_email"], defaults={"email": options["admin_email"], "is_staff": True}
                )
                admin.set_password(options["admin_password"])
                admin.save()
                admin.groups.add(Group.objects.get(name=ROLE_ADMIN))
            self.stdout.write(f"Demo tenant {tenant.slug} already exists")
        self.stdout.write(f"  URL:   http://{options['domain']}:8000/")
        self.stdout.write(f"  login: {options['admin_email']} / {options['admin_password']}")
