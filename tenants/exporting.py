"""Tenant export: every table of one tenant's schema as JSON Lines in a zip, with a manifest to restore from.

Rows are read in one REPEATABLE READ snapshot through a server-side cursor, so memory stays bounded and
the tables agree with each other and with the audit chain head. Each line is PostgreSQL's own `to_jsonb`
of the row (types and decimal scales exactly as stored) without its encrypted and blind-index columns;
encrypted columns are appended decrypted (`include_pii`) or masked. Blind indexes are derived from the
tenant's data key, so they are left out and recomputed on import.

The manifest records per table: row count, the SHA-256 of the file (archive integrity) and a content
hash over the rows (what a restored tenant must reproduce; masked columns are not part of it).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zipfile import ZIP_DEFLATED, ZipFile, ZipInfo

from django.apps import apps
from django.db import connection, transaction
from django_tenants.utils import tenant_context

from audit.services import audit_verify
from core.errors import NotFound
from tenants.crypto import FieldContext, field_decrypt
from tenants.fields import EncryptedTextField
from tenants.models import Tenant

ARCHIVE_FORMAT = 1
MANIFEST_NAME = "manifest.json"
MASK = "[masked]"
BATCH = 2000
# Credentials are not carried over: users sign in again and API clients get new tokens.
SKIPPED_TABLES = frozenset({"django_migrations", "django_session", "authtoken_token"})
AUDIT_TABLE = "audit_auditevent"
# Signed chain heads: the table is in every schema, but only public's holds rows; append-only like the chain.
CHECKPOINT_TABLE = "audit_auditcheckpoint"

Progress = Callable[[str, int], None]


@dataclass(frozen=True)
class BlindIndex:
    source: str
    purpose: str


@dataclass(frozen=True)
class TableSpec:
    name: str
    pk: str | None
    encrypted: dict[str, EncryptedTextField] = field(default_factory=dict)
    # index column -> the column it indexes; convention: `<column>_index` keyed with purpose `<column>`.
    blind_indexes: dict[str, BlindIndex] = field(default_factory=dict)

    @property
    def derived_columns(self) -> list[str]:
        return [*self.encrypted, *self.blind_indexes]


def _q(name: str) -> str:
    return connection.ops.quote_name(name)


def _model_columns() -> dict[str, tuple[dict[str, EncryptedTextField], dict[str, BlindIndex]]]:
    by_table: dict[str, tuple[dict[str, EncryptedTextField], dict[str, BlindIndex]]] = {}
    for model in apps.get_models():
        fields = {f.name: f for f in model._meta.concrete_fields}
        encrypted = {str(f.column): f for f in fields.values() if isinstance(f, EncryptedTextField)}
        indexes = {
            str(f.column): BlindIndex(
                source=str(fields[f.name[: -len("_index")]].column), purpose=f.name[: -len("_index")]
            )
            for f in fields.values()
            if f.name.endswith("_index") and f.name[: -len("_index")] in fields and getattr(f, "max_length", 0) == 64
        }
        if encrypted or indexes:
            by_table[model._meta.db_table] = (encrypted, indexes)
    return by_table


def table_specs(schema: str) -> list[TableSpec]:
    """The schema's tables in name order, with primary key, encrypted and blind-index columns."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, (SELECT a.attname FROM pg_index i JOIN pg_attribute a "
            "  ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0] "
            "  WHERE i.indrelid = c.oid AND i.indisprimary AND i.indnatts = 1) "
            "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = %s AND c.relkind = 'r' ORDER BY c.relname",
            [schema],
        )
        rows = cursor.fetchall()
    models = _model_columns()
    specs = []
    for name, pk in rows:
        if name in SKIPPED_TABLES:
            continue
        encrypted, indexes = models.get(name, ({}, {}))
        specs.append(TableSpec(name=name, pk=pk, encrypted=encrypted, blind_indexes=indexes))
    return specs


def migration_fingerprint(schema: str) -> str:
    """Which migrations built the schema: an archive restores only into the same table layout."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT app || '.' || name FROM {_q(schema)}.django_migrations ORDER BY 1")  # noqa: S608
        names = [row[0] for row in cursor.fetchall()]
    return hashlib.sha256("\n".join(names).encode()).hexdigest()


def compose_line(base: str, extra: dict[str, Any]) -> str:
    """Append keys to a JSON object's text without re-encoding it (PostgreSQL's numbers stay exact)."""
    if not extra:
        return base
    tail = json.dumps(extra, sort_keys=True, ensure_ascii=False)[1:]
    return "{" + tail if base == "{}" else base[:-1] + ", " + tail


@dataclass(frozen=True)
class Row:
    archive_line: str
    content_line: str


def table_rows(schema: str, spec: TableSpec, *, include_pii: bool) -> Iterator[Row]:
    """Stream a table's rows in primary-key order as archive lines and content-hash lines."""
    derived = spec.derived_columns
    encrypted = list(spec.encrypted)
    order = _q(spec.pk) if spec.pk else "to_jsonb(t)::text"
    pk_text = f"t.{_q(spec.pk)}::text" if spec.pk else "''"
    columns = "".join(f", t.{_q(column)}" for column in encrypted)
    sql = (
        f"SELECT {pk_text}, (to_jsonb(t) - %s::text[])::text{columns} "  # noqa: S608
        f"FROM {_q(schema)}.{_q(spec.name)} t ORDER BY {order}"
    )
    with connection.chunked_cursor() as cursor:
        cursor.execute(sql, [derived])
        while batch := cursor.fetchmany(BATCH):
            for row_id, base, *tokens in batch:
                plain = {
                    column: None
                    if token is None
                    else field_decrypt(
                        token, FieldContext(schema=schema, table=spec.name, column=column, row_id=row_id)
                    )
                    for column, token in zip(encrypted, tokens, strict=True)
                }
                if include_pii:
                    line = compose_line(base, plain)
                    yield Row(archive_line=line, content_line=line)
                else:
                    masked = {column: None if value is None else MASK for column, value in plain.items()}
                    yield Row(archive_line=compose_line(base, masked), content_line=base)


