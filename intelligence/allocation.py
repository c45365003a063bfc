"""The rules engine over a whole chunk: every employee-day's candidates as array columns, one split call.

Most employee-days of a chunk carry no evidence of their own (no Jira log, nothing accepted or rejected yet):
their candidates are the employee's recent mix for that weekday plus their open issues, laid out once per
employee and weekday and reused for every such day. The few days with evidence of their own are laid out one
by one. `intelligence.rules.allocate_arrays` then splits every day at once, exactly (largest remainder per
employee-day), and only the suggestions that come out are turned into Python objects.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

import numpy as np

from intelligence.rules import (
    NO_SIGNAL_REASON,
    CandidateArrays,
    DaySignals,
    PatternSignal,
    allocate_arrays,
    explanation_of,
    logged_words,
)
from intelligence.signals import ChunkSignals, EmployeeDay

_NAN = float("nan")


@dataclass
class _Columns:
    projects: list[str]
    logged: list[float]
    open_issues: list[float]
    pattern_hours: list[float]
    pattern_weeks: list[float]
    pattern_sd: list[float]
    explanations: list[str]
    position: dict[str, int] = field(default_factory=dict)  # project -> its index (shared columns only)


@dataclass(frozen=True)
class ChunkSplit:
    key: EmployeeDay
    project: str
    hours: Decimal
    confidence: float
    explanation: str


@dataclass
class ChunkOutcome:
    splits: list[ChunkSplit]
    unallocated: list[tuple[EmployeeDay, Decimal, str]]  # (employee-day, hours, reason)


def _pattern_columns(pattern: PatternSignal | None) -> tuple[float, float, float]:
    if pattern is None:
        return _NAN, 0.0, _NAN
    sd = _NAN if pattern.share_sd is None else pattern.share_sd
    return pattern.average_hours, float(pattern.weeks_observed), sd


def _columns(signals: DaySignals) -> _Columns:
    evidence = set(signals.logged_seconds) | set(signals.patterns) | set(signals.open_issues)
    projects = sorted(p for p in evidence if p not in signals.excluded and p not in signals.allocated)
    columns = _Columns(projects, [], [], [], [], [], [])
    for project in projects:
        hours, weeks, sd = _pattern_columns(signals.patterns.get(project))
        columns.logged.append(signals.logged_seconds.get(project, 0) / 3600)
        columns.open_issues.append(float(signals.open_issues.get(project, 0)))
        columns.pattern_hours.append(hours)
        columns.pattern_weeks.append(weeks)
        columns.pattern_sd.append(sd)
        columns.explanations.append(explanation_of(signals, project))
    columns.position = {project: index for index, project in enumerate(projects)}
    return columns


def _with_logs(base: _Columns, logged: Mapping[str, int], issues: Mapping[str, tuple[str, ...]]) -> _Columns:
    """The employee-weekday's shared columns plus the day's own Jira logs (nothing allocated or rejected)."""
    columns = _Columns(
        list(base.projects),
        list(base.logged),
        base.open_issues,
        base.pattern_hours,
        base.pattern_weeks,
        base.pattern_sd,
        list(base.explanations),
    )
    position = base.position
    extra = False
    for project, seconds in logged.items():
        logged_part = logged_words(seconds, issues.get(project, ()))
        index = position.get(project)
        if index is None:
            if not extra:
                columns.open_issues = list(base.open_issues)
                columns.pattern_hours = list(base.pattern_hours)
                columns.pattern_weeks = list(base.pattern_weeks)
                columns.pattern_sd = list(base.pattern_sd)
                extra = True
            columns.projects.append(project)
            columns.logged.append(seconds / 3600)
            columns.open_issues.append(0.0)
            columns.pattern_hours.append(_NAN)
            columns.pattern_weeks.append(0.0)
            columns.pattern_sd.append(_NAN)
            columns.explanations.append(logged_part)
        else:
            columns.logged[index] = seconds / 3600
            rest = base.explanations[index]
            columns.explanations[index] = f"{logged_part} · {rest}" if rest else logged_part
    return columns


def _hundredths(value: Decimal) -> int:
    return int((value * 100).to_integral_value())


def rules_chunk(signals: ChunkSignals, keys: list[EmployeeDay], *, granularity: Decimal) -> ChunkOutcome:
    """Split the unallocated attended hours of every employee-day in `keys`; see the module docstring."""
    granularity_c = _hundredths(granularity)
    if granularity_c <= 0:
        raise ValueError("granularity must be at least 0.01 h")
    shared: dict[tuple[str, int], _Columns] = {}
    group: list[int] = []
    projects: list[str] = []
    logged: list[float] = []
    open_issues: list[float] = []
    pattern_hours: list[float] = []
    pattern_weeks: list[float] = []
    pattern_sd: list[float] = []
    explanations: list[str] = []
    remaining: list[int] = []
    for index, key in enumerate(keys):
        employee_id, day = key
        allocated = signals.allocated.get(key)
        left = _hundredths(signals.attendance[key])
        if allocated:
            left -= sum(_hundredths(hours) for hours in allocated.values())
        remaining.append(left)
        if left <= 0:
            continue
        if allocated or key in signals.rejected:
            columns = _columns(signals.day(employee_id, day))
        else:
            weekday = day.weekday()
            base = shared.get((employee_id, weekday))
            if base is None:
                plain = signals.day(employee_id, day)
                plain.logged_seconds, plain.logged_issues = {}, {}
                base = shared[(employee_id, weekday)] = _columns(plain)
            logs = signals.logged_seconds.get(key)
            columns = _with_logs(base, logs, signals.logged_issues.get(key, {})) if logs else base
        group.extend([index] * len(columns.projects))
        projects.extend(columns.projects)
        logged.extend(columns.logged)
        open_issues.extend(columns.open_issues)
        pattern_hours.extend(columns.pattern_hours)
        pattern_weeks.extend(columns.pattern_weeks)
        pattern_sd.extend(columns.pattern_sd)
        explanations.extend(columns.explanations)
    arrays = CandidateArrays(
        group=np.asarray(group, dtype=np.int64),
        logged_hours=np.asarray(logged, dtype=np.float64),
        open_issues=np.asarray(open_issues, dtype=np.float64),
        pattern_hours=np.asarray(pattern_hours, dtype=np.float64),
        pattern_weeks=np.asarray(pattern_weeks, dtype=np.float64),
        pattern_sd=np.asarray(pattern_sd, dtype=np.float64),
    )
    remaining_c = np.maximum(np.asarray(remaining, dtype=np.int64), 0)
    hundredths, confidence = allocate_arrays(arrays, remaining_c, granularity_c=granularity_c)
    outcome = ChunkOutcome([], [])
    answered = np.zeros(len(keys), dtype=bool)
    made = np.flatnonzero(hundredths > 0)
    answered[arrays.group[made]] = True
    hours_of = hundredths[made].tolist()
    confidence_of = confidence[made].tolist()
    decimals: dict[int, Decimal] = {}  # a chunk's hours take few distinct values (multiples of the granularity)
    for position, row in enumerate(made.tolist()):
        value = hours_of[position]
        hours = decimals.get(value)
        if hours is None:
            hours = decimals[value] = Decimal(value).scaleb(-2)
        outcome.splits.append(
            ChunkSplit(
                key=keys[group[row]],
                project=projects[row],
                hours=hours,
                confidence=confidence_of[position],
                explanation=explanations[row],
            )
        )
    for index in np.flatnonzero(~answered & (remaining_c > 0)).tolist():
        outcome.unallocated.append((keys[index], Decimal(remaining[index]).scaleb(-2), NO_SIGNAL_REASON))
    return outcome
