"""The rules engine: splits one employee-day's attended hours across projects from the evidence at hand.

Evidence, strongest first: Jira work logged that day, the employee's learned weekday pattern, and open
issues assigned to them. Hours already allocated (accepted) that day are kept and only the remainder is
split; projects rejected for that day are never proposed again. The split sums exactly to the remainder:
every share is a multiple of the granularity except one that absorbs the sub-granularity residue.
Pure functions on plain data, so a whole chunk of employee-days is computed without touching the database.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache
from typing import Any, TypeAlias

import numpy as np
import numpy.typing as npt

# A project id: UUIDs in production, anything hashable in tests.
ProjectKey: TypeAlias = Any

DEFAULT_GRANULARITY = Decimal("0.25")
_W_LOG = 0.92
_W_PATTERN = 0.75
_W_ASSIGN = 0.35
_PATTERN_FULL_WEEKS = 8
_HOURS_PER_OPEN_ISSUE = 0.75
_MAX_COUNTED_ISSUES = 4


@dataclass(frozen=True, slots=True)
class PatternSignal:
    """The employee's usual hours on the project on this weekday.

    With `share_sd` (intelligence/history.py: recency-weighted, lifecycle-aware) the hours are the expectation
    itself and the spread says how far a day strays from it; without it (an older, plain weekday average) the
    weight ramps up with the weeks observed.
    """

    average_hours: float
    weeks_observed: int
    share_sd: float | None = None


@dataclass(slots=True)
class DaySignals:
    """Everything known about one employee-day; projects are any hashable id."""

    attended_hours: Decimal
    allocated: Mapping[ProjectKey, Decimal] = field(default_factory=dict)
    excluded: frozenset[ProjectKey] = frozenset()
    logged_seconds: Mapping[ProjectKey, int] = field(default_factory=dict)
    logged_issues: Mapping[ProjectKey, tuple[str, ...]] = field(default_factory=dict)
    open_issues: Mapping[ProjectKey, int] = field(default_factory=dict)
    patterns: Mapping[ProjectKey, PatternSignal] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Split:
    project: ProjectKey
    hours: Decimal
    confidence: float
    explanation: str


@dataclass(frozen=True, slots=True)
class DayOutcome:
    splits: tuple[Split, ...]
    # Hours that no evidence explains: the UI flags the day for a manual entry.
    unallocated_hours: Decimal = Decimal(0)
    reason: str = ""


NO_SIGNAL_REASON = "No Jira work logs, open issues or weekday pattern for this day."


@lru_cache(maxsize=4096)
def _hundredths(value: int) -> Decimal:
    return Decimal(value).scaleb(-2)


def _to_hundredths(value: Decimal) -> int:
    return int((value * 100).to_integral_value())


def _fmt_hours(hours: float) -> str:
    text = f"{hours:.2f}".rstrip("0").rstrip(".")
    return text or "0"


@dataclass
class CandidateArrays:
    """A chunk's candidate rows (one per employee-day and project), as columns; `group` numbers the employee-day.

    Pattern columns are NaN where the row has no pattern; `pattern_sd` is NaN for a plain weekday average.
    """

    group: npt.NDArray[np.int64]
    logged_hours: npt.NDArray[np.float64]
    open_issues: npt.NDArray[np.float64]
    pattern_hours: npt.NDArray[np.float64]
    pattern_weeks: npt.NDArray[np.float64]
    pattern_sd: npt.NDArray[np.float64]

    def __len__(self) -> int:
        return len(self.group)


def split_groups(
    group: npt.NDArray[np.int64],
    weight: npt.NDArray[np.floating[Any]],
    total_c: npt.NDArray[np.int64],
    *,
    granularity_c: int,
) -> npt.NDArray[np.int64]:
    """Split each group's `total_c` hundredths by weight into whole granules, exactly, all groups at once.

    Largest-remainder rounding within each group; the sub-granule residue goes to the group's largest
    share. `total_c` is per row (the same for every row of a group); every weight must be positive.
    """
    n = len(group)
    out = np.zeros(n, dtype=np.int64)
    if n == 0:
        return out
    order = np.lexsort((-weight, group))
    g, w, total = group[order], weight[order].astype(np.float64), total_c[order]
    starts = np.flatnonzero(np.r_[True, g[1:] != g[:-1]])
    sizes = np.diff(np.r_[starts, n])
    group_of_row = np.repeat(np.arange(len(starts)), sizes)
    w_sum = np.add.reduceat(w, starts)
    units_total = total[starts] // granularity_c
    residue = total[starts] % granularity_c
    # Rounded to 1e-9 granules: sums taken in another order (numpy's or Python's) then split the same way.
    ideal = np.round(w / w_sum[group_of_row] * units_total[group_of_row], 9)
    units = np.floor(ideal).astype(np.int64)
    leftover = units_total - np.add.reduceat(units, starts)
    fraction = ideal - units
    by_fraction = np.lexsort((-fraction, group_of_row))
    rank = np.empty(n, dtype=np.int64)
    rank[by_fraction] = np.arange(n) - starts[group_of_row[by_fraction]]
    units += rank < leftover[group_of_row]
    hundredths = units * granularity_c
    hundredths[starts] += residue  # weight-descending: the first row of each group holds the largest share
    out[order] = hundredths
    return out


def allocate_arrays(
    rows: CandidateArrays, remaining_c: npt.NDArray[np.int64], *, granularity_c: int
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """Hours (hundredths) and confidence per candidate row; a group's rows sum exactly to its `remaining_c`.

    `remaining_c` is per group. Evidence, strongest first: hours logged that day keep their hours (scaled down
    when they exceed the day); the rest follows the pattern hours and open issues; with neither, the logs take
    it all. A group whose rows all get 0 has no evidence: the caller flags it.
    """
    n_groups = len(remaining_c)
    group = rows.group
    remaining = remaining_c.astype(np.float64) / 100
    logged = rows.logged_hours
    total_logged = np.bincount(group, weights=logged, minlength=n_groups)
    has_pattern = ~np.isnan(rows.pattern_hours)
    plain = has_pattern & np.isnan(rows.pattern_sd)
    ramp = np.where(plain, np.minimum(1.0, rows.pattern_weeks / _PATTERN_FULL_WEEKS), 1.0)
    weight = np.where(has_pattern, rows.pattern_hours * ramp, 0.0)
    weight = weight + _HOURS_PER_OPEN_ISSUE * np.minimum(rows.open_issues, _MAX_COUNTED_ISSUES)
    total_weight = np.bincount(group, weights=weight, minlength=n_groups)
    day_remaining, day_logged, day_weight = remaining[group], total_logged[group], total_weight[group]
    by_logs = np.divide(logged * day_remaining, day_logged, out=np.zeros(len(group)), where=day_logged > 0)
    by_weight = logged + (day_remaining - day_logged) * np.divide(
        weight, day_weight, out=np.zeros(len(group)), where=day_weight > 0
    )
    logs_cover = (day_logged >= day_remaining) & (day_remaining > 0)
    raw = np.where(logs_cover, by_logs, np.where(day_weight > 0, by_weight, by_logs))
    raw = np.where(raw > 0, raw, 0.0)
    hundredths = np.zeros(len(group), dtype=np.int64)
    kept = np.flatnonzero(raw > 0)
    hundredths[kept] = split_groups(
        group[kept], raw[kept], remaining_c[group[kept]].astype(np.int64), granularity_c=granularity_c
    )
    hours = hundredths / 100
    over_logged = np.where(day_logged > day_remaining, np.divide(day_remaining, np.maximum(day_logged, 1e-9)), 1.0)
    over_logged = np.minimum(over_logged, 1.0)
    return hundredths, _confidence_arrays(rows, hours, raw, over_logged, day_remaining, has_pattern, ramp)


def _confidence_arrays(
    rows: CandidateArrays,
    hours: npt.NDArray[np.float64],
    raw: npt.NDArray[np.float64],
    over_logged: npt.NDArray[np.float64],
    day_hours: npt.NDArray[np.float64],
    has_pattern: npt.NDArray[np.bool_],
    ramp: npt.NDArray[np.float64],
) -> npt.NDArray[np.float64]:
    logged = rows.logged_hours
    log_cover = np.where(hours > 0, np.minimum(1.0, np.divide(logged, np.maximum(hours, 1e-9))), 0.0)
    average = np.where(has_pattern, rows.pattern_hours, 0.0)
    agreement = 1.0 - np.minimum(1.0, np.abs(average - hours) / np.maximum(np.maximum(average, hours), 1e-9))
    strength = np.where(has_pattern & (average > 0), ramp * agreement, 0.0)
    assign = np.minimum(rows.open_issues, 3) / 3
    doubt = (1 - _W_LOG * log_cover) * (1 - _W_PATTERN * strength) * (1 - _W_ASSIGN * assign)
    evidence = (1 - doubt) * over_logged
    # Only the employee's own recent mix speaks for the project: its spread says how sure that is.
    by_spread = _by_spread(np.nan_to_num(rows.pattern_sd, nan=1.0) * day_hours, hours - raw) * over_logged
    mixed = (logged == 0) & has_pattern & ~np.isnan(rows.pattern_sd)
    # Backed by its own Jira logs: what can be wrong is the part of the suggestion no log of its own backs.
    by_logs = _logs_backed(np.maximum(hours - logged, 0.0)) * over_logged
    chosen = np.where(logged > 0, by_logs, np.where(mixed, by_spread, evidence))
    return np.round(np.clip(chosen, 0.0, 1.0), 3)


def _by_spread(spread: npt.NDArray[np.float64], offset: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """P(right) of a suggestion from the recent mix alone: the confirmed hours, unrounded, fall around the unrounded
    expectation with sd `spread`; the suggestion (`offset` from that expectation by its own rounding) is right when
    they land within 3/8 h of it, which is exactly when the confirmed quarter hours are within a quarter hour."""
    sd = np.maximum(spread, 1e-3)
    result: npt.NDArray[np.float64] = _normal_cdf((offset + _RIGHT_WITHIN_HOURS) / sd) - _normal_cdf(
        (offset - _RIGHT_WITHIN_HOURS) / sd
    )
    return result


def _logs_backed(unbacked: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """P(right) of a suggestion whose hours are its own Jira logs plus `unbacked` hours of the day's remainder.

    The hours worked on the project beyond its logs are uncertain (normal around `unbacked`, spread growing with
    it) but never negative: people under-log far more than they log time they did not work, so the confirmed
    hours are at least the logged ones. A suggestion with few unbacked hours can then only be wrong one way.
    """
    sd = unbacked * _UNBACKED_SD_PER_HOUR + _LOGGED_SD_HOURS
    beyond = _normal_cdf(-unbacked / sd)  # the mass the floor at the logged hours cuts off
    over = 1.0 - _normal_cdf(_RIGHT_WITHIN_HOURS / sd)  # confirmed more than 3/8 h above the suggestion
    under = np.maximum(_normal_cdf(-_RIGHT_WITHIN_HOURS / sd) - beyond, 0.0)  # ... below it, yet above the logs
    result: npt.NDArray[np.float64] = 1.0 - (over + under) / (1.0 - beyond)
    return result


def _normal_cdf(x: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    result: npt.NDArray[np.float64] = 0.5 * (1.0 + np.sign(x) * _erf(np.abs(x) / math.sqrt(2)))
    return result


def _erf(x: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """The error function, vectorized (Abramowitz and Stegun 7.1.26, |error| < 1.5e-7); x >= 0."""
    t = 1.0 / (1.0 + 0.3275911 * x)
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))))
    result: npt.NDArray[np.float64] = 1.0 - poly * np.exp(-x * x)
    return result


# A suggestion is right when it lands within a quarter hour of what is confirmed; the confirmed hours are rounded
# to quarter hours, so unrounded hours up to 3/8 h from the suggestion still round into it.
_RIGHT_WITHIN_HOURS = 0.375
# A Jira-backed suggestion strays by about half the hours its own logs do not back, plus the logs' rounding.
_UNBACKED_SD_PER_HOUR = 0.5
_LOGGED_SD_HOURS = 0.1


def logged_words(seconds: int, issues: tuple[str, ...]) -> str:
    """'3h logged on PROJ-12 +1'."""
    where = issues[0] if issues else "Jira"
    more = f" +{len(issues) - 1}" if len(issues) > 1 else ""
    return f"{_fmt_hours(seconds / 3600)}h logged on {where}{more}"


def explanation_of(signals: DaySignals, project: ProjectKey) -> str:
    """The evidence for `project` that day, in words: '3h logged on PROJ-12 · 2 open issues · weekday pattern 4 wks'."""
    parts: list[str] = []
    seconds = signals.logged_seconds.get(project, 0)
    if seconds:
        parts.append(logged_words(seconds, signals.logged_issues.get(project, ())))
    open_count = signals.open_issues.get(project, 0)
    if open_count:
        parts.append(f"{open_count} open issue{'s' if open_count != 1 else ''}")
    pattern = signals.patterns.get(project)
    if pattern is not None and pattern.weeks_observed:
        parts.append(f"weekday pattern {pattern.weeks_observed} wk{'s' if pattern.weeks_observed != 1 else ''}")
    return " · ".join(parts)


def _split_one(weights: list[float], total_c: int, granularity_c: int) -> list[int]:
    """`split_groups` for one group, in plain Python (the same order of operations, so the same answer)."""
    order = sorted(range(len(weights)), key=lambda i: -weights[i])
    w_sum = 0.0
    for i in order:
        w_sum += weights[i]
    units_total, residue = divmod(total_c, granularity_c)
    ideal = [round(weights[i] / w_sum * units_total, 9) for i in order]
    units = [math.floor(v) for v in ideal]
    leftover = units_total - sum(units)
    by_fraction = sorted(range(len(order)), key=lambda k: -(ideal[k] - units[k]))
    for k in by_fraction[:leftover]:
        units[k] += 1
    out = [0] * len(weights)
    for k, i in enumerate(order):
        out[i] = units[k] * granularity_c
    out[order[0]] += residue
    return out


def _day_confidence(
    signals: DaySignals, project: ProjectKey, hours: float, raw: float, over_logged: float, day_hours: float
) -> float:
    """`_confidence_arrays` for one row."""
    logged = signals.logged_seconds.get(project, 0) / 3600
    pattern = signals.patterns.get(project)
    if logged > 0:
        backed = float(_logs_backed(np.array([max(hours - logged, 0.0)]))[0])
        return round(min(1.0, max(0.0, backed * over_logged)), 3)
    if pattern is not None and pattern.share_sd is not None:
        chance = float(_by_spread(np.array([pattern.share_sd * day_hours]), np.array([hours - raw]))[0])
        return round(min(1.0, max(0.0, chance * over_logged)), 3)
    log_cover = min(1.0, logged / max(hours, 1e-9)) if hours > 0 else 0.0
    strength = 0.0
    if pattern is not None and pattern.average_hours > 0:
        average = pattern.average_hours
        agreement = 1.0 - min(1.0, abs(average - hours) / max(average, hours, 1e-9))
        ramp = 1.0 if pattern.share_sd is not None else min(1.0, pattern.weeks_observed / _PATTERN_FULL_WEEKS)
        strength = ramp * agreement
    assign = min(signals.open_issues.get(project, 0), 3) / 3
    doubt = (1 - _W_LOG * log_cover) * (1 - _W_PATTERN * strength) * (1 - _W_ASSIGN * assign)
    return round(min(1.0, max(0.0, (1 - doubt) * over_logged)), 3)


def allocate_day(signals: DaySignals, *, granularity: Decimal = DEFAULT_GRANULARITY) -> DayOutcome:
    """Split one day's unallocated attended hours across projects: `allocate_arrays` for a single employee-day
    in plain Python (a day at a time, array set-up would cost more than the split)."""
    granularity_c = _to_hundredths(granularity)
    if granularity_c <= 0:
        raise ValueError("granularity must be at least 0.01 h")
    remaining_c = _to_hundredths(signals.attended_hours) - sum(_to_hundredths(h) for h in signals.allocated.values())
    if remaining_c <= 0:
        return DayOutcome(splits=())
    evidence = set(signals.logged_seconds) | set(signals.patterns) | set(signals.open_issues)
    candidates = sorted(p for p in evidence if p not in signals.excluded and p not in signals.allocated)
    remaining = remaining_c / 100
    logged = [signals.logged_seconds.get(p, 0) / 3600 for p in candidates]
    total_logged = 0.0
    for value in logged:
        total_logged += value
    weights: list[float] = []
    for project in candidates:
        pattern = signals.patterns.get(project)
        weight = 0.0
        if pattern is not None:
            ramp = 1.0 if pattern.share_sd is not None else min(1.0, pattern.weeks_observed / _PATTERN_FULL_WEEKS)
            weight = pattern.average_hours * ramp
        weights.append(weight + _HOURS_PER_OPEN_ISSUE * min(signals.open_issues.get(project, 0), _MAX_COUNTED_ISSUES))
    total_weight = 0.0
    for value in weights:
        total_weight += value
    raw: list[float] = []
    for own, weight in zip(logged, weights, strict=True):
        by_logs = own * remaining / total_logged if total_logged > 0 else 0.0
        if total_logged >= remaining > 0:
            share = by_logs
        elif total_weight > 0:
            share = own + (remaining - total_logged) * (weight / total_weight)
        else:
            share = by_logs
        raw.append(share if share > 0 else 0.0)
    kept = [i for i, share in enumerate(raw) if share > 0]
    if not kept:
        return DayOutcome(splits=(), unallocated_hours=_hundredths(remaining_c), reason=NO_SIGNAL_REASON)
    hundredths = _split_one([raw[i] for i in kept], remaining_c, granularity_c)
    over_logged = min(remaining / max(total_logged, 1e-9), 1.0) if total_logged > remaining else 1.0
    splits = []
    for i, hours_c in zip(kept, hundredths, strict=True):
        if hours_c <= 0:
            continue
        project = candidates[i]
        splits.append(
            Split(
                project=project,
                hours=_hundredths(hours_c),
                confidence=_day_confidence(signals, project, hours_c / 100, raw[i], over_logged, remaining),
                explanation=explanation_of(signals, project),
            )
        )
    return DayOutcome(splits=tuple(splits))
