"""manage.py export_tenant: one tenant's records as JSON Lines per table plus a manifest, in a zip."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from core.errors import ApplicationError
from tenants.exporting import tenant_export


class Command(BaseCommand):
    help = "Export a tenant (PII masked unless --include-pii) to a zip archive that import_tenant restores."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--slug", required=True)
        parser.add_argument("--out", required=True, type=Path)
        parser.add_argument(
            "--include-pii", action="store_true", help="Write national ids, bank accounts, salaries decrypted."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        out: Path = options["out"]
        bar = tqdm(unit="rows", desc="export", disable=not sys.stderr.isatty(), file=sys.stderr)

        def progress(table: str, rows: int) -> None:
            bar.set_postfix_str(table, refresh=False)
            bar.update(rows)

        def totals(rows: int) -> None:
            bar.reset(total=rows)

        try:
            manifest = tenant_export(
                slug=options["slug"], out=out, include_pii=options["include_pii"], progress=progress, totals=totals
            )
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        finally:
            bar.close()
        rows = sum(entry["rows"] for entry in manifest["tables"].values())
        audit = manifest["audit"]
        self.stdout.write(
            self.style.SUCCESS(
                f"Exported {options['slug']}: {len(manifest['tables'])} tables, {rows} rows, PII {manifest['pii']}, "
                f"audit head #{audit['head_sequence']} -> {out}"
            )
        )
        if not audit["verified"]:
            self.stderr.write(self.style.WARNING("The tenant's audit chain did not verify at export time."))
