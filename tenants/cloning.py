"""Fast tenant schema creation: replay the base schema's structure, read once from the catalogue.

The generic clone function walks the whole catalogue for every new tenant, which grows slower as tenants
accumulate. The base schema only ever holds what Django migrations create (tables, identity sequences,
indexes, constraints, triggers), so its structure is read once per process into a script and replayed
for each tenant in the same transaction as the tenant row. Constraint and index names are preserved,
so later migrations that alter them by name apply to every tenant alike.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.db import connection

from core.ttlcache import TtlCache

TARGET = "__target_schema__"


@dataclass(frozen=True)
class CloneScript:
    fingerprint: tuple[int, int]
    statements: list[str]


class UnsupportedBaseSchema(RuntimeError):
    """The base schema holds an object kind this cloner does not replay."""


# Base schema -> its clone script; the fingerprint tells when the base schema changed under it.
_scripts: TtlCache[str, CloneScript] = TtlCache("clone-scripts", maxsize=16, ttl=None)


def _q(name: str) -> str:
    return connection.ops.quote_name(name)


def _fingerprint(base: str) -> tuple[int, int]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*), coalesce(max(id), 0) FROM {_q(base)}.django_migrations")  # noqa: S608
        count, last = cursor.fetchone()
        cursor.execute(
            "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %s",
            [base],
        )
        (objects,) = cursor.fetchone()
    return (int(count) * 1_000_000 + int(last), int(objects))


def _retarget(definition: str, base: str) -> str:
    """Point an index or trigger definition read from the base schema at the target schema."""
    pattern = rf" ON (ONLY )?(?:{re.escape(base)}|{re.escape(_q(base))})\."
    return re.sub(pattern, lambda match: f" ON {match.group(1) or ''}{TARGET}.", definition, count=1)


def _build_script(base: str) -> list[str]:
    statements: list[str] = []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relkind, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = %s AND c.relkind NOT IN ('r', 'i', 'S')",
            [base],
        )
        unsupported = cursor.fetchall()
        if unsupported:
            raise UnsupportedBaseSchema(f"base schema {base} holds objects of kind {unsupported}")
        # Unqualified names for objects of the base schema in every definition we read.
        cursor.execute(f"SET search_path TO {_q(base)}")
        cursor.execute(
            "SELECT c.oid, c.relname, c.reltuples FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = %s AND c.relkind = 'r' ORDER BY c.relname",
            [base],
        )
        tables = cursor.fetchall()
        for _, table, _ in tables:
            statements.append(
                f"CREATE TABLE {TARGET}.{_q(table)} (LIKE {_q(base)}.{_q(table)} INCLUDING DEFAULTS "
                "INCLUDING IDENTITY INCLUDING GENERATED INCLUDING STORAGE INCLUDING COMMENTS)"
            )
        for _, table, _ in tables:
            statements.append(f"INSERT INTO {TARGET}.{_q(table)} SELECT * FROM {_q(base)}.{_q(table)}")  # noqa: S608
        cursor.execute(
            "SELECT a.attrelid::regclass::text, a.attname FROM pg_attribute a "
            "JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = %s AND a.attidentity <> '' AND NOT a.attisdropped",
            [base],
        )
        for table, column in cursor.fetchall():
            qualified = f"{TARGET}.{_q(table.strip(chr(34)))}"
            statements.append(
                f"SELECT setval(pg_get_serial_sequence('{qualified}', '{column}'), "  # noqa: S608
                f"coalesce(max({_q(column)}), 0) + 1, false) FROM {qualified}"
            )
        # Check, primary-key, unique and exclusion constraints, then plain indexes, then foreign keys.
        cursor.execute(
            "SELECT cl.relname, co.conname, co.contype, pg_get_constraintdef(co.oid) FROM pg_constraint co "
            "JOIN pg_class cl ON cl.oid = co.conrelid JOIN pg_namespace n ON n.oid = cl.relnamespace "
            "WHERE n.nspname = %s AND co.contype <> 'n' "
            "ORDER BY CASE co.contype WHEN 'f' THEN 2 ELSE 1 END, cl.relname, co.conname",
            [base],
        )
        constraints = cursor.fetchall()
        for table, name, kind, definition in constraints:
            if kind != "f":
                statements.append(f"ALTER TABLE {TARGET}.{_q(table)} ADD CONSTRAINT {_q(name)} {definition}")
        cursor.execute(
            "SELECT pg_get_indexdef(i.indexrelid) FROM pg_index i "
            "JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = %s AND NOT EXISTS (SELECT 1 FROM pg_constraint co WHERE co.conindid = i.indexrelid)",
            [base],
        )
        for (definition,) in cursor.fetchall():
            statements.append(_retarget(definition, base))
        for table, name, kind, definition in constraints:
            if kind == "f":
                statements.append(f"ALTER TABLE {TARGET}.{_q(table)} ADD CONSTRAINT {_q(name)} {definition}")
        cursor.execute(
            "SELECT pg_get_triggerdef(t.oid) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
            "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %s AND NOT t.tgisinternal",
            [base],
        )
        for (definition,) in cursor.fetchall():
            statements.append(_retarget(definition, base))
        cursor.execute("SET search_path TO public")
    return statements


def clone_script(base: str) -> CloneScript:
    fingerprint = _fingerprint(base)
    cached = _scripts.get(base)
    if cached is not None and cached.fingerprint == fingerprint:
        return cached
    script = CloneScript(fingerprint=fingerprint, statements=_build_script(base))
    _scripts.put(base, script)
    return script


def schema_clone(*, base: str, target: str) -> None:
    """Create schema `target` with the structure and seed rows of `base`. Call inside a transaction."""
    script = clone_script(base)
    quoted = _q(target)
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE SCHEMA {quoted}")
        # Unqualified references in the script (foreign keys) must resolve inside the new schema.
        cursor.execute(f"SET search_path TO {quoted}, public")
        for statement in script.statements:
            cursor.execute(statement.replace(TARGET, quoted))
