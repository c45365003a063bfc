"""Tenant import: restore an export archive into a new tenant, all or nothing.

The archive is checked before anything is written (manifest, every file's SHA-256 and row count, the
schema version). Then, in one transaction: the tenant row, a schema cloned from the base, its domain and
a fresh data key; every table loaded in bulk (`jsonb_populate_record`, PostgreSQL parsing its own JSON),
encrypted columns re-encrypted under the new tenant's key and blind indexes recomputed; identity
sequences moved past the loaded ids. Before commit, every table's row count and content hash are
recomputed from the new schema and the audit chain (copied verbatim, so its hashes still hold) is
verified against the manifest's head. Any mismatch rolls everything back.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django_tenants.utils import schema_exists, tenant_context

from audit.services import audit_append, audit_verify
from core.errors import ApplicationError, ValidationFailed
from core.schema import use_public_schema
from tenants.crypto import FieldContext, blind_index, field_encrypt, tenant_keys_forget
from tenants.exporting import (
    ARCHIVE_FORMAT,
    AUDIT_TABLE,
    BATCH,
    CHECKPOINT_TABLE,
    MANIFEST_NAME,
    Progress,
    TableSpec,
    audit_head,
    migration_fingerprint,
    table_content_digest,
    table_specs,
)
from tenants.locales import DEFAULT_LOCALE, LOCALES
from tenants.models import SLUG_PATTERN, Domain, Tenant
from tenants.selectors import tenant_lookup_forget
from tenants.services import _DOMAIN_RE, _schema_clone, data_key_create, schema_name_for


class ArchiveError(ApplicationError):
    """The archive is damaged, incomplete or from another schema version; nothing was created."""

    code = "bad_archive"


class RestoreMismatch(ApplicationError):
    """The restored tenant does not reproduce the archive's counts, hashes or audit head; rolled back."""

    code = "restore_mismatch"


@dataclass(frozen=True)
class ImportResult:
    tenant: Tenant
    domain: str
    tables: int
    rows: int
    audit_events: int


def _open(path: Path) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(path)
    except FileNotFoundError:
        raise ArchiveError(f"No archive at {path}.") from None
    except (zipfile.BadZipFile, OSError) as exc:
        raise ArchiveError(f"{path} is not a readable zip archive: {exc}.") from None


def _manifest(archive: zipfile.ZipFile) -> dict[str, Any]:
    try:
        manifest = json.loads(archive.read(MANIFEST_NAME))
    except KeyError:
        raise ArchiveError(f"The archive has no {MANIFEST_NAME}.") from None
    except (ValueError, zipfile.BadZipFile, OSError) as exc:
        raise ArchiveError(f"The manifest cannot be read: {exc}.") from None
    if not isinstance(manifest, dict) or manifest.get("format") != ARCHIVE_FORMAT:
        raise ArchiveError(f"Unsupported archive format (expected format {ARCHIVE_FORMAT}).")
    for key in ("tenant", "tables", "audit", "migrations", "pii"):
        if key not in manifest:
            raise ArchiveError(f"The manifest lacks '{key}'.")
    return manifest


def _lines(archive: zipfile.ZipFile, name: str) -> Iterator[str]:
    with archive.open(name) as member:
        yield from io.TextIOWrapper(member, encoding="utf-8", newline="\n")


def archive_check(archive: zipfile.ZipFile, manifest: dict[str, Any]) -> None:
    """Every table file is present, hashes to its recorded SHA-256 and holds the recorded rows."""
    for table, entry in manifest["tables"].items():
        digest, rows = hashlib.sha256(), 0
        try:
            with archive.open(entry["file"]) as member:
                while chunk := member.read(1 << 20):
                    digest.update(chunk)
                    rows += chunk.count(b"\n")
        except KeyError:
            raise ArchiveError(f"Table file {entry['file']} is missing from the archive.") from None
        except (zipfile.BadZipFile, OSError, EOFError) as exc:
            raise ArchiveError(f"Table file {entry['file']} is damaged: {exc}.") from None
        if digest.hexdigest() != entry["sha256"]:
            raise ArchiveError(f"Table {table}: checksum mismatch, the archive was altered or damaged.")
        if rows != entry["rows"]:
            raise ArchiveError(f"Table {table}: {rows} rows in the file, {entry['rows']} in the manifest.")


