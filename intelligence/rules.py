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


def _raw_shares(signals: DaySignals, candidates: list[ProjectKey], remaining: float) -> dict[ProjectKey, float]:
    logged = {p: signals.logged_seconds.get(p, 0) / 3600 for p in candidates}
    total_logged = sum(logged.values())
    if total_logged >= remaining > 0:
        return {p: logged[p] * remaining / total_logged for p in candidates}
    weights: dict[ProjectKey, float] = {}
    for project in candidates:
        weight = 0.0
        pattern = signals.patterns.get(project)
        if pattern is not None:
            weight += pattern.average_hours * _ramp(pattern)
        weight += _HOURS_PER_OPEN_ISSUE * min(signals.open_issues.get(project, 0), _MAX_COUNTED_ISSUES)
        weights[project] = weight
    total_weight = sum(weights.values())
    rest = remaining - total_logged
    if total_weight > 0:
        return {p: logged[p] + rest * weights[p] / total_weight for p in candidates}
    if total_logged > 0:
        return {p: logged[p] * remaining / total_logged for p in candidates}
    return {}


def _quantize(raw: Mapping[ProjectKey, float], remaining_c: int, granularity_c: int) -> dict[ProjectKey, int]:
    """Largest-remainder rounding to whole granules; the residue below one granule goes to the largest share."""
    total_units, residue = divmod(remaining_c, granularity_c)
    raw_total = sum(raw.values())
    ideal = {p: (share / raw_total) * total_units for p, share in raw.items()}
    units = {p: int(value) for p, value in ideal.items()}
    leftover = total_units - sum(units.values())
    by_fraction = sorted(raw, key=lambda p: (ideal[p] - units[p], raw[p]), reverse=True)
    for project in by_fraction[:leftover]:
        units[project] += 1
    hundredths = {p: u * granularity_c for p, u in units.items()}
    if residue:
        biggest = max(raw, key=lambda p: (hundredths[p], raw[p]))
        hundredths[biggest] += residue
    return {p: h for p, h in hundredths.items() if h > 0}


def _ramp(pattern: PatternSignal) -> float:
    if pattern.share_sd is not None:
        return 1.0
    return min(1.0, pattern.weeks_observed / _PATTERN_FULL_WEEKS)


# A suggestion is right when it lands within a quarter hour of what is confirmed; both sides are rounded to
# quarter hours, so an unrounded error of up to about 3/8 h still rounds into it.
_RIGHT_WITHIN_HOURS = 0.375


def _spread_confidence(share_sd: float, day_hours: float) -> float:
    """P(|error| <= 3/8 h) for a normal error of sd share_sd x the day's hours."""
    sd = max(share_sd * day_hours, 1e-6)
    return math.erf(_RIGHT_WITHIN_HOURS / (sd * math.sqrt(2)))


def _confidence(
    signals: DaySignals, project: ProjectKey, hours: float, over_logged: float, day_hours: float = 0.0
) -> float:
    logged = signals.logged_seconds.get(project, 0) / 3600
    pattern = signals.patterns.get(project)
    if logged == 0 and pattern is not None and pattern.share_sd is not None:
        # Only the employee's own recent mix speaks for this project: its spread says how sure that is.
        return round(max(0.0, min(1.0, _spread_confidence(pattern.share_sd, day_hours) * over_logged)), 3)
    log_cover = min(1.0, logged / hours) if hours > 0 else 0.0
    pattern = signals.patterns.get(project)
    pattern_strength = 0.0
    if pattern is not None and pattern.average_hours > 0:
        agreement = 1.0 - min(1.0, abs(pattern.average_hours - hours) / max(pattern.average_hours, hours))
        pattern_strength = min(1.0, pattern.weeks_observed / _PATTERN_FULL_WEEKS) * agreement
    assign = min(signals.open_issues.get(project, 0), 3) / 3
    doubt = (1 - _W_LOG * log_cover) * (1 - _W_PATTERN * pattern_strength) * (1 - _W_ASSIGN * assign)
    # More hours logged than attended: the logs themselves are in question.
    return round(max(0.0, min(1.0, (1 - doubt) * over_logged)), 3)


def explanation_of(signals: DaySignals, project: ProjectKey) -> str:
    """The evidence for `project` that day, in words: '3h logged on PROJ-12 · 2 open issues · weekday pattern 4 wks'."""
    parts: list[str] = []
    seconds = signals.logged_seconds.get(project, 0)
    if seconds:
        issues = signals.logged_issues.get(project, ())
        where = issues[0] if issues else "Jira"
        more = f" +{len(issues) - 1}" if len(issues) > 1 else ""
        parts.append(f"{_fmt_hours(seconds / 3600)}h logged on {where}{more}")
    open_count = signals.open_issues.get(project, 0)
    if open_count:
        parts.append(f"{open_count} open issue{'s' if open_count != 1 else ''}")
    pattern = signals.patterns.get(project)
    if pattern is not None and pattern.weeks_observed:
        parts.append(f"weekday pattern {pattern.weeks_observed} wk{'s' if pattern.weeks_observed != 1 else ''}")
    return " · ".join(parts)


def allocate_day(signals: DaySignals, *, granularity: Decimal = DEFAULT_GRANULARITY) -> DayOutcome:
    """Split the day's unallocated attended hours across projects; see the module docstring."""
    granularity_c = _to_hundredths(granularity)
    if granularity_c <= 0:
        raise ValueError("granularity must be at least 0.01 h")
    remaining_c = _to_hundredths(signals.attended_hours) - sum(_to_hundredths(h) for h in signals.allocated.values())
    if remaining_c <= 0:
        return DayOutcome(splits=())
    evidence = set(signals.logged_seconds) | set(signals.patterns) | set(signals.open_issues)
    candidates = sorted(p for p in evidence if p not in signals.excluded and p not in signals.allocated)
    raw = _raw_shares(signals, candidates, remaining_c / 100) if candidates else {}
    raw = {p: share for p, share in raw.items() if share > 0}
    if not raw:
        return DayOutcome(splits=(), unallocated_hours=_hundredths(remaining_c), reason=NO_SIGNAL_REASON)
    total_logged = sum(signals.logged_seconds.get(p, 0) for p in candidates) / 3600
    over_logged = min(1.0, (remaining_c / 100) / total_logged) if total_logged > remaining_c / 100 else 1.0
    splits = tuple(
        Split(
            project=project,
            hours=_hundredths(hours_c),
            confidence=_confidence(signals, project, hours_c / 100, over_logged, remaining_c / 100),
            explanation=explanation_of(signals, project),
        )
        for project, hours_c in sorted(_quantize(raw, remaining_c, granularity_c).items())
    )
    return DayOutcome(splits=splits)
