"""Reads routed to a real streaming replica (pg_basebackup -R, a free local port), and every way back to the primary."""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connections
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import tenant_context

from core.replica import REPLICA, note_write, replica_reads
from core.ttlcache import ttl_caches_forget
from tenants.cache import tenant_cache_invalidate
from tests.conftest import TenantHandle
from tests.support.replica import replica_paused, replica_wait, streaming_replica
from tests.timesheets.factories import auth, make_employee, make_project, make_suggestion, staff_token
from timesheets.models import Employee, ProjectAllocationSuggestion, TimesheetProjectAllocation

pytestmark = pytest.mark.slow


def _dsn(settings_dict: dict[str, Any], **overrides: Any) -> str:
    values = {
        "host": settings_dict["HOST"] or "127.0.0.1",
        "port": settings_dict["PORT"] or 5432,
        "user": settings_dict["USER"] or "postgres",
        "dbname": settings_dict["NAME"],
    }
    values.update(overrides)
    return " ".join(f"{key}={value}" for key, value in values.items())


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def replica(tenants: dict[str, TenantHandle], django_db_blocker: Any) -> Iterator[dict[str, Any]]:
    primary = connections["default"].settings_dict
    # A port of its own, so two test runs on one machine each get their replica.
    port = _free_port()
    with django_db_blocker.unblock(), streaming_replica(primary_dsn=_dsn(primary, dbname="postgres"), port=port):
        settings_dict = {**primary, "PORT": port, "OPTIONS": {"connect_timeout": 2}}
        connections.settings[REPLICA] = settings_dict
        try:
            yield settings_dict
        finally:
            connections[REPLICA].close()
            del connections[REPLICA]
            del connections.settings[REPLICA]


@pytest.fixture
def rows(tenants: dict[str, TenantHandle], django_db_blocker: Any, replica: dict[str, Any]) -> Iterator[dict[str, str]]:
    """One committed employee per tenant, replicated before the test reads."""
    names = {slug: f"Replicated {slug} {uuid.uuid4().hex[:6]}" for slug in tenants}
    with django_db_blocker.unblock():
        for slug, handle in tenants.items():
            with tenant_context(handle.tenant):
                Employee.objects.create(
                    name=names[slug], email=f"{uuid.uuid4().hex[:8]}@r.test", email_index=uuid.uuid4().hex
                )
        replica_wait(_dsn(connections["default"].settings_dict), _dsn(replica))
        try:
            yield names
        finally:
            for handle in tenants.values():
                with tenant_context(handle.tenant):
                    Employee.objects.filter(name__in=names.values()).delete()


def _in_recovery(alias: str) -> bool:
    with connections[alias].cursor() as cursor:
        cursor.execute("SELECT pg_is_in_recovery()")
        return bool(cursor.fetchone()[0])


def test_reads_in_a_replica_block_are_answered_by_the_standby_with_the_right_tenants_rows(
    tenants: dict[str, TenantHandle], rows: dict[str, str], django_db_blocker: Any
) -> None:
    with django_db_blocker.unblock():
        assert _in_recovery("default") is False
        for slug, handle in tenants.items():
            with tenant_context(handle.tenant), replica_reads(schema=handle.tenant.schema_name, user_id=None) as used:
                assert used is True
                with CaptureQueriesContext(connections[REPLICA]) as on_replica:
                    names = set(Employee.objects.filter(name__startswith="Replicated").values_list("name", flat=True))
                assert names == {rows[slug]}  # this tenant's row, not the other's
                assert len(on_replica.captured_queries) >= 1
                assert _in_recovery(REPLICA) is True
                assert connections[REPLICA].schema_name == handle.tenant.schema_name  # type: ignore[attr-defined]


