"""The bulk path into suggestions, allocations and unallocated days: COPY, for generation and the demo company.

Rows are tuples in the order of the `*_COLUMNS` below, so a caller builds them without a model instance per
row. A table is written either straight with COPY (rows known to be new) or with COPY into a session staging
table followed by INSERT ... ON CONFLICT DO NOTHING (rows that may already be there: re-running a period).
These are the only writes to the three tables outside the review and import services of this package.
"""

# ruff: noqa: S608 - table names come from model metadata; every value is a bound parameter.
from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db import connection, models, transaction

from audit.services import ActorLike, audit_append
from timesheets.lifecycle import frozen_weeks, locked_dates, week_start_of
from timesheets.models import ProjectAllocationSuggestion, SuggestionStatus, TimesheetProjectAllocation, UnallocatedDay
from timesheets.services.pending import suggestions_cache_invalidate

Row = tuple[Any, ...]

SUGGESTION_COLUMNS = (
    "id", "employee_id", "project_id", "date", "hours", "confidence", "source", "explanation", "status",
    "expiry_date", "accepted_hours", "decided_at", "job_id", "created_at",
)  # fmt: skip
ALLOCATION_COLUMNS = (
    "id", "employee_id", "project_id", "date", "hours", "suggestion_id", "suggestion_accepted", "created_at",
    "updated_at",
)  # fmt: skip
UNALLOCATED_COLUMNS = ("id", "employee_id", "date", "attended_hours", "reason", "job_id", "created_at")


