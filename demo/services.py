"""Writes the demo company into one tenant: the world of demo/world.py, one COPY per table per chunk.

Rows are generated per chunk of employees and written with one COPY per table per chunk: memory is bounded
by the chunk, never by the tenant. Work patterns are then derived from the allocations by timesheets' own
recompute, exactly as the nightly recompute would have them. Product code never imports this app.
"""

from __future__ import annotations

import time as clock
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from django.db import connection, models, transaction

from audit.services import Actor, audit_append
from core.errors import Conflict
from demo.world import (
    ALLOCATIONS,
    EMPLOYEE_TABLES,
    PROJECTS,
    SUGGESTIONS,
    DemoSpec,
    Indexer,
    Row,
    Sealer,
    Table,
    hours_of,
    plan_projects,
    project_rows,
    simulate_employee,
)
from jira_sync.models import JiraIssueAssignment, JiraWorkLog
from tenants.crypto import FieldContext, blind_index, field_encrypt
from timesheets.models import (
    AttendanceRecord,
    Employee,
    Project,
    ProjectAllocationSuggestion,
    TimesheetProjectAllocation,
    UnallocatedDay,
    WorkPattern,
)
from timesheets.services import (
    allocations_copy,
    suggestions_cache_invalidate,
    suggestions_copy,
    work_patterns_recompute,
)

SEED_ACTOR = Actor(kind="system", label="seed_demo")
PATTERNS = "work_patterns"

# Everything --reset empties: the demo tables and the generation output that hangs off them.
RESET_MODELS: tuple[type[models.Model], ...] = (
    Project,
    Employee,
    AttendanceRecord,
    WorkPattern,
    ProjectAllocationSuggestion,
    TimesheetProjectAllocation,
    UnallocatedDay,
    JiraWorkLog,
    JiraIssueAssignment,
)


class DemoDataExists(Conflict):
    code = "demo_data_exists"


@dataclass
class TableStats:
    rows: int = 0
    seconds: float = 0.0


@dataclass
class SeedSummary:
    employees: int
    projects: int
    attended_days: int
    worked_hours: Decimal
    tables: dict[str, TableStats]
    generate_seconds: float = 0.0
    total_seconds: float = 0.0


def tenant_sealer(schema: str) -> tuple[Sealer, Indexer]:
    """Encrypt and blind-index PII exactly as the Employee model fields would (COPY bypasses them)."""
    table = Employee._meta.db_table

    def seal(column: str, row_id: uuid.UUID, plaintext: str) -> str:
        return field_encrypt(plaintext, FieldContext(schema=schema, table=table, column=column, row_id=str(row_id)))

    def index(value: str, purpose: str) -> str:
        return blind_index(value, purpose=purpose, schema_name=schema)

    return seal, index


def _copy(cursor: Any, table: Table, rows: Sequence[Row], stats: TableStats) -> None:
    """One COPY of a chunk's rows; suggestions and allocations go through timesheets' bulk services."""
    began = clock.perf_counter()
    if table is SUGGESTIONS:
        written = suggestions_copy(rows=rows)
    elif table is ALLOCATIONS:
        written = allocations_copy(rows=rows, skip_existing=False)
    else:
        quote = connection.ops.quote_name
        columns = ", ".join(quote(c) for c in table.columns)
        with cursor.cursor.copy(f"COPY {quote(table.db_table)} ({columns}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        written = len(rows)
    stats.rows += written
    stats.seconds += clock.perf_counter() - began


def demo_reset() -> None:
    """Empty the current tenant's demo tables (and everything hanging off them) in this transaction."""
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        # Rows written earlier in this transaction leave deferred foreign-key checks that TRUNCATE refuses to
        # skip: run them now, then go back to Django's deferred default.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(f"TRUNCATE TABLE {', '.join(quote(m._meta.db_table) for m in RESET_MODELS)} CASCADE")
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")


def demo_seed(
    *,
    spec: DemoSpec,
    reset: bool = False,
    now: datetime | None = None,
    on_progress: Callable[[str], None] | None = None,
) -> SeedSummary:
    """Fill the current tenant with the spec's world in one transaction; refuses a tenant that has data."""
    began = clock.perf_counter()
    now = now or datetime.now(UTC)
    report = on_progress or (lambda _line: None)
    with transaction.atomic():
        if not reset:
            employees, projects_count = Employee.objects.count(), Project.objects.count()
            if employees or projects_count:
                raise DemoDataExists(
                    f"The tenant already has {employees} employees and {projects_count} projects; "
                    "run again with --reset to replace its demo data (this empties its timesheet, "
                    "attendance and Jira tables)."
                )
        else:
            demo_reset()
            report(f"reset: emptied {len(RESET_MODELS)} tables in {clock.perf_counter() - began:.2f} s")
        projects = plan_projects(spec)
        seal, index = tenant_sealer(spec.schema)
        stats = {name: TableStats() for name in (PROJECTS.name, *(table.name for table in EMPLOYEE_TABLES), PATTERNS)}
        summary = SeedSummary(
            employees=spec.employees, projects=len(projects), attended_days=0, worked_hours=Decimal(0), tables=stats
        )
        worked = 0
        with connection.cursor() as cursor:
            _copy(cursor, PROJECTS, project_rows(spec, projects, now), stats[PROJECTS.name])
            for first in range(0, spec.employees, spec.chunk_size):
                numbers = range(first + 1, min(first + spec.chunk_size, spec.employees) + 1)
                generating = clock.perf_counter()
                chunk: dict[str, list[Row]] = {table.name: [] for table in EMPLOYEE_TABLES}
                for number in numbers:
                    rows = simulate_employee(spec, projects, number, now=now, seal=seal, index=index)
                    for name, table_rows in rows.tables.items():
                        chunk[name].extend(table_rows)
                    summary.attended_days += rows.attended_days
                    worked += rows.worked_hundredths
                summary.generate_seconds += clock.perf_counter() - generating
                for table in EMPLOYEE_TABLES:
                    _copy(cursor, table, chunk[table.name], stats[table.name])
                del chunk
                report(
                    f"employees {numbers[-1]}/{spec.employees}: "
                    + ", ".join(f"{name} {s.rows}" for name, s in stats.items())
                )
        # The patterns as the nightly recompute had them when the review history ended.
        recomputing = clock.perf_counter()
        stats[PATTERNS].rows = work_patterns_recompute(as_of=spec.history_end)
        stats[PATTERNS].seconds = clock.perf_counter() - recomputing
        summary.worked_hours = hours_of(worked)
        audit_append(
            actor=SEED_ACTOR,
            action="demo.seed",
            object_type="tenant",
            object_id=spec.schema,
            data={
                "seed": spec.seed,
                "employees": spec.employees,
                "days": spec.days,
                "end_date": spec.end_date.isoformat(),
                "reset": reset,
                "rows": {name: s.rows for name, s in stats.items()},
            },
        )
        suggestions_cache_invalidate()  # the reset may have removed pending suggestions
    summary.total_seconds = clock.perf_counter() - began
    return summary