def test_outside_a_replica_block_reads_stay_on_the_primary(
    tenants: dict[str, TenantHandle], rows: dict[str, str], django_db_blocker: Any
) -> None:
    handle = tenants["alpha"]
    with django_db_blocker.unblock(), tenant_context(handle.tenant):
        with CaptureQueriesContext(connections[REPLICA]) as on_replica:
            assert Employee.objects.filter(name=rows["alpha"]).exists()
        assert on_replica.captured_queries == []


def test_a_user_who_just_wrote_reads_from_the_primary(
    tenants: dict[str, TenantHandle], rows: dict[str, str], django_db_blocker: Any
) -> None:
    handle = tenants["alpha"]
    with django_db_blocker.unblock(), tenant_context(handle.tenant):
        note_write(schema=handle.tenant.schema_name, user_id=42)
        with replica_reads(schema=handle.tenant.schema_name, user_id=42) as used:
            assert used is False
            with CaptureQueriesContext(connections[REPLICA]) as on_replica:
                assert Employee.objects.filter(name=rows["alpha"]).exists()
        assert on_replica.captured_queries == []
        with replica_reads(schema=handle.tenant.schema_name, user_id=43) as used_by_other:
            assert used_by_other is True


def test_an_unreachable_replica_falls_back_to_the_primary_with_a_warning(
    tenants: dict[str, TenantHandle], django_db_blocker: Any, replica: dict[str, Any], caplog: Any
) -> None:
    handle = tenants["alpha"]
    connections[REPLICA].close()
    connections.settings[REPLICA] = {**replica, "PORT": 1}  # nothing listens there
    del connections[REPLICA]
    try:
        with (
            django_db_blocker.unblock(),
            tenant_context(handle.tenant),
            replica_reads(schema=handle.tenant.schema_name, user_id=None) as used,
        ):
            assert used is False
            assert Employee.objects.count() >= 0  # answered, by the primary
        assert "read replica unreachable" in caplog.text
    finally:
        ttl_caches_forget()
        connections[REPLICA].close()
        del connections[REPLICA]
        connections.settings[REPLICA] = replica


def test_a_user_who_just_decided_never_gets_a_pending_page_another_reader_cached_from_a_lagging_replica(
    tenants: dict[str, TenantHandle], django_db_blocker: Any, replica: dict[str, Any]
) -> None:
    handle = tenants["alpha"]
    pending = "/api/timesheet-intelligence/suggestions/pending"
    with django_db_blocker.unblock():
        writer, reader = staff_token(handle), staff_token(handle)
        project = make_project(handle, code=f"RYW{uuid.uuid4().hex[:6]}")
        employee = make_employee(handle)
        suggestion = make_suggestion(handle, employee, project)
        filters = f"?project={project.id}"
        try:
            with tenant_context(handle.tenant):
                tenant_cache_invalidate(namespace="suggestions")
            replica_wait(_dsn(connections["default"].settings_dict), _dsn(replica))
            with replica_paused(_dsn(replica)):
                accepted = handle.client().post(
                    "/api/timesheet-intelligence/suggestions/accept",
                    {"ids": [str(suggestion.id)]},
                    content_type="application/json",
                    **auth(writer),
                )
                assert accepted.json()["accepted"] == 1
                # Another reader, who wrote nothing, reads from the replica: it has not replayed the accept yet.
                lagging = handle.client().get(pending + filters, **auth(reader))
                assert [row["id"] for row in lagging.json()["results"]] == [str(suggestion.id)]
                # The writer's reads go to the primary, and so must the page they are served.
                own = handle.client().get(pending + filters, **auth(writer))
                assert own.json()["results"] == [], own["X-Cache"]
                assert handle.client().get(pending + filters, **auth(writer)).json()["results"] == []
        finally:
            with tenant_context(handle.tenant):
                TimesheetProjectAllocation.objects.filter(project=project).delete()
                ProjectAllocationSuggestion.objects.filter(project=project).delete()
                project.delete()
                employee.delete()
                User.objects.filter(auth_token__key__in=[writer, reader]).delete()
                tenant_cache_invalidate(namespace="suggestions")
