"""manage.py import_tenant: restore an export_tenant archive as a new tenant; all or nothing."""

from __future__ import annotations

import json
import sys
import zipfile
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from core.errors import ApplicationError
from tenants.exporting import MANIFEST_NAME
from tenants.importing import tenant_import


def _expected_rows(path: Path) -> int | None:
    """The archive's row total for the progress bar; the import itself reports a damaged archive."""
    try:
        with zipfile.ZipFile(path) as archive:
            manifest = json.loads(archive.read(MANIFEST_NAME))
        return sum(int(entry["rows"]) for entry in manifest["tables"].values())
    except Exception:
        return None


class Command(BaseCommand):
    help = "Restore an archive written by export_tenant into a new tenant with its own slug and domain."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--in", dest="archive", required=True, type=Path)
        parser.add_argument("--slug", required=True)
        parser.add_argument("--domain", required=True)

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["archive"]
        bar = tqdm(
            total=_expected_rows(path), unit="rows", desc="import", disable=not sys.stderr.isatty(), file=sys.stderr
        )

        def progress(table: str, rows: int) -> None:
            bar.set_postfix_str(table, refresh=False)
            bar.update(rows)

        try:
            result = tenant_import(archive_path=path, slug=options["slug"], domain=options["domain"], progress=progress)
        except ApplicationError as exc:
            details = "; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in exc.fields.items())
            raise CommandError(f"{exc.message} {details}".strip()) from exc
        finally:
            bar.close()
        self.stdout.write(
            self.style.SUCCESS(
                f"Restored {result.tenant.slug} ({result.tenant.schema_name}) at {result.domain}: "
                f"{result.tables} tables, {result.rows} rows; counts, content hashes and "
                f"{result.audit_events} audit events verified."
            )
        )
