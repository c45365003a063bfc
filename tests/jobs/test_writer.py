"""The chunk writer: writes on its own connection in the job's tenant, in order, and never hides a failure."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.db import connection, transaction
from django_tenants.utils import tenant_context

from jobs.writer import ChunkWriter
from tests.conftest import TenantHandle


def _seen_by_writer(log: list[tuple[int, int, str, int]]) -> Any:
    def write(chunk: int) -> None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid(), current_schema()")
            pid, schema = cursor.fetchone()
        log.append((threading.get_ident(), pid, schema, chunk))

    return write


def test_it_writes_every_chunk_in_order_on_its_own_connection_in_the_tenant_schema(
    tenants: dict[str, TenantHandle], django_db_blocker: Any
) -> None:
    log: list[tuple[int, int, str, int]] = []
    with django_db_blocker.unblock(), tenant_context(tenants["beta"].tenant):
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            own_pid = cursor.fetchone()[0]
        with ChunkWriter(_seen_by_writer(log)) as writer:
            assert writer.pipelined
            for chunk in range(5):
                writer.submit(chunk)
        connection.close()

    assert [chunk for _, _, _, chunk in log] == [0, 1, 2, 3, 4]
    assert {thread for thread, _, _, _ in log} != {threading.get_ident()}
    assert own_pid not in {pid for _, pid, _, _ in log}
    assert {schema for _, _, schema, _ in log} == {tenants["beta"].tenant.schema_name}


def test_a_failed_write_is_raised_to_the_caller_and_later_chunks_are_not_written(
    tenants: dict[str, TenantHandle], django_db_blocker: Any
) -> None:
    written: list[int] = []

    def write(chunk: int) -> None:
        if chunk == 1:
            raise RuntimeError("disk full")
        written.append(chunk)

    def run() -> None:
        with ChunkWriter(write) as writer:
            for chunk in range(50):
                writer.submit(chunk)

    with (
        django_db_blocker.unblock(),
        tenant_context(tenants["alpha"].tenant),
        pytest.raises(RuntimeError, match="disk full"),
    ):
        run()
    assert written == [0]


def test_inside_an_open_transaction_it_writes_in_line(alpha: TenantHandle) -> None:
    log: list[tuple[int, int, str, int]] = []
    with tenant_context(alpha.tenant), transaction.atomic():
        writer = ChunkWriter(_seen_by_writer(log))
        writer.submit(7)
        writer.close()
    assert not writer.pipelined
    assert [(thread, chunk) for thread, _, _, chunk in log] == [(threading.get_ident(), 7)]


def test_a_write_that_failed_is_reported_rather_than_the_callers_later_error(
    tenants: dict[str, TenantHandle], django_db_blocker: Any
) -> None:
    def write(chunk: int) -> None:
        raise LookupError(f"chunk {chunk} refused")

    def run() -> None:
        with ChunkWriter(write) as writer:
            writer.submit(1)
            raise TimeoutError("the caller gave up")

    with (
        django_db_blocker.unblock(),
        tenant_context(tenants["alpha"].tenant),
        pytest.raises(LookupError, match="chunk 1 refused") as raised,
    ):
        run()
    assert isinstance(raised.value.__context__, TimeoutError)
