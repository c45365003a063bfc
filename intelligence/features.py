"""Feature builder: employee x project x day candidates and their features, a whole chunk of employees at once.

The evidence of a chunk (attendance, accepted allocations over the 8 weeks before the period, Jira work
logged from the week before, open assignments, decided suggestions) is read with five queries whatever
the chunk's size, laid out as dense (employee-project pair x day) numpy arrays, and every feature is
computed for every candidate with array arithmetic: window sums come from cumulative sums, weekday
habits from 7-day strides, recency from a running maximum. Nothing here loops over candidates.

A candidate is a project the employee has evidence for on an attended day: work logged that day, an open
assigned issue, or hours accepted in the 8 weeks before it. Rejected suggestions are labels ("no"), never
evidence. Features of day t only ever look at allocations before t, so the same builder
serves training (where allocations of day t are the label) and prediction.

History windows end at the employee's *anchor*: the day after their last confirmed (allocated) day before t.
In training the anchor is (nearly) t; when a month is generated ahead, days late in the period have no
confirmed history since its start, and anchoring keeps their features what they were at the start instead
of decaying towards "never worked here". The holdout is built the same way (its allocations hidden from the
features), so it measures the model as generation uses it.
"""

# ruff: noqa: S608 - table names come from model metadata; every value is a bound parameter.
from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt
from django.db import connection

from intelligence.signals import PeriodRejections
from jira_sync.models import JiraIssueAssignment, JiraWorkLog
from timesheets.models import (
    AttendanceRecord,
    Project,
    TimesheetProjectAllocation,
)

FloatArray = npt.NDArray[np.float32]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

FEATURE_VERSION = 1
HISTORY_DAYS = 56  # 8 weeks of accepted allocations before each day
LOG_LOOKBACK_DAYS = 7  # Jira work logged in the week before the day
NEVER_DAYS = HISTORY_DAYS + 4  # "days since last worked" when not within the history window
PHASE_CAP_DAYS = 365

FEATURE_NAMES: tuple[str, ...] = (
    "weekday",
    "attended_hours",
    "share_2w",
    "share_4w",
    "share_8w",
    "weekday_share_8w",
    "weekday_avg_hours_8w",
    "weekday_weeks_8w",
    "days_since_last",
    "logged_hours",
    "logged_share",
    "logged_total_ratio",
    "logged_hours_prev_week",
    "logged_share_prev_week",
    "open_issues",
    "open_issues_total",
    "candidates",
    "history_days_8w",
    "project_age_days",
    "project_days_to_end",
)
F = {name: index for index, name in enumerate(FEATURE_NAMES)}


@dataclass(frozen=True)
class ProjectTable:
    """The tenant's projects, indexed 0..n-1; phase dates as day numbers (None when unknown)."""

    ids: tuple[uuid.UUID, ...]
    index: dict[uuid.UUID, int]
    starts_on: tuple[date | None, ...]
    ends_on: tuple[date | None, ...]
    active: tuple[bool, ...]

    @classmethod
    def load(cls) -> ProjectTable:
        rows = list(Project.objects.order_by("id").values_list("id", "starts_on", "ends_on", "active"))
        return cls.from_rows(rows)

    @classmethod
    def from_rows(cls, rows: Sequence[tuple[uuid.UUID, date | None, date | None, bool]]) -> ProjectTable:
        ids = tuple(row[0] for row in rows)
        return cls(
            ids=ids,
            index={project_id: i for i, project_id in enumerate(ids)},
            starts_on=tuple(row[1] for row in rows),
            ends_on=tuple(row[2] for row in rows),
            active=tuple(bool(row[3]) for row in rows),
        )

    def __len__(self) -> int:
        return len(self.ids)


@dataclass
class ChunkRecords:
    """The raw evidence of a chunk of employees, as flat numpy columns (day numbers count from `first`)."""

    employee_ids: list[uuid.UUID]
    first: date  # the first day of the arrays: HISTORY_DAYS before `start`
    start: date
    end: date
    attendance: tuple[IntArray, IntArray, FloatArray]  # employee, day, hours
    allocations: tuple[IntArray, IntArray, IntArray, FloatArray]  # employee, project, day, hours
    worklogs: tuple[IntArray, IntArray, IntArray, FloatArray]  # employee, project, day, hours
    open_issues: tuple[IntArray, IntArray, FloatArray]  # employee, project, count
    rejected: tuple[IntArray, IntArray, IntArray]  # employee, project, day

    @property
    def days(self) -> int:
        return (self.end - self.first).days + 1

    @property
    def offset(self) -> int:
        """Array day number of `start`."""
        return (self.start - self.first).days