def _validate_target(*, slug: str, domain: str) -> None:
    errors: dict[str, list[str]] = {}
    if not re.fullmatch(SLUG_PATTERN, slug):
        errors["slug"] = ["Use 2-40 lower-case letters, digits or dashes, starting with a letter."]
    elif Tenant.objects.filter(slug=slug).exists() or schema_exists(schema_name_for(slug)):
        errors["slug"] = [f"A tenant with slug '{slug}' already exists."]
    if not _DOMAIN_RE.fullmatch(domain):
        errors["domain"] = ["Not a valid host name."]
    elif Domain.objects.filter(domain=domain).exists():
        errors["domain"] = [f"Domain '{domain}' is already in use."]
    if errors:
        raise ValidationFailed("The tenant cannot be restored.", fields=errors)


def _q(name: str) -> str:
    return connection.ops.quote_name(name)


class _RowPatcher:
    """Ciphertext under the new tenant's key and recomputed blind indexes, as a JSON patch per row."""

    def __init__(self, schema: str, spec: TableSpec, *, pii_included: bool) -> None:
        self.schema, self.spec, self.pii_included = schema, spec, pii_included

    def patch(self, row: dict[str, Any]) -> dict[str, Any]:
        spec = self.spec
        row_id = str(row[spec.pk]) if spec.pk else ""
        plain: dict[str, str | None] = {}
        patch: dict[str, Any] = {}
        for column, model_field in spec.encrypted.items():
            value = row.get(column)
            if value is not None and not self.pii_included:
                # A masked value: absent where the column allows it, otherwise an unusable placeholder.
                value = None if model_field.null else str(value)
            plain[column] = None if value is None or not self.pii_included else str(value)
            context = FieldContext(schema=self.schema, table=spec.name, column=column, row_id=row_id)
            patch[column] = None if value is None else field_encrypt(str(value), context)
        for column, index in spec.blind_indexes.items():
            source = plain.get(index.source) if index.source in spec.encrypted else row.get(index.source)
            patch[column] = (
                None if source is None else blind_index(str(source), purpose=index.purpose, schema_name=self.schema)
            )
        return patch


def _load_table(
    archive: zipfile.ZipFile,
    schema: str,
    spec: TableSpec,
    entry: dict[str, Any],
    *,
    pii_included: bool,
    progress: Progress | None,
) -> None:
    patcher = _RowPatcher(schema, spec, pii_included=pii_included) if spec.derived_columns else None
    target = f"{_q(schema)}.{_q(spec.name)}"
    sql = (
        f"INSERT INTO {target} SELECT r.* FROM unnest(%s::text[], %s::text[]) AS x(line, patch), "  # noqa: S608
        f"LATERAL jsonb_populate_record(NULL::{target}, x.line::jsonb || x.patch::jsonb) AS r"
    )
    lines: list[str] = []
    patches: list[str] = []

    def flush() -> None:
        if not lines:
            return
        with connection.cursor() as cursor:
            cursor.execute(sql, [lines, patches])
        if progress is not None:
            progress(spec.name, len(lines))
        lines.clear()
        patches.clear()

    for text in _lines(archive, entry["file"]):
        line = text.rstrip("\n")
        lines.append(line)
        patches.append(json.dumps(patcher.patch(json.loads(line, parse_float=Decimal))) if patcher else "{}")
        if len(lines) >= BATCH:
            flush()
    flush()


# Tables whose rows make the database refuse writes to other tables (a closed pay period locks its allocations
# through a trigger): loaded after everything else, so the archive's allocations go in before their lock does.
LOAD_LAST = frozenset({"timesheets_payperiod"})


def _load_order(spec: TableSpec) -> tuple[bool, str]:
    return (spec.name in LOAD_LAST, spec.name)


def _reset_identities(schema: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, a.attname FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = %s AND a.attidentity <> '' AND NOT a.attisdropped",
            [schema],
        )
        for table, column in cursor.fetchall():
            qualified = f"{_q(schema)}.{_q(table)}"
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence(%s, %s), coalesce(max({_q(column)}), 0) + 1, false) "  # noqa: S608
                f"FROM {qualified}",
                [qualified, column],
            )


