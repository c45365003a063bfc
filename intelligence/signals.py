"""Loads the evidence for a chunk of employees over a period with a fixed number of queries.

Six queries per chunk whatever its size (attendance, allocations, rejections, work logs, assignments, and the
recent allocations from which intelligence/history.py computes each employee's project mix), returned as
plain dictionaries keyed by employee and day for the rules engine. A run of many chunks reads the period's
rejections once before it writes (`PeriodRejections`), and its chunks take theirs from that: five queries each.

Employee and project ids are read as text, not `uuid.UUID`: a chunk makes millions of dictionary lookups,
and a string caches its hash where a UUID computes it in Python on every lookup.
"""

# ruff: noqa: S608 - table names come from model metadata; every value is a bound parameter.
from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.db import connection
from psycopg.types.string import TextLoader

from intelligence.history import recent_mixes
from intelligence.rules import DaySignals, PatternSignal
from jira_sync.models import JiraIssueAssignment, JiraWorkLog
from timesheets.models import (
    AttendanceRecord,
    ProjectAllocationSuggestion,
    SuggestionStatus,
    TimesheetProjectAllocation,
)

EmployeeDay = tuple[str, date]


@dataclass
class ChunkSignals:
    attendance: dict[EmployeeDay, Decimal] = field(default_factory=dict)
    allocated: dict[EmployeeDay, dict[str, Decimal]] = field(default_factory=lambda: defaultdict(dict))
    rejected: dict[EmployeeDay, set[str]] = field(default_factory=lambda: defaultdict(set))
    logged_seconds: dict[EmployeeDay, dict[str, int]] = field(default_factory=lambda: defaultdict(dict))
    logged_issues: dict[EmployeeDay, dict[str, tuple[str, ...]]] = field(default_factory=lambda: defaultdict(dict))
    open_issues: dict[str, dict[str, int]] = field(default_factory=lambda: defaultdict(dict))
    patterns: dict[tuple[str, int], dict[str, PatternSignal]] = field(default_factory=lambda: defaultdict(dict))

    def day(self, employee_id: str, day: date) -> DaySignals:
        key = (employee_id, day)
        return DaySignals(
            attended_hours=self.attendance.get(key, Decimal(0)),
            allocated=self.allocated.get(key, {}),
            excluded=frozenset(self.rejected.get(key, ())),
            logged_seconds=self.logged_seconds.get(key, {}),
            logged_issues=self.logged_issues.get(key, {}),
            open_issues=self.open_issues.get(employee_id, {}),
            patterns=self.patterns.get((employee_id, day.weekday()), {}),
        )


@dataclass(frozen=True)
class PeriodRejections:
    """The rejected suggestions of a period, read with one query before a generation run writes anything.

    A run writes hundreds of thousands of pending rows into a period whose statistics were taken before it had
    them. Asked per chunk for "rejected rows of these employees in this period", the planner then walks the
    open-suggestion date index (pending and rejected rows) through every pending row the run has written so
    far: 0.3 s a chunk by the end of a month for 10,000 people, for nothing found. Read once at the start, the
    same index holds only what earlier runs and people left there. Only people reject suggestions, so the
    snapshot is what a chunk read at its own start would have found, bar a rejection made during the run.
    """

    by_employee: dict[str, dict[date, set[str]]]

    @classmethod
    def load(
        cls,
        *,
        start: date,
        end: date,
        employee_ids: Sequence[uuid.UUID] | None = None,
        rows: Callable[[str, Sequence[Any]], list[tuple[Any, ...]]] | None = None,
    ) -> PeriodRejections:
        """One query, through `rows` when the caller has a cursor open (its ids may load as text or as UUIDs)."""
        sql = (
            f"SELECT employee_id, date, project_id FROM {ProjectAllocationSuggestion._meta.db_table} "
            "WHERE date BETWEEN %s AND %s AND status = %s"
        )
        params: list[Any] = [start, end, SuggestionStatus.REJECTED]
        if employee_ids is not None:
            sql = f"{sql} AND employee_id = ANY(%s)"
            params = [*params, list(employee_ids)]
        if rows is not None:
            found = rows(sql, params)
        else:
            with connection.cursor() as cursor:
                cursor.cursor.adapters.register_loader("uuid", TextLoader)  # this cursor only
                cursor.execute(sql, params)
                found = list(cursor.fetchall())
        by_employee: dict[str, dict[date, set[str]]] = defaultdict(lambda: defaultdict(set))
        for employee_id, day, project_id in found:
            by_employee[str(employee_id)][day].add(str(project_id))
        return cls(dict(by_employee))

    def fill(self, rejected: dict[EmployeeDay, set[str]], employee_ids: Sequence[uuid.UUID]) -> None:
        """Add these employees' rejections to a chunk's `rejected`."""
        for employee_id in employee_ids:
            key = str(employee_id)
            for day, projects in self.by_employee.get(key, {}).items():
                rejected[(key, day)] = set(projects)


