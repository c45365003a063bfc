"""A cloned tenant schema is structurally identical to the base schema it was cloned from."""

from __future__ import annotations

import re

from django.db import connection

from tests.conftest import TenantHandle


def _normalized(definition: str) -> str:
    without_casts = re.sub(r"::[a-z ]+(\[\])?", "", definition)
    return re.sub(r"[()\s]+", "", without_casts)


def _structure(schema: str) -> dict[str, list[tuple[object, ...]]]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_name, column_name, data_type, is_nullable, is_identity, "
            "column_default IS NOT NULL FROM information_schema.columns WHERE table_schema = %s ORDER BY 1, 2",
            [schema],
        )
        columns = cursor.fetchall()
        cursor.execute(
            "SELECT cl.relname, co.conname, co.contype, pg_get_constraintdef(co.oid) FROM pg_constraint co "
            "JOIN pg_class cl ON cl.oid = co.conrelid JOIN pg_namespace n ON n.oid = cl.relnamespace "
            "WHERE n.nspname = %s ORDER BY 1, 2",
            [schema],
        )
        constraints = [
            (t, name, kind, definition.replace(f"{schema}.", "")) for t, name, kind, definition in cursor.fetchall()
        ]
        cursor.execute(
            "SELECT indexname, replace(indexdef, %s, '') FROM pg_indexes WHERE schemaname = %s ORDER BY 1",
            [f"{schema}.", schema],
        )
        # A predicate re-parsed from its text deparses with casts placed differently; compare it without them.
        indexes = [(name, _normalized(definition)) for name, definition in cursor.fetchall()]
        cursor.execute(
            "SELECT c.relname, t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
            "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %s AND NOT t.tgisinternal ORDER BY 1, 2",
            [schema],
        )
        triggers = cursor.fetchall()
    return {"columns": columns, "constraints": constraints, "indexes": indexes, "triggers": triggers}


def test_a_cloned_schema_matches_the_base_schema(alpha: TenantHandle) -> None:
    from django.conf import settings

    base = _structure(settings.TENANT_BASE_SCHEMA)
    cloned = _structure(alpha.tenant.schema_name)
    assert len(base["columns"]) > 20
    assert cloned == base


def test_identity_sequences_continue_after_the_copied_rows(alpha: TenantHandle) -> None:
    from django.contrib.auth.models import Group
    from django_tenants.utils import tenant_context

    with tenant_context(alpha.tenant):
        group = Group.objects.create(name="Extra")
        assert group.id > max(Group.objects.exclude(id=group.id).values_list("id", flat=True))