def _empty_clone(schema: str, specs: list[TableSpec]) -> None:
    """Drop the base schema's seed rows (content types, permissions) that the archive brings back."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {_q(schema)}.{AUDIT_TABLE}")  # noqa: S608
        if cursor.fetchone()[0]:
            raise RestoreMismatch("The new schema's audit chain is not empty; refusing to restore into it.")
        # The append-only tables refuse TRUNCATE: the chain was checked empty above, and a cloned schema's
        # checkpoint table is always empty (checkpoints are written to public only).
        append_only = {AUDIT_TABLE, CHECKPOINT_TABLE}
        others = [f"{_q(schema)}.{_q(spec.name)}" for spec in specs if spec.name not in append_only]
        if others:
            cursor.execute(f"TRUNCATE {', '.join(others)} CASCADE")
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")


def _verify_restore(schema: str, specs: list[TableSpec], manifest: dict[str, Any]) -> None:
    pii_included = manifest["pii"] == "included"
    for spec in specs:
        expected = manifest["tables"][spec.name]
        rows, content = table_content_digest(schema, spec, include_pii=pii_included)
        if rows != expected["rows"] or content != expected["content_sha256"]:
            raise RestoreMismatch(
                f"Table {spec.name}: restored {rows} rows (hash {content[:12]}), "
                f"archive has {expected['rows']} (hash {expected['content_sha256'][:12]})."
            )
    head = audit_head(schema)
    wanted = manifest["audit"]
    if (head["head_sequence"], head["head_hash"]) != (wanted["head_sequence"], wanted["head_hash"]):
        raise RestoreMismatch("The restored audit chain does not end at the archive's head.")
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")


def _create_tenant(*, slug: str, domain: str, source: dict[str, Any]) -> Tenant:
    use_public_schema()
    tenant = Tenant(
        schema_name=schema_name_for(slug),
        slug=slug,
        name=str(source.get("name") or slug),
        timezone=str(source.get("timezone") or "UTC"),
        locale=source["locale"] if source.get("locale") in LOCALES else DEFAULT_LOCALE,
        auto_accept_threshold=Decimal(str(source.get("auto_accept_threshold", "0.90"))),
        ml_rate_limit_per_minute=int(source.get("ml_rate_limit_per_minute", 100)),
        settings=source.get("settings") or {},
    )
    tenant.save()
    _schema_clone(tenant.schema_name)
    Domain.objects.create(domain=domain, tenant=tenant, is_primary=True)
    data_key_create(tenant=tenant)
    return tenant


def tenant_import(*, archive_path: Path, slug: str, domain: str, progress: Progress | None = None) -> ImportResult:
    """Restore an archive as a new tenant `slug` served at `domain`; nothing is created unless it all checks out."""
    slug, domain = slug.strip().lower(), domain.strip().lower()
    with _open(archive_path) as archive:
        manifest = _manifest(archive)
        archive_check(archive, manifest)
        if manifest["migrations"] != migration_fingerprint(settings.TENANT_BASE_SCHEMA):
            raise ArchiveError(
                "The archive was written by a different schema version; restore it with the release that wrote it, "
                "or migrate that release's tenants first."
            )
        schema = schema_name_for(slug)
        try:
            result = _restore(archive, manifest, slug=slug, domain=domain, schema=schema, progress=progress)
        except BaseException:
            tenant_keys_forget(schema)
            raise
    transaction.on_commit(lambda: tenant_lookup_forget(slug=slug, hosts=[domain]))
    return result


@transaction.atomic
def _restore(
    archive: zipfile.ZipFile,
    manifest: dict[str, Any],
    *,
    slug: str,
    domain: str,
    schema: str,
    progress: Progress | None,
) -> ImportResult:
    _validate_target(slug=slug, domain=domain)
    tenant = _create_tenant(slug=slug, domain=domain, source=manifest["tenant"])
    specs = [spec for spec in table_specs(schema) if spec.name in manifest["tables"]]
    missing = set(manifest["tables"]) - {spec.name for spec in specs}
    if missing:
        raise ArchiveError(f"The archive holds tables this release does not have: {', '.join(sorted(missing))}.")
    _empty_clone(schema, specs)
    pii_included = manifest["pii"] == "included"
    for spec in sorted(specs, key=_load_order):
        _load_table(archive, schema, spec, manifest["tables"][spec.name], pii_included=pii_included, progress=progress)
    _reset_identities(schema)
    _verify_restore(schema, specs, manifest)
    with tenant_context(tenant):
        verified = audit_verify()
    if not verified.ok:
        raise RestoreMismatch(f"The restored audit chain does not verify: {verified.reason}.")
    use_public_schema()
    audit_append(
        actor=None,
        action="tenant.import",
        object_type="tenant",
        object_id=tenant.id,
        data={
            "slug": slug,
            "schema": schema,
            "domain": domain,
            "source_slug": manifest["tenant"].get("slug", ""),
            "pii": manifest["pii"],
            "audit_head_sequence": manifest["audit"]["head_sequence"],
        },
    )
    return ImportResult(
        tenant=tenant,
        domain=domain,
        tables=len(specs),
        rows=sum(int(manifest["tables"][spec.name]["rows"]) for spec in specs),
        audit_events=int(manifest["audit"]["events"]),
    )