def _copy(model: type[models.Model], columns: Sequence[str], rows: Sequence[Row], *, skip_existing: bool) -> int:
    """COPY rows into the model's table; with `skip_existing`, through a staging table and ON CONFLICT DO NOTHING.

    Returns the rows written (with `skip_existing`, those that were not there yet).
    """
    if not rows:
        return 0
    quote = connection.ops.quote_name
    table = model._meta.db_table
    column_list = ", ".join(quote(column) for column in columns)
    target = f"stage_{table}" if skip_existing else table
    written = 0
    with connection.cursor() as cursor:
        if skip_existing:
            cursor.execute(
                f"CREATE TEMP TABLE IF NOT EXISTS {quote(target)} (LIKE {quote(table)} INCLUDING DEFAULTS) "
                "ON COMMIT DELETE ROWS"
            )
        with cursor.cursor.copy(f"COPY {quote(target)} ({column_list}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
                written += 1
        if skip_existing:
            cursor.execute(
                f"INSERT INTO {quote(table)} ({column_list}) SELECT {column_list} FROM {quote(target)} "
                "ON CONFLICT DO NOTHING"
            )
            written = int(cursor.rowcount)
            # Emptied now rather than at commit: the same transaction may stage the next batch.
            cursor.execute(f"TRUNCATE {quote(target)}")
    return written


@transaction.atomic
def suggestions_copy(*, rows: Sequence[Row]) -> int:
    """COPY suggestion rows (SUGGESTION_COLUMNS) straight into the table; the partial unique index still refuses a
    second pending suggestion for an employee, project and day."""
    written = _copy(ProjectAllocationSuggestion, SUGGESTION_COLUMNS, rows, skip_existing=False)
    if written:
        suggestions_cache_invalidate()
    return written


@transaction.atomic
def allocations_copy(*, rows: Sequence[Row], skip_existing: bool) -> int:
    """COPY allocation rows (ALLOCATION_COLUMNS); with `skip_existing`, an employee, project and day that already
    has an allocation keeps it (accepted hours are never overwritten by a re-run)."""
    return _copy(TimesheetProjectAllocation, ALLOCATION_COLUMNS, rows, skip_existing=skip_existing)


@transaction.atomic
def unallocated_days_copy(*, rows: Sequence[Row], skip_existing: bool) -> int:
    """COPY unallocated-day flags (UNALLOCATED_COLUMNS); with `skip_existing`, a day already flagged stays as is."""
    return _copy(UnallocatedDay, UNALLOCATED_COLUMNS, rows, skip_existing=skip_existing)


@dataclass(frozen=True)
class PendingBefore:
    """The employees with pending suggestions in a period when a generation run starts, found with one query
    before the run writes anything: the only employees whose chunks have stale rows to delete.

    A run writes tens of thousands of pending rows into a period whose statistics were taken when it had none.
    Asked for "pending rows of these employees in this period", the planner then trusts a status-led index to
    find almost nothing and walks every pending row the run has written so far, for every chunk: a month for
    10,000 people turned quadratic (0.6-0.9 s a chunk by its end, with nothing to delete). So chunks without
    stale rows skip the DELETE, and the others find their rows through the employee. Only the run holding the
    generation lease creates pending suggestions, so none appear meanwhile.
    """

    employees: frozenset[uuid.UUID]

    @classmethod
    def find(cls, *, start: date, end: date, employee_ids: Sequence[uuid.UUID] | None = None) -> PendingBefore:
        found = ProjectAllocationSuggestion.objects.filter(status=SuggestionStatus.PENDING, date__range=(start, end))
        if employee_ids is not None:
            found = found.filter(employee_id__in=employee_ids)
        return cls(frozenset(found.values_list("employee_id", flat=True).distinct()))

    def of(self, employee_ids: Sequence[uuid.UUID]) -> list[uuid.UUID]:
        """Those of these employees that have stale pending rows."""
        return [employee_id for employee_id in employee_ids if employee_id in self.employees]


@dataclass(frozen=True)
class GeneratedRows:
    """One chunk of a generation run, as rows in the column orders above."""

    suggestions: Sequence[Row]
    allocations: Sequence[Row]
    unallocated: Sequence[Row]


@dataclass(frozen=True)
class GeneratedWritten:
    suggestions: int
    allocations: int
    unallocated: int


@transaction.atomic
def suggestions_generated_replace(
    *,
    actor: ActorLike,
    job_id: uuid.UUID,
    employee_ids: Sequence[uuid.UUID],
    start: date,
    end: date,
    rows: GeneratedRows,
    pending_before: PendingBefore | None = None,
) -> GeneratedWritten:
    """Replace the pending suggestions and unallocated-day flags of these employees and days with a run's rows.

    With `pending_before` (a run of many chunks), the stale pending rows are those it found; without, they are
    looked up by employee, status and date. Accepted and rejected suggestions stay. The pending ones were just
    deleted and only the job holding the tenant's generation lease creates them, so suggestions go straight in;
    auto-accepted allocations and the flags go through ON CONFLICT DO NOTHING, so re-running a period never
    duplicates or overwrites.
    """
    suggestions = ProjectAllocationSuggestion._meta.db_table
    unallocated = UnallocatedDay._meta.db_table
    ids = list(employee_ids)
    # Days of a closed pay period keep what they have (the caller skipped them; this holds for any caller), and
    # an approved week's allocations stay frozen: their auto-accepted rows are not written.
    locked = sorted(locked_dates(start, end))
    if locked:
        rows = GeneratedRows(
            suggestions=[row for row in rows.suggestions if row[3] not in locked],
            allocations=[row for row in rows.allocations if row[3] not in locked],
            unallocated=[row for row in rows.unallocated if row[2] not in locked],
        )
    frozen = frozen_weeks(employee_ids=ids, date_from=start, date_to=end)
    if frozen:
        held = {row[5] for row in rows.allocations if (str(row[1]), week_start_of(row[3])) in frozen}
        rows = GeneratedRows(
            # A confident suggestion for a frozen week waits for review instead of being accepted.
            suggestions=[
                (*row[:8], SuggestionStatus.PENDING, row[9], None, None, *row[12:]) if row[0] in held else row
                for row in rows.suggestions
            ],
            allocations=[row for row in rows.allocations if row[5] not in held],
            unallocated=rows.unallocated,
        )
    with connection.cursor() as cursor:
        if pending_before is None:
            cursor.execute(
                f"DELETE FROM {suggestions} WHERE status = %s AND employee_id = ANY(%s) AND date BETWEEN %s AND %s "
                "AND NOT date = ANY(%s::date[])",
                [SuggestionStatus.PENDING, ids, start, end, locked],
            )
        elif stale := pending_before.of(ids):
            # Through the employee index only: `status || ''` and `date + 0` keep the same stale statistics from
            # sending the planner down the status-led indexes (see PendingBefore).
            cursor.execute(
                f"DELETE FROM {suggestions} WHERE employee_id = ANY(%s) AND status || '' = %s "
                "AND date + 0 BETWEEN %s AND %s AND NOT date = ANY(%s::date[])",
                [stale, SuggestionStatus.PENDING, start, end, locked],
            )
        cursor.execute(
            f"DELETE FROM {unallocated} WHERE employee_id = ANY(%s) AND date BETWEEN %s AND %s "
            "AND NOT date = ANY(%s::date[])",
            [ids, start, end, locked],
        )
    written = GeneratedWritten(
        suggestions=_copy(ProjectAllocationSuggestion, SUGGESTION_COLUMNS, rows.suggestions, skip_existing=False),
        allocations=_copy(TimesheetProjectAllocation, ALLOCATION_COLUMNS, rows.allocations, skip_existing=True),
        unallocated=_copy(UnallocatedDay, UNALLOCATED_COLUMNS, rows.unallocated, skip_existing=True),
    )
    if written.allocations:
        audit_append(
            actor=actor,
            action="suggestions.auto_accept",
            object_type="job",
            object_id=job_id,
            data={"allocations": written.allocations, "employees": len(ids)},
        )
    suggestions_cache_invalidate()
    return written
