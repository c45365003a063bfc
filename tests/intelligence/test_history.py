"""The recent mix: weekday habits as sparse effects learned over the chunk, and projects taken over."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np

from intelligence.history import Mix, mixes_from_rows

FIRST = date(2026, 1, 5)  # a Monday
DAYS = 56


def _company(
    *, people: int, seed: int, friday_habit: bool = False, switch_after: int | None = None, rest_grows: bool = False
) -> list[tuple[str, str, date, float]]:
    """Eight-hour workdays split A 0.5 / B 0.3 / C 0.2 with noise; a habit puts A at 0.8 on Fridays; a switch
    replaces C by D from day `switch_after` on (with `rest_grows`, D takes only half of C's time, A the rest)."""
    rng = np.random.default_rng(seed)
    rows = []
    for person in range(people):
        for offset in range(DAYS):
            day = FIRST + timedelta(days=offset)
            if day.weekday() >= 5:
                continue
            shares = {"A": 0.5, "B": 0.3, "C": 0.2}
            if friday_habit and day.weekday() == 4:
                shares = {"A": 0.8, "B": 0.12, "C": 0.08}
            if switch_after is not None and offset >= switch_after:
                shares["D"] = shares.pop("C")
                if rest_grows:
                    shares["A"] += shares["D"] / 2
                    shares["D"] /= 2
            noisy = {p: s * rng.lognormal(0.0, 0.25) for p, s in shares.items()}
            total = sum(noisy.values())
            for project, weight in noisy.items():
                hours = round(8 * weight / total * 4) / 4
                if hours > 0:
                    rows.append((f"e{person:02d}", project, day, hours))
    return rows


def _mix(rows: list[tuple[str, str, date, float]], employee: str, weekday: int) -> dict[str, Mix]:
    return mixes_from_rows(rows, first=FIRST, days=DAYS)[(employee, weekday)]


def test_a_company_without_habits_reads_odd_weekdays_as_noise() -> None:
    rows = _company(people=30, seed=1)
    mixes = mixes_from_rows(rows, first=FIRST, days=DAYS)
    spreads = [
        abs(mixes[(f"e{p:02d}", weekday)]["A"].hours - mixes[(f"e{p:02d}", 0)]["A"].hours)
        for p in range(30)
        for weekday in range(5)
    ]
    # A weekday's own mean strays by about 0.2 h; shrunk one employee at a time, the weekdays kept 0.03 h of it.
    assert float(np.mean(spreads)) < 0.01


def test_a_friday_habit_is_kept_and_does_not_lift_the_other_days() -> None:
    rows = _company(people=30, seed=2, friday_habit=True)
    hours_a = [[_mix(rows, f"e{p:02d}", weekday)["A"].hours for weekday in range(5)] for p in range(30)]
    friday, monday_to_thursday = np.mean([h[4] for h in hours_a]), np.mean([h[:4] for h in hours_a])
    assert friday > 5.8  # 0.8 of 8 h, shrunk a little
    assert abs(monday_to_thursday - 4.0) < 0.15  # 0.5 of 8 h, not the all-days mean of 4.5 h


def test_a_project_taken_over_borrows_what_the_others_leave() -> None:
    rows = _company(people=30, seed=3, switch_after=DAYS - 10)
    errors = [abs(_mix(rows, f"e{p:02d}", 0)["D"].hours - 1.6) for p in range(30)]
    own_days_only = [abs(np.mean([h for e, q, d, h in rows if e == f"e{p:02d}" and q == "D"]) - 1.6) for p in range(30)]
    assert "C" not in _mix(rows, "e00", 0)
    assert float(np.mean(errors)) < 0.7 * float(np.mean(own_days_only))


def test_a_project_that_comes_on_top_of_the_rest_keeps_its_own_level() -> None:
    rows = _company(people=30, seed=4, switch_after=DAYS - 10, rest_grows=True)
    levels = [_mix(rows, f"e{p:02d}", 0)["D"].hours for p in range(30)]
    assert abs(float(np.mean(levels)) - 0.8) < 0.2  # half of C's 1.6 h, not the 1.6 h C left