@dataclass
class TableDigest:
    rows: int = 0
    file: Any = field(default_factory=hashlib.sha256)
    content: Any = field(default_factory=hashlib.sha256)

    def add(self, row: Row) -> bytes:
        data = (row.archive_line + "\n").encode()
        self.rows += 1
        self.file.update(data)
        self.content.update((row.content_line + "\n").encode())
        return data


def table_content_digest(schema: str, spec: TableSpec, *, include_pii: bool) -> tuple[int, str]:
    digest = TableDigest()
    for row in table_rows(schema, spec, include_pii=include_pii):
        digest.add(row)
    return digest.rows, digest.content.hexdigest()


def audit_head(schema: str) -> dict[str, Any]:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT count(*), coalesce(max(sequence), 0), "  # noqa: S608
            f"(SELECT hash FROM {_q(schema)}.{AUDIT_TABLE} ORDER BY sequence DESC LIMIT 1) "
            f"FROM {_q(schema)}.{AUDIT_TABLE}"
        )
        events, sequence, head_hash = cursor.fetchone()
    return {"events": int(events), "head_sequence": int(sequence), "head_hash": head_hash or ""}


def table_row_counts(schema: str, specs: list[TableSpec]) -> dict[str, int]:
    counts: dict[str, int] = {}
    with connection.cursor() as cursor:
        for spec in specs:
            cursor.execute(f"SELECT count(*) FROM {_q(schema)}.{_q(spec.name)}")  # noqa: S608
            counts[spec.name] = int(cursor.fetchone()[0])
    return counts


def tenant_settings(tenant: Tenant) -> dict[str, Any]:
    return {
        "slug": tenant.slug,
        "name": tenant.name,
        "timezone": tenant.timezone,
        "locale": tenant.locale,
        "auto_accept_threshold": str(tenant.auto_accept_threshold),
        "ml_rate_limit_per_minute": tenant.ml_rate_limit_per_minute,
        "settings": tenant.settings,
    }


def _export_snapshot() -> None:
    # Only possible as the transaction's first statement; inside an outer transaction we share its snapshot.
    with connection.cursor() as cursor:
        cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")


def tenant_export(
    *,
    slug: str,
    out: Path,
    include_pii: bool = False,
    progress: Progress | None = None,
    totals: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """Write the tenant's archive to `out` (via a temporary file renamed at the end); returns the manifest."""
    tenant = Tenant.objects.filter(slug=slug).first()
    if tenant is None:
        raise NotFound(f"No tenant with slug '{slug}'.")
    schema = tenant.schema_name
    partial = out.with_name(out.name + ".partial")
    outer = connection.in_atomic_block
    try:
        with transaction.atomic():
            if not outer:
                _export_snapshot()
            specs = table_specs(schema)
            if totals is not None:
                totals(sum(table_row_counts(schema, specs).values()))
            with tenant_context(tenant):
                verified = audit_verify()
            manifest: dict[str, Any] = {
                "format": ARCHIVE_FORMAT,
                "exported_at": datetime.now(UTC).isoformat(),
                "source_schema": schema,
                "tenant": tenant_settings(tenant),
                "migrations": migration_fingerprint(schema),
                "pii": "included" if include_pii else "masked",
                "skipped_tables": sorted(SKIPPED_TABLES),
                "audit": {**audit_head(schema), "verified": verified.ok},
                "tables": {},
            }
            with ZipFile(partial, "w", compression=ZIP_DEFLATED, allowZip64=True) as archive:
                for spec in specs:
                    manifest["tables"][spec.name] = _export_table(archive, schema, spec, include_pii, progress)
                archive.writestr(MANIFEST_NAME, json.dumps(manifest, indent=2, sort_keys=True))
        os.replace(partial, out)
    finally:
        if partial.exists():
            partial.unlink()
    return manifest


def _export_table(
    archive: ZipFile, schema: str, spec: TableSpec, include_pii: bool, progress: Progress | None
) -> dict[str, Any]:
    digest = TableDigest()
    name = f"tables/{spec.name}.jsonl"
    info = ZipInfo(name, date_time=datetime.now(UTC).timetuple()[:6])
    info.compress_type = ZIP_DEFLATED
    with archive.open(info, "w", force_zip64=True) as member:
        for row in table_rows(schema, spec, include_pii=include_pii):
            member.write(digest.add(row))
            if progress is not None and digest.rows % BATCH == 0:
                progress(spec.name, BATCH)
    if progress is not None and digest.rows % BATCH:
        progress(spec.name, digest.rows % BATCH)
    return {
        "file": name,
        "rows": digest.rows,
        "sha256": digest.file.hexdigest(),
        "content_sha256": digest.content.hexdigest(),
        "masked_columns": [] if include_pii else sorted(spec.encrypted),
    }
