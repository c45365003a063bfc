"""manage.py two_step_reset: remove a user's two-step sign-in (lost phone and recovery codes), audited."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django_tenants.utils import tenant_context

from accounts.services.two_step import two_step_devices_remove
from audit.services import Actor
from tenants.commands import command_tenant


class Command(BaseCommand):
    help = (
        "Remove every second-factor device (authenticator app, recovery codes) of a user of a tenant, so that "
        "they sign in with the password alone and set two-step sign-in up again. Check who is asking first."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tenant", required=True, help="The tenant's slug.")
        parser.add_argument("--user", required=True, help="The username (e-mail) in that tenant.")
        parser.add_argument("--reason", default="", help="Why (a ticket number): kept in the audit event.")

    def handle(self, *args: Any, **options: Any) -> None:
        tenant = command_tenant(options["tenant"])
        with tenant_context(tenant):
            user = User.objects.filter(username=options["user"]).first()
            if user is None:
                raise CommandError(f"No user '{options['user']}' in tenant '{tenant.slug}'.")
            label = f"manage.py two_step_reset {options['reason']}".strip()
            removed = two_step_devices_remove(actor=Actor(kind="system", label=label), user=user)
        self.stdout.write(self.style.SUCCESS(f"{tenant.slug}: {removed} device(s) of {user.username} removed."))
