"""manage.py rotate_encryption_keys: re-wrap data keys under the active master key; optionally rotate data keys.

    rotate_encryption_keys                       re-wrap every data key under the first FIELD_ENCRYPTION_KEYS entry
    rotate_encryption_keys --new-data-keys       also give every tenant a new primary data key
    rotate_encryption_keys --reencrypt           re-encrypt field data and recompute blind indexes under each
                                                 tenant's primary data key
    rotate_encryption_keys --reencrypt --retire  ... and delete data keys nothing refers to any more

Each step is resumable: run the same command again after an interruption. Running processes see a new or
retired data key within TENANT_KEYS_CHECK_SECONDS; re-encryption and retiring wait that long (and more) after
a new primary key so that nothing is written under the old key behind them.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from tenants.keys import (
    RETIRE_WAIT_SECONDS,
    RetirePostponed,
    data_key_rotate,
    data_keys_retire,
    data_keys_rewrap,
    fields_reencrypt,
)
from tenants.selectors import tenant_list


class Command(BaseCommand):
    help = "Rotate encryption keys: re-wrap data keys, issue new data keys, re-encrypt fields, retire old keys."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tenant", help="limit data-key steps to one tenant slug")
        parser.add_argument("--new-data-keys", action="store_true")
        parser.add_argument("--reencrypt", action="store_true")
        parser.add_argument("--retire", action="store_true")
        parser.add_argument(
            "--retire-wait",
            type=float,
            default=RETIRE_WAIT_SECONDS,
            help="seconds to wait for transactions that may still write under an old key (default %(default)s)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        rewrapped = data_keys_rewrap()
        self.stdout.write(f"re-wrapped {rewrapped} data keys under the active master key")
        tenants = tenant_list()
        if options["tenant"]:
            tenants = [t for t in tenants if t.slug == options["tenant"]]
            if not tenants:
                raise CommandError(f"No tenant with slug '{options['tenant']}'.")
        for tenant in tenants:
            if options["new_data_keys"]:
                key = data_key_rotate(tenant=tenant)
                self.stdout.write(f"{tenant.slug}: new primary data key {key.key_id}")
            if options["reencrypt"]:

                def progress(column: str, rows: int, slug: str = tenant.slug) -> None:
                    self.stdout.write(f"{slug}: re-encrypted {rows} rows of {column}")

                touched = fields_reencrypt(tenant=tenant, progress=progress)
                self.stdout.write(f"{tenant.slug}: {touched} rows re-encrypted")
            if options["retire"]:
                try:
                    retired = data_keys_retire(tenant=tenant, timeout=options["retire_wait"])
                except RetirePostponed as postponed:
                    self.stderr.write(f"{tenant.slug}: no data key retired: {postponed}")
                    continue
                self.stdout.write(f"{tenant.slug}: retired data keys {', '.join(retired) or '(none)'}")
        self.stdout.write(self.style.SUCCESS("done"))
