"""Schema migrations across many tenants: public, then the base schema, then every tenant not yet at head.

A tenant already at head costs one row in a batched catalogue query, so a no-op run over 1,000 tenants is
a few seconds; tenants that are behind are migrated in parallel worker processes.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.conf import settings
from django.core.management import call_command
from django.db import connection, connections
from django.db.migrations.loader import MigrationLoader
from django_tenants.utils import schema_exists

from core.schema import use_public_schema

_BATCH = 200


@dataclass(frozen=True)
class MigrateReport:
    tenants: int
    migrated: list[str]
    skipped: int


def _tenant_app_labels() -> set[str]:
    from django.apps import apps

    labels = set()
    for app in settings.TENANT_APPS:
        labels.add(apps.get_app_config(app.rsplit(".", 1)[-1]).label)
    return labels


def expected_tenant_migrations() -> set[tuple[str, str]]:
    loader = MigrationLoader(None, ignore_no_migrations=True)
    labels = _tenant_app_labels()
    return {key for key in loader.graph.nodes if key[0] in labels}


def applied_migrations(schemas: list[str]) -> dict[str, set[tuple[str, str]]]:
    """Applied migrations per schema, with one UNION query per batch of schemas."""
    applied: dict[str, set[tuple[str, str]]] = {schema: set() for schema in schemas}
    use_public_schema()
    for start in range(0, len(schemas), _BATCH):
        batch = [s for s in schemas[start : start + _BATCH] if s in applied]
        parts = [
            f"SELECT %s, app, name FROM {connection.ops.quote_name(schema)}.django_migrations"  # noqa: S608
            for schema in batch
        ]
        if not parts:
            continue
        with connection.cursor() as cursor:
            cursor.execute(" UNION ALL ".join(parts), batch)
            for schema, app, name in cursor.fetchall():
                applied[schema].add((app, name))
    return applied


def tenants_behind(schemas: list[str]) -> list[str]:
    expected = expected_tenant_migrations()
    existing = _existing_schemas(schemas)
    applied = applied_migrations([s for s in schemas if s in existing])
    return [s for s in schemas if s not in existing or not expected <= applied.get(s, set())]


def _existing_schemas(schemas: Iterable[str]) -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT nspname FROM pg_namespace WHERE nspname = ANY(%s)", [list(schemas)])
        return {row[0] for row in cursor.fetchall()}


def _migrate_schema(schema: str, verbosity: int) -> None:
    call_command("migrate_schemas", schema_name=schema, tenant=True, interactive=False, verbosity=verbosity)


def _worker_init(database_name: str) -> None:
    import django

    django.setup()
    # A spawned process reads settings afresh; keep the database the parent actually uses (tests rename it).
    settings.DATABASES["default"]["NAME"] = database_name
    connections["default"].settings_dict["NAME"] = database_name


def _worker_migrate(args: tuple[str, int]) -> str:
    schema, verbosity = args
    _migrate_schema(schema, verbosity)
    connections.close_all()
    return schema


def base_schema_ensure(*, verbosity: int = 0) -> None:
    """Create or migrate the schema new tenants are cloned from."""
    base = settings.TENANT_BASE_SCHEMA
    if not schema_exists(base):
        with connection.cursor() as cursor:
            cursor.execute(f"CREATE SCHEMA {connection.ops.quote_name(base)}")
    _migrate_schema(base, verbosity)
    use_public_schema()


def tenants_migrate(
    *,
    processes: int,
    verbosity: int = 0,
    include_public: bool = True,
    progress: Callable[[str], None] | None = None,
) -> MigrateReport:
    from tenants.models import Tenant

    if include_public:
        call_command("migrate_schemas", shared=True, interactive=False, verbosity=verbosity)
    base_schema_ensure(verbosity=verbosity)
    schemas = list(
        Tenant.objects.exclude(schema_name=settings.PUBLIC_SCHEMA_NAME)
        .order_by("schema_name")
        .values_list("schema_name", flat=True)
    )
    behind = tenants_behind(schemas)
    if behind:
        for conn in connections.all():
            conn.close()
            close_pool = getattr(conn, "close_pool", None)
            if close_pool is not None and conn.settings_dict.get("OPTIONS", {}).get("pool"):
                close_pool()
        if processes <= 1 or len(behind) == 1:
            for schema in behind:
                _migrate_schema(schema, verbosity)
                if progress:
                    progress(schema)
        else:
            context = multiprocessing.get_context("spawn")
            database_name = connections["default"].settings_dict["NAME"]
            with context.Pool(processes=processes, initializer=_worker_init, initargs=(database_name,)) as pool:
                for schema in pool.imap_unordered(_worker_migrate, [(s, verbosity) for s in behind]):
                    if progress:
                        progress(schema)
    use_public_schema()
    return MigrateReport(tenants=len(schemas), migrated=behind, skipped=len(schemas) - len(behind))