def _ints(values: Sequence[int]) -> IntArray:
    return np.asarray(values, dtype=np.int64)


def _floats(values: Sequence[float]) -> FloatArray:
    return np.asarray(values, dtype=np.float32)


def records_load(
    *,
    employee_ids: list[uuid.UUID],
    start: date,
    end: date,
    projects: ProjectTable,
    rejections: PeriodRejections | None = None,
) -> ChunkRecords:
    """Five queries for the chunk, however many employees and days it spans; four with `rejections`, a generation
    run's snapshot of the period's rejected suggestions (see `PeriodRejections`)."""
    first = start - timedelta(days=HISTORY_DAYS)
    employees = {employee_id: i for i, employee_id in enumerate(employee_ids)}
    ids = list(employee_ids)
    project_index = projects.index

    def day_number(day: date) -> int:
        return (day - first).days

    with connection.cursor() as cursor:

        def rows(sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
            cursor.execute(sql, params)
            return list(cursor.fetchall())

        attendance = rows(
            f"SELECT employee_id, date, worked_hours FROM {AttendanceRecord._meta.db_table} "
            "WHERE employee_id = ANY(%s) AND date BETWEEN %s AND %s AND worked_hours > 0",
            [ids, start, end],
        )
        allocations = rows(
            f"SELECT employee_id, project_id, date, hours FROM {TimesheetProjectAllocation._meta.db_table} "
            "WHERE employee_id = ANY(%s) AND date BETWEEN %s AND %s AND hours > 0",
            [ids, first, end],
        )
        worklogs = rows(
            f"SELECT employee_id, project_id, work_date, sum(seconds) FROM {JiraWorkLog._meta.db_table} "
            "WHERE employee_id = ANY(%s) AND work_date BETWEEN %s AND %s AND project_id IS NOT NULL "
            "GROUP BY employee_id, project_id, work_date",
            [ids, start - timedelta(days=LOG_LOOKBACK_DAYS), end],
        )
        assignments = rows(
            f"SELECT employee_id, project_id, count(*) FROM {JiraIssueAssignment._meta.db_table} "
            "WHERE employee_id = ANY(%s) AND is_active AND project_id IS NOT NULL GROUP BY employee_id, project_id",
            [ids],
        )
        if rejections is None:
            rejections = PeriodRejections.load(start=start, end=end, employee_ids=ids, rows=rows)
    decided = [
        (employee_id, uuid.UUID(project_id), day)
        for employee_id in ids
        for day, project_ids in rejections.by_employee.get(str(employee_id), {}).items()
        for project_id in project_ids
    ]

    def triples(source: list[tuple[Any, ...]], scale: float = 1.0) -> tuple[IntArray, IntArray, IntArray, FloatArray]:
        kept = [row for row in source if row[1] in project_index]
        return (
            _ints([employees[row[0]] for row in kept]),
            _ints([project_index[row[1]] for row in kept]),
            _ints([day_number(row[2]) for row in kept]),
            _floats([float(row[3]) * scale for row in kept]),
        )

    open_kept = [row for row in assignments if row[1] in project_index]
    rejected = [row for row in decided if row[1] in project_index]
    return ChunkRecords(
        employee_ids=ids,
        first=first,
        start=start,
        end=end,
        attendance=(
            _ints([employees[row[0]] for row in attendance]),
            _ints([day_number(row[1]) for row in attendance]),
            _floats([float(row[2]) for row in attendance]),
        ),
        allocations=triples(allocations),
        worklogs=triples(worklogs, scale=1 / 3600),
        open_issues=(
            _ints([employees[row[0]] for row in open_kept]),
            _ints([project_index[row[1]] for row in open_kept]),
            _floats([float(row[2]) for row in open_kept]),
        ),
        rejected=(
            _ints([employees[row[0]] for row in rejected]),
            _ints([project_index[row[1]] for row in rejected]),
            _ints([day_number(row[2]) for row in rejected]),
        ),
    )


@dataclass
class ChunkArrays:
    """Dense (pair x day) and (employee x day) arrays of a chunk; a pair is an employee-project with evidence."""

    records: ChunkRecords
    pair_employee: IntArray
    pair_project: IntArray
    hours: FloatArray  # accepted hours the features may see (pair x day)
    label_hours: FloatArray  # every accepted hour, hidden or not: the labels (pair x day)
    logged: FloatArray  # Jira hours (pair x day)
    open_issues: FloatArray  # per pair
    rejected: BoolArray  # (pair x day)
    attended: FloatArray  # (employee x day)
    day_total: FloatArray  # visible accepted hours of the employee (employee x day)
    labelled: BoolArray  # the employee-day has a confirmed outcome: allocations or a rejection (employee x day)
    logged_total: FloatArray  # Jira hours of the employee (employee x day)
    live: BoolArray  # project running on the day (pair x day)


def arrays_build(records: ChunkRecords, projects: ProjectTable, *, hide_from: date | None = None) -> ChunkArrays:
    """Lay the chunk out densely; allocations on or after `hide_from` are labels only, never features."""
    n_projects = max(1, len(projects))
    n_employees, n_days = len(records.employee_ids), records.days
    a_emp, a_proj, a_day, a_hours = records.allocations
    l_emp, l_proj, l_day, l_hours = records.worklogs
    o_emp, o_proj, o_count = records.open_issues
    r_emp, r_proj, r_day = records.rejected
    codes = np.unique(
        np.concatenate([a_emp * n_projects + a_proj, l_emp * n_projects + l_proj, o_emp * n_projects + o_proj])
    )
    n_pairs = len(codes)

    def pair_of(emp: IntArray, proj: IntArray) -> tuple[IntArray, BoolArray]:
        wanted = emp * n_projects + proj
        position = np.searchsorted(codes, wanted)
        position = np.minimum(position, max(n_pairs - 1, 0))
        found = codes[position] == wanted if n_pairs else np.zeros(len(wanted), dtype=bool)
        return position, found

    label_hours = np.zeros((n_pairs, n_days), dtype=np.float32)
    logged = np.zeros((n_pairs, n_days), dtype=np.float32)
    open_issues = np.zeros(n_pairs, dtype=np.float32)
    rejected = np.zeros((n_pairs, n_days), dtype=bool)
    if n_pairs:
        pairs, _ = pair_of(a_emp, a_proj)
        np.add.at(label_hours, (pairs, a_day), a_hours)
        pairs, _ = pair_of(l_emp, l_proj)
        np.add.at(logged, (pairs, l_day), l_hours)
        pairs, _ = pair_of(o_emp, o_proj)
        np.add.at(open_issues, pairs, o_count)
        pairs, found = pair_of(r_emp, r_proj)
        rejected[pairs[found], r_day[found]] = True
    hours = label_hours
    if hide_from is not None:
        hours = label_hours.copy()
        hours[:, max(0, (hide_from - records.first).days) :] = 0.0
    pair_employee = (codes // n_projects).astype(np.int64)
    pair_project = (codes % n_projects).astype(np.int64)

    attended = np.zeros((n_employees, n_days), dtype=np.float32)
    t_emp, t_day, t_hours = records.attendance
    attended[t_emp, t_day] = t_hours
    day_total = np.zeros((n_employees, n_days), dtype=np.float32)
    np.add.at(day_total, pair_employee, hours)
    labelled = np.zeros((n_employees, n_days), dtype=bool)
    labelled[a_emp, a_day] = True
    labelled[r_emp, r_day] = True
    logged_total = np.zeros((n_employees, n_days), dtype=np.float32)
    np.add.at(logged_total, pair_employee, logged)

    day_numbers = np.arange(n_days)
    starts = np.array(
        [-(10**6) if s is None else (s - records.first).days for s in projects.starts_on] or [0], dtype=np.int64
    )
    ends = np.array([10**6 if e is None else (e - records.first).days for e in projects.ends_on] or [0], dtype=np.int64)
    live = (day_numbers[None, :] >= starts[pair_project][:, None]) & (
        day_numbers[None, :] <= ends[pair_project][:, None]
    )
    return ChunkArrays(
        records=records,
        pair_employee=pair_employee,
        pair_project=pair_project,
        hours=hours,
        label_hours=label_hours,
        logged=logged,
        open_issues=open_issues,
        rejected=rejected,
        attended=attended,
        day_total=day_total,
        labelled=labelled,
        logged_total=logged_total,
        live=live,
    )


@dataclass
class Candidates:
    """One row per employee x project x day candidate of the period, with its feature vector."""

    pair: IntArray
    employee: IntArray  # index into the chunk's employee_ids
    project: IntArray  # index into the ProjectTable
    day: IntArray  # array day number (records.first + day)
    X: FloatArray
    # Per row, what the rules engine sees too: its same-weekday pattern (average hours, weeks observed).
    pattern_hours: FloatArray = field(default_factory=lambda: np.zeros(0, dtype=np.float32))
    pattern_weeks: FloatArray = field(default_factory=lambda: np.zeros(0, dtype=np.float32))
    # Labels: the hours accepted for the row (0 when none) and whether its employee-day is confirmed at all.
    label_hours: FloatArray = field(default_factory=lambda: np.zeros(0, dtype=np.float32))
    labelled: BoolArray = field(default_factory=lambda: np.zeros(0, dtype=bool))

    def __len__(self) -> int:
        return len(self.pair)

    def subset(self, keep: BoolArray | IntArray) -> Candidates:
        return Candidates(
            pair=self.pair[keep],
            employee=self.employee[keep],
            project=self.project[keep],
            day=self.day[keep],
            X=self.X[keep],
            pattern_hours=self.pattern_hours[keep],
            pattern_weeks=self.pattern_weeks[keep],
            label_hours=self.label_hours[keep],
            labelled=self.labelled[keep],
        )


def _cumulative(values: FloatArray) -> FloatArray:
    out = np.zeros((values.shape[0], values.shape[1] + 1), dtype=np.float32)
    np.cumsum(values, axis=1, out=out[:, 1:])
    return out


def _ratio(numerator: FloatArray, denominator: FloatArray) -> FloatArray:
    out = np.zeros_like(numerator, dtype=np.float32)
    np.divide(numerator, denominator, out=out, where=denominator > 1e-6)
    return out


def _empty_candidates() -> Candidates:
    empty = np.zeros(0, dtype=np.int64)
    return Candidates(empty, empty, empty, empty, np.zeros((0, len(FEATURE_NAMES)), dtype=np.float32))


def candidates_build(
    arrays: ChunkArrays, projects: ProjectTable, *, first_day: date | None = None, last_day: date | None = None
) -> Candidates:
    """Every candidate of [first_day, last_day] (default: the records' period) and its features."""
    records = arrays.records
    n_pairs = len(arrays.pair_employee)
    lo = (first_day - records.first).days if first_day is not None else records.offset
    hi = (last_day - records.first).days + 1 if last_day is not None else records.days
    period = np.arange(max(lo, 0), min(hi, records.days), dtype=np.int64)
    if n_pairs == 0 or len(period) == 0:
        return _empty_candidates()
    emp = arrays.pair_employee
    hours, totals = arrays.hours, arrays.day_total
    n_days = records.days
    cum_hours, cum_totals = _cumulative(hours), _cumulative(totals)
    cum_logged, cum_logged_total = _cumulative(arrays.logged), _cumulative(arrays.logged_total)

    # The anchor of (employee, t): the day after the employee's last confirmed day before t (t if none).
    all_days = np.arange(n_days, dtype=np.int64)
    worked_on = np.where(totals > 0, all_days[None, :], -1)
    last_worked = np.maximum.accumulate(worked_on, axis=1)
    previous_worked = np.concatenate([np.full((len(totals), 1), -1, dtype=np.int64), last_worked[:, :-1]], axis=1)
    anchor_of = np.where(previous_worked >= 0, previous_worked + 1, all_days[None, :])

    # Candidate selection on dense (pair, period day) matrices; rows are picked out of them at the end.
    anchors = anchor_of[emp][:, period]
    sum_8w = np.take_along_axis(cum_hours, anchors, axis=1) - np.take_along_axis(
        cum_hours, np.maximum(anchors - HISTORY_DAYS, 0), axis=1
    )
    attended = arrays.attended[emp][:, period]
    mask = (attended > 0) & arrays.live[:, period]
    mask &= (arrays.logged[:, period] > 0) | (arrays.open_issues[:, None] > 0) | (sum_8w > 0)
    pair_index, column = np.nonzero(mask)
    del sum_8w, attended, mask, anchors
    day = period[column]
    employee = emp[pair_index]
    anchor = anchor_of[employee, day]
    n = len(pair_index)
    X = np.zeros((n, len(FEATURE_NAMES)), dtype=np.float32)

    first_weekday = records.first.weekday()
    X[:, F["weekday"]] = (first_weekday + day) % 7
    X[:, F["attended_hours"]] = arrays.attended[employee, day]
    for name, width in (("share_2w", 14), ("share_4w", 28), ("share_8w", HISTORY_DAYS)):
        back = np.maximum(anchor - width, 0)
        own = cum_hours[pair_index, anchor] - cum_hours[pair_index, back]
        total = cum_totals[employee, anchor] - cum_totals[employee, back]
        X[:, F[name]] = _ratio(own, total)

    # The same weekday in the 8 weeks before the anchor: the rules engine's "weekday pattern".
    weekday_hours = np.zeros(n, dtype=np.float32)
    weekday_weeks = np.zeros(n, dtype=np.float32)
    weekday_totals = np.zeros(n, dtype=np.float32)
    first_week = np.maximum(1, -((anchor - day - 1) // 7))  # ceil((day - anchor + 1) / 7)
    for weeks_back in range(HISTORY_DAYS // 7):
        earlier = day - 7 * (first_week + weeks_back)
        valid = earlier >= 0
        safe = np.where(valid, earlier, 0)
        seen = np.where(valid, hours[pair_index, safe], 0.0)
        weekday_hours += seen
        weekday_weeks += seen > 0
        weekday_totals += np.where(valid, totals[employee, safe], 0.0)
    X[:, F["weekday_share_8w"]] = _ratio(weekday_hours, weekday_totals)
    X[:, F["weekday_avg_hours_8w"]] = _ratio(weekday_hours, weekday_weeks)
    X[:, F["weekday_weeks_8w"]] = weekday_weeks

    # Days from the last accepted hours on the project to the anchor (a running maximum of "last day seen").
    seen_day = np.where(hours > 0, all_days[None, :], -(10**6))
    last_seen = np.maximum.accumulate(seen_day, axis=1)
    previous = last_seen[pair_index, np.maximum(anchor - 1, 0)]
    since = np.where(anchor > 0, anchor - previous, NEVER_DAYS)
    X[:, F["days_since_last"]] = np.minimum(since, NEVER_DAYS)
    del seen_day, last_seen

    logged_today = arrays.logged[pair_index, day]
    logged_total_today = arrays.logged_total[employee, day]
    X[:, F["logged_hours"]] = logged_today
    X[:, F["logged_share"]] = _ratio(logged_today, logged_total_today)
    X[:, F["logged_total_ratio"]] = _ratio(logged_total_today, arrays.attended[employee, day])
    week_back = np.maximum(day - LOG_LOOKBACK_DAYS, 0)
    week_logged = cum_logged[pair_index, day] - cum_logged[pair_index, week_back]
    week_total = cum_logged_total[employee, day] - cum_logged_total[employee, week_back]
    X[:, F["logged_hours_prev_week"]] = week_logged
    X[:, F["logged_share_prev_week"]] = _ratio(week_logged, week_total)

    X[:, F["open_issues"]] = arrays.open_issues[pair_index]
    open_total = np.zeros(len(records.employee_ids), dtype=np.float32)
    np.add.at(open_total, emp, arrays.open_issues)
    X[:, F["open_issues_total"]] = open_total[employee]

    per_day = np.zeros((len(records.employee_ids), n_days), dtype=np.float32)
    np.add.at(per_day, (employee, day), 1.0)
    X[:, F["candidates"]] = per_day[employee, day]
    worked_days = _cumulative((totals > 0).astype(np.float32))
    history_back = np.maximum(anchor - HISTORY_DAYS, 0)
    X[:, F["history_days_8w"]] = worked_days[employee, anchor] - worked_days[employee, history_back]

    project = arrays.pair_project[pair_index]
    starts = np.array(
        [np.nan if s is None else (s - records.first).days for s in projects.starts_on] or [0], dtype=np.float64
    )
    ends = np.array(
        [np.nan if e is None else (e - records.first).days for e in projects.ends_on] or [0], dtype=np.float64
    )
    age = day - starts[project]
    to_end = ends[project] - day
    X[:, F["project_age_days"]] = np.clip(np.nan_to_num(age, nan=PHASE_CAP_DAYS), -30, PHASE_CAP_DAYS)
    X[:, F["project_days_to_end"]] = np.clip(np.nan_to_num(to_end, nan=PHASE_CAP_DAYS), -30, PHASE_CAP_DAYS)
    return Candidates(
        pair=pair_index,
        employee=employee,
        project=project,
        day=day,
        X=X,
        pattern_hours=X[:, F["weekday_avg_hours_8w"]].copy(),
        pattern_weeks=weekday_weeks,
        label_hours=arrays.label_hours[pair_index, day],
        labelled=arrays.labelled[employee, day],
    )


def chunk_features(
    *,
    employee_ids: list[uuid.UUID],
    start: date,
    end: date,
    projects: ProjectTable,
    rejections: PeriodRejections | None = None,
) -> tuple[ChunkArrays, Candidates]:
    """Load a chunk's evidence (five queries, four with `rejections`) and build its candidates: the entry point
    for prediction."""
    records = records_load(employee_ids=employee_ids, start=start, end=end, projects=projects, rejections=rejections)
    arrays = arrays_build(records, projects)
    return arrays, candidates_build(arrays, projects)
