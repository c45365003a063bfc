"""The rules engine's split: exact sums, bounded confidence, evidence in the explanation."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from intelligence.rules import (
    NO_SIGNAL_REASON,
    CandidateArrays,
    DaySignals,
    PatternSignal,
    allocate_arrays,
    allocate_day,
)

PROJECTS = ["P1", "P2", "P3", "P4", "P5"]
hours = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("16"), places=2)
projects = st.sampled_from(PROJECTS)


@st.composite
def day_signals(draw: st.DrawFn) -> DaySignals:
    attended = draw(hours)
    allocated = draw(
        st.dictionaries(projects, st.decimals(min_value=Decimal("0.25"), max_value=Decimal("6"), places=2), max_size=2)
    )
    return DaySignals(
        attended_hours=attended,
        allocated=allocated,
        excluded=frozenset(draw(st.sets(projects, max_size=2))),
        logged_seconds=draw(st.dictionaries(projects, st.integers(min_value=0, max_value=14 * 3600), max_size=4)),
        logged_issues={p: (f"{p}-1", f"{p}-2") for p in PROJECTS},
        open_issues=draw(st.dictionaries(projects, st.integers(min_value=0, max_value=9), max_size=4)),
        patterns=draw(
            st.dictionaries(
                projects,
                st.builds(
                    PatternSignal,
                    average_hours=st.floats(min_value=0, max_value=10, allow_nan=False),
                    weeks_observed=st.integers(min_value=0, max_value=12),
                    share_sd=st.one_of(st.none(), st.floats(min_value=0.005, max_value=0.8)),
                ),
                max_size=4,
            )
        ),
    )


@settings(max_examples=400, deadline=None)
@given(
    signals=day_signals(), granularity=st.sampled_from([Decimal("0.25"), Decimal("0.5"), Decimal("0.1"), Decimal("1")])
)
def test_the_split_sums_exactly_to_the_unallocated_attended_hours(signals: DaySignals, granularity: Decimal) -> None:
    outcome = allocate_day(signals, granularity=granularity)
    remaining = max(Decimal(0), signals.attended_hours - sum(signals.allocated.values(), Decimal(0)))
    assert sum((s.hours for s in outcome.splits), Decimal(0)) + outcome.unallocated_hours == remaining
    assert all(0 <= s.confidence <= 1 for s in outcome.splits)
    assert all(s.hours > 0 for s in outcome.splits)
    proposed = {s.project for s in outcome.splits}
    assert not proposed & signals.excluded
    assert not proposed & set(signals.allocated)
    # At most one share is off the granularity grid: the one that absorbs the residue.
    assert sum(1 for s in outcome.splits if s.hours % granularity) <= 1
    assert not (outcome.splits and outcome.unallocated_hours)


def test_no_attendance_means_no_suggestions() -> None:
    outcome = allocate_day(DaySignals(attended_hours=Decimal(0), logged_seconds={"P1": 3600}))
    assert outcome.splits == ()
    assert outcome.unallocated_hours == 0


def test_attendance_without_any_signal_is_flagged_unallocated() -> None:
    outcome = allocate_day(DaySignals(attended_hours=Decimal("7.5")))
    assert outcome.splits == ()
    assert outcome.unallocated_hours == Decimal("7.5")
    assert outcome.reason == NO_SIGNAL_REASON


def test_logged_hours_are_kept_and_the_rest_follows_the_pattern() -> None:
    signals = DaySignals(
        attended_hours=Decimal("8"),
        logged_seconds={"P1": 3 * 3600},
        logged_issues={"P1": ("PROJ-12",)},
        open_issues={"P1": 2},
        patterns={"P2": PatternSignal(average_hours=5.0, weeks_observed=4)},
    )
    outcome = allocate_day(signals)
    by_project = {s.project: s for s in outcome.splits}
    assert by_project["P1"].hours >= Decimal("3")
    assert by_project["P1"].hours + by_project["P2"].hours == Decimal("8")
    assert by_project["P1"].explanation == "3h logged on PROJ-12 · 2 open issues"
    assert by_project["P2"].explanation == "weekday pattern 4 wks"
    assert by_project["P1"].confidence > by_project["P2"].confidence


def test_over_logged_days_are_scaled_down_with_less_confidence() -> None:
    exact = allocate_day(DaySignals(attended_hours=Decimal("4"), logged_seconds={"P1": 4 * 3600}))
    over = allocate_day(DaySignals(attended_hours=Decimal("4"), logged_seconds={"P1": 8 * 3600}))
    assert over.splits[0].hours == Decimal("4")
    assert over.splits[0].confidence < exact.splits[0].confidence


def test_only_the_remainder_after_accepted_allocations_is_split() -> None:
    outcome = allocate_day(
        DaySignals(
            attended_hours=Decimal("8"),
            allocated={"P1": Decimal("6")},
            logged_seconds={"P1": 6 * 3600, "P2": 2 * 3600},
        )
    )
    assert [(s.project, s.hours) for s in outcome.splits] == [("P2", Decimal("2.00"))]


def test_the_sub_granule_residue_lands_on_one_share() -> None:
    outcome = allocate_day(
        DaySignals(attended_hours=Decimal("7.33"), logged_seconds={"P1": 3600 * 4, "P2": 3600 * 3}),
        granularity=Decimal("0.25"),
    )
    assert sum(s.hours for s in outcome.splits) == Decimal("7.33")
    assert sorted(s.hours % Decimal("0.25") for s in outcome.splits) == [Decimal("0"), Decimal("0.08")]


@st.composite
def _chunks(draw: st.DrawFn) -> tuple[CandidateArrays, np.ndarray, int]:
    n_groups = draw(st.integers(1, 12))
    sizes = draw(st.lists(st.integers(0, 6), min_size=n_groups, max_size=n_groups))
    n = sum(sizes)
    group = np.repeat(np.arange(n_groups), sizes).astype(np.int64)

    def column(elements: st.SearchStrategy[float]) -> np.ndarray:
        return np.array(draw(st.lists(elements, min_size=n, max_size=n)), dtype=np.float64)

    maybe = st.one_of(st.just(0.0), st.floats(0.0, 12.0, allow_nan=False))
    has_pattern = column(st.sampled_from([0.0, 1.0])) > 0
    rows = CandidateArrays(
        group=group,
        logged_hours=column(maybe),
        open_issues=column(st.sampled_from([0.0, 0.0, 1.0, 3.0, 9.0])),
        pattern_hours=np.where(has_pattern, column(st.floats(0.0, 10.0, allow_nan=False)), np.nan),
        pattern_weeks=column(st.sampled_from([0.0, 1.0, 4.0, 8.0])),
        pattern_sd=np.where(column(st.sampled_from([0.0, 1.0])) > 0, column(st.floats(0.0, 1.0)), np.nan),
    )
    remaining = np.array(draw(st.lists(st.integers(0, 1600), min_size=n_groups, max_size=n_groups)), dtype=np.int64)
    granularity = draw(st.sampled_from([1, 5, 10, 25, 50, 100]))
    return rows, remaining, granularity


@settings(max_examples=300, deadline=None)
@given(_chunks())
def test_a_chunk_split_sums_exactly_per_employee_day_and_no_share_is_negative(
    chunk: tuple[CandidateArrays, np.ndarray, int],
) -> None:
    rows, remaining, granularity = chunk
    hundredths, confidence = allocate_arrays(rows, remaining, granularity_c=granularity)
    assert (hundredths >= 0).all()
    assert ((confidence >= 0) & (confidence <= 1)).all()
    per_group = np.bincount(rows.group, weights=hundredths, minlength=len(remaining)).astype(np.int64)
    answered = np.bincount(rows.group, weights=(hundredths > 0), minlength=len(remaining)) > 0
    # Every employee-day with evidence is split to the hundredth; one without gets nothing (it is flagged).
    assert (per_group[answered] == remaining[answered]).all()
    assert (per_group[~answered] == 0).all()
    # At most one share per employee-day carries the residue below one granule.
    off_grid = np.bincount(rows.group, weights=(hundredths % granularity) > 0, minlength=len(remaining))
    assert (off_grid <= 1).all()


@settings(max_examples=300, deadline=None)
@given(day_signals(), st.sampled_from([Decimal("0.25"), Decimal("0.5"), Decimal("0.01")]))
def test_one_day_split_in_python_is_the_chunk_split_of_that_day(signals: DaySignals, granularity: Decimal) -> None:
    """allocate_day (one day, plain Python) and allocate_arrays (a chunk, numpy) give the same answer."""
    outcome = allocate_day(signals, granularity=granularity)
    remaining_c = round(signals.attended_hours * 100) - sum(round(h * 100) for h in signals.allocated.values())
    evidence = set(signals.logged_seconds) | set(signals.patterns) | set(signals.open_issues)
    candidates = sorted(p for p in evidence if p not in signals.excluded and p not in signals.allocated)
    patterns = [signals.patterns.get(p) for p in candidates]
    nan = float("nan")
    rows = CandidateArrays(
        group=np.zeros(len(candidates), dtype=np.int64),
        logged_hours=np.array([signals.logged_seconds.get(p, 0) / 3600 for p in candidates], dtype=np.float64),
        open_issues=np.array([signals.open_issues.get(p, 0) for p in candidates], dtype=np.float64),
        pattern_hours=np.array([nan if q is None else q.average_hours for q in patterns], dtype=np.float64),
        pattern_weeks=np.array([0 if q is None else q.weeks_observed for q in patterns], dtype=np.float64),
        pattern_sd=np.array([nan if q is None or q.share_sd is None else q.share_sd for q in patterns]),
    )
    hundredths, confidence = allocate_arrays(
        rows, np.array([max(remaining_c, 0)], dtype=np.int64), granularity_c=round(granularity * 100)
    )
    from_arrays = {p: (int(h), float(c)) for p, h, c in zip(candidates, hundredths, confidence, strict=True) if h > 0}
    if remaining_c <= 0:
        assert outcome.splits == ()
        return
    from_day = {s.project: (round(s.hours * 100), s.confidence) for s in outcome.splits}
    assert {p: h for p, (h, _) in from_day.items()} == {p: h for p, (h, _) in from_arrays.items()}, repr(signals)
    for project, (_, conf) in from_day.items():
        assert abs(conf - from_arrays[project][1]) <= 0.001