def signals_load(
    *,
    employee_ids: list[uuid.UUID],
    start: date,
    end: date,
    active_projects: frozenset[uuid.UUID] | frozenset[str],
    rejections: PeriodRejections | None = None,
) -> ChunkSignals:
    """The chunk's evidence; every employee and project id in it is the id's text form.

    With `rejections` (a run of many chunks), the chunk's rejected suggestions come from that snapshot."""
    signals = ChunkSignals()
    ids = list(employee_ids)
    period = [ids, start, end]
    active = frozenset(str(project_id) for project_id in active_projects)
    # One cursor for all six queries: django-tenants sets the search path once per cursor.
    with connection.cursor() as cursor:
        cursor.cursor.adapters.register_loader("uuid", TextLoader)  # this cursor only

        def _rows(sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
            cursor.execute(sql, params)
            return list(cursor.fetchall())

        _load_into(signals, _rows, ids=ids, period=period, active_projects=active, rejections=rejections)
    return signals


def _load_into(
    signals: ChunkSignals,
    _rows: Any,
    *,
    ids: list[uuid.UUID],
    period: list[Any],
    active_projects: frozenset[str],
    rejections: PeriodRejections | None,
) -> None:
    for employee_id, day, hours in _rows(
        f"SELECT employee_id, date, worked_hours FROM {AttendanceRecord._meta.db_table} "
        "WHERE employee_id = ANY(%s) AND date BETWEEN %s AND %s",
        period,
    ):
        signals.attendance[(employee_id, day)] = hours
    for employee_id, day, project_id, hours in _rows(
        f"SELECT employee_id, date, project_id, hours FROM {TimesheetProjectAllocation._meta.db_table} "
        "WHERE employee_id = ANY(%s) AND date BETWEEN %s AND %s",
        period,
    ):
        signals.allocated[(employee_id, day)][project_id] = hours
    if rejections is None:
        rejections = PeriodRejections.load(start=period[1], end=period[2], employee_ids=ids, rows=_rows)
    rejections.fill(signals.rejected, ids)
    for employee_id, day, project_id, seconds, issues in _rows(
        "SELECT employee_id, work_date, project_id, sum(seconds), "
        "(array_agg(issue_key ORDER BY seconds DESC))[1:4] "
        f"FROM {JiraWorkLog._meta.db_table} "
        "WHERE employee_id = ANY(%s) AND work_date BETWEEN %s AND %s AND project_id IS NOT NULL "
        "GROUP BY employee_id, work_date, project_id",
        period,
    ):
        if project_id in active_projects:
            key = (employee_id, day)
            signals.logged_seconds[key][project_id] = int(seconds)
            signals.logged_issues[key][project_id] = tuple(dict.fromkeys(issues))
    for employee_id, project_id, count in _rows(
        f"SELECT employee_id, project_id, count(*) FROM {JiraIssueAssignment._meta.db_table} "
        "WHERE employee_id = ANY(%s) AND is_active AND project_id IS NOT NULL GROUP BY employee_id, project_id",
        [ids],
    ):
        if project_id in active_projects:
            signals.open_issues[employee_id][project_id] = int(count)
    for key, mixes in recent_mixes(employee_ids=ids, as_of=period[1] - timedelta(days=1), rows=_rows).items():
        signals.patterns[key] = {
            project_id: PatternSignal(mix.hours, mix.weeks_observed, mix.share_sd)
            for project_id, mix in mixes.items()
            if project_id in active_projects
        }
