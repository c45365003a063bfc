"""Each employee's recent project mix, in bulk: what the rules engine expects a day to look like.

From the confirmed allocations of the `WINDOW_DAYS` before a date, for a chunk of employees at once (one query,
a few numpy passes, no per-day Python), per employee, project and weekday:

- **Recency.** A project's level is its share of the day, averaged over the employee's *worked* days with
  weights halving every `HALF_LIFE_WORKED_DAYS` worked days back. Counting worked days rather than calendar
  days, a week of leave or a holiday neither ages the mix nor reads as a week without work.
- **Lifecycle.** A project is averaged only over the days since it first appeared in the window, so one taken
  up a few days ago weighs what it has weighed since, not a fraction diluted by the weeks before it existed.
  A project that was worked on most of its days and then not at all for the last `ENDED_AFTER_WORKED_DAYS`
  worked days has ended: its weight is 0. When one ended and another was taken up, the new one's few days are
  not the only estimate of its level: what the projects that went on throughout leave of a day is another,
  and the two are combined as far as the chunk's other such switches show they agree.
- **Weekday habit.** A habit is sparse (one weekday heavier on a project, the others as usual), so each
  weekday's mean share is either the usual day plus noise or a habit, with a posterior probability from how
  common and how large habits are across the whole chunk (empirical Bayes, a spike-and-slab fit): a company
  without habits reads one odd Tuesday as noise, one with many keeps them. The usual day is the mean of the
  weekdays without a habit, so a Friday habit does not lift the other four days. A day's shares sum to one: a
  project too new to have a ratio of its own for a weekday takes its part of what the others leave of it.
- **Spread.** The standard deviation of the project's daily share around that expectation, pooled towards the
  chunk's typical spread by `SPREAD_PRIOR_DAYS` pseudo-days (a new joiner's two weeks say little about it). The
  typical spread is per unit of level x (1 - level), since a project that takes a tenth of the day strays less
  in hours than one that takes half, and is taken over the established projects that have not ended (an ended
  project's empty days are not day-to-day noise). The spread is widened by the uncertainty of the expectation
  itself (the effective day count of the recency weights, and the posterior variance of the weekday's habit).
  The rules engine turns it into the probability that a suggestion lands within a quarter hour of
  what the employee confirms.
"""

# ruff: noqa: S608 - table names come from model metadata; every value is a bound parameter.
from __future__ import annotations

import math
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import numpy as np
from django.db import connection
from psycopg.types.string import TextLoader

from timesheets.models import TimesheetProjectAllocation

WINDOW_DAYS = 56
HALF_LIFE_WORKED_DAYS = 20.0
ENDED_AFTER_WORKED_DAYS = 3
ENDED_MIN_PRESENCE = 0.6  # a project worked on at least this share of its days before the gap counts as ended
SPREAD_PRIOR_DAYS = 5.0
HABIT_MIN_REPEATS = 5
HABIT_PRIOR_SHARE = 0.2  # where the fit of how common weekday habits are starts
HABIT_MIN_SPREAD = 0.01  # a habit's least spread (per unit of sqrt(level x (1 - level)))
HABIT_ROUNDS = 3  # fits of the habits, each from the usual day the one before found
HABIT_EM_STEPS = 30
SHARE_SD_FLOOR = 0.01
MAX_RATIO_OF_THE_REST = 4.0
DEFAULT_SPREAD_PER_UNIT = 0.04  # a share's variance per unit of level x (1 - level) when no pair is established


@dataclass(frozen=True, slots=True)
class Mix:
    """One employee-project-weekday: expected hours on a typical day, weeks seen, share sd (None: unknown)."""

    hours: float
    weeks_observed: int
    share_sd: float


MixKey = tuple[str, int]  # (employee id as text, weekday 0 = Monday)


HISTORY_SQL = (
    f"SELECT employee_id, project_id, date, hours::float8 FROM {TimesheetProjectAllocation._meta.db_table} "
    "WHERE employee_id = ANY(%s) AND date BETWEEN %s AND %s AND hours > 0"
)

Rows = Callable[[str, Sequence[Any]], list[tuple[Any, ...]]]


def recent_mixes(
    *, employee_ids: list[uuid.UUID], as_of: date, rows: Rows | None = None
) -> dict[MixKey, dict[str, Mix]]:
    """The mixes of `employee_ids` from the allocations of the WINDOW_DAYS ending on `as_of` (inclusive).

    One query, through `rows` when the caller has a cursor open (ids must then load as text).
    """
    first = as_of - timedelta(days=WINDOW_DAYS - 1)
    params: list[Any] = [list(employee_ids), first, as_of]
    if rows is not None:
        found = rows(HISTORY_SQL, params)
    else:
        with connection.cursor() as cursor:
            cursor.cursor.adapters.register_loader("uuid", TextLoader)  # this cursor only
            cursor.execute(HISTORY_SQL, params)
            found = list(cursor.fetchall())
    return mixes_from_rows(found, first=first, days=WINDOW_DAYS)


def mixes_from_rows(
    rows: list[tuple[str, str, date, float]], *, first: date, days: int
) -> dict[MixKey, dict[str, Mix]]:
    """The computation of `recent_mixes` on plain rows (employee, project, date, hours), for tests and backtests."""
    if not rows:
        return {}
    employees = sorted({row[0] for row in rows})
    projects = sorted({row[1] for row in rows})
    e_index = {e: i for i, e in enumerate(employees)}
    p_index = {p: i for i, p in enumerate(projects)}
    n_projects = len(projects)
    emp = np.fromiter((e_index[r[0]] for r in rows), dtype=np.int64, count=len(rows))
    proj = np.fromiter((p_index[r[1]] for r in rows), dtype=np.int64, count=len(rows))
    day = np.fromiter(((r[2] - first).days for r in rows), dtype=np.int64, count=len(rows))
    hours = np.fromiter((r[3] for r in rows), dtype=np.float64, count=len(rows))
    codes, pair = np.unique(emp * n_projects + proj, return_inverse=True)
    pair_emp, pair_proj = codes // n_projects, codes % n_projects
    n_pairs = len(codes)

    pair_hours = np.zeros((n_pairs, days))
    np.add.at(pair_hours, (pair, day), hours)
    day_total = np.zeros((len(employees), days))
    np.add.at(day_total, (emp, day), hours)
    worked = day_total > 0
    # Worked days counted back from the window's end: 0 on the employee's latest worked day.
    back: np.ndarray = np.cumsum(worked[:, ::-1], axis=1)[:, ::-1] - worked
    recency = np.where(worked, 0.5 ** (back / HALF_LIFE_WORKED_DAYS), 0.0)
    share = np.divide(pair_hours, day_total[pair_emp], out=np.zeros_like(pair_hours), where=worked[pair_emp])
    present = pair_hours > 0

    # Lifecycle: the days since the project first appeared; ended after a gap of worked days.
    day_numbers = np.arange(days)
    first_seen = np.where(present.any(axis=1), np.argmax(present, axis=1), days)
    live = worked[pair_emp] & (day_numbers[None, :] >= first_seen[:, None])
    gap = np.where(present, back[pair_emp], np.iinfo(np.int64).max).min(axis=1)  # worked days since last seen
    live_days = live.sum(axis=1)
    presence = present.sum(axis=1) / np.maximum(live_days - np.minimum(gap, live_days), 1)
    ended = (gap >= ENDED_AFTER_WORKED_DAYS) & (presence >= ENDED_MIN_PRESENCE)

    weights = recency[pair_emp] * live
    level = np.divide(
        (weights * share).sum(axis=1), weights.sum(axis=1), out=np.zeros(n_pairs), where=weights.sum(axis=1) > 0
    )
    level[ended] = 0.0
    mean_share = np.divide((share * live).sum(axis=1), live_days, out=np.zeros(n_pairs), where=live_days > 0)
    # The expectation is a recency-weighted mean: its own uncertainty follows the weights' effective day count.
    effective = np.divide(
        weights.sum(axis=1) ** 2, (weights**2).sum(axis=1), out=np.ones(n_pairs), where=weights.sum(axis=1) > 0
    )
    spread_sq = np.divide(((share - mean_share[:, None]) ** 2 * live).sum(axis=1), np.maximum(live_days - 1, 1))
    employee_first = np.argmax(worked, axis=1)
    taken_up = (first_seen > employee_first[pair_emp]) & ~ended & (level > 0)
    level = _taken_over(level, taken_up, ended, spread_sq / np.maximum(effective, 1), pair_emp, len(employees))
    typical_hours = np.divide(
        (day_total * recency).sum(axis=1), recency.sum(axis=1), out=np.zeros(len(employees)),
        where=recency.sum(axis=1) > 0,
    )  # fmt: skip

    weekday_of_day = (first.weekday() + day_numbers) % 7
    out: dict[MixKey, dict[str, Mix]] = {}
    # Per weekday: days, share sum and mean; the spread within weekdays; the spread between their means.
    on = live[:, :, None] & (weekday_of_day[None, :, None] == np.arange(7)[None, None, :])  # pair x day x weekday
    n_wd = on.sum(axis=1)
    mean_wd = np.divide((share[:, :, None] * on).sum(axis=1), n_wd, out=np.zeros((n_pairs, 7)), where=n_wd > 0)
    expected_by_day = (mean_wd[:, None, :] * on).sum(axis=2)  # each live day's own weekday mean
    within = ((share - expected_by_day) ** 2 * live).sum(axis=1)
    within_dof = live_days - (n_wd > 0).sum(axis=1)
    within_var = np.divide(within, np.maximum(within_dof, 1))
    # A habit needs each weekday seen twice and enough repeats to tell it from noise.
    seen = (n_wd >= 2) & (within_dof >= HABIT_MIN_REPEATS)[:, None]
    noise_wd = within_var[:, None] / np.maximum(n_wd, 1)  # the variance of a weekday's mean from day-to-day noise
    habits = _weekday_habits(mean_wd, noise_wd, seen, mean_share, n_wd)
    weight_wd = habits.weight
    habit = habits.usual[:, None] + weight_wd * (mean_wd - habits.usual[:, None])
    ratios = np.divide(habit, mean_share[:, None], out=np.ones((n_pairs, 7)), where=mean_share[:, None] > 0)
    ratios = np.maximum(ratios, 0.0)
    ratios = _ratios_of_the_rest(ratios, level, seen, pair_emp, len(employees))
    counts = (present[:, :, None] & on).sum(axis=1)
    # The spread of a day's share around its expectation, pooled towards the chunk's typical spread when a
    # project has few days (a new joiner's two weeks say little about how much a day strays).
    residual = (share - mean_share[:, None] * ratios[np.arange(n_pairs)[:, None], weekday_of_day[None, :]]) ** 2
    residual_sq = (residual * live).sum(axis=1)
    # Each weekday's habit spends a degree of freedom as far as it is trusted.
    dof = np.maximum(live_days - 1 - weight_wd.sum(axis=1), 0)
    # A day's share strays in proportion to how much of the day the project takes (binomial-like): the prior
    # is the chunk's typical spread per unit of level x (1 - level), scaled to this project's level.
    established = (live_days >= 10) & ~ended
    bernoulli = np.clip(mean_share * (1 - mean_share), 0.01, None)
    per_unit = residual_sq / np.maximum(dof, 1) / bernoulli
    pooled = float(np.mean(per_unit[established])) if established.any() else DEFAULT_SPREAD_PER_UNIT
    variance = (residual_sq + SPREAD_PRIOR_DAYS * pooled * bernoulli) / (dof + SPREAD_PRIOR_DAYS)
    # The expectation's own uncertainty follows the recency weights' effective day count (above), and a weekday's
    # habit is uncertain as far as its weekday's few days are, and as far as it is unsure whether the weekday has a
    # habit at all (the posterior variance, per unit of a day's variance).
    habit_uncertainty = np.divide(
        habits.variance, within_var[:, None], out=np.zeros((n_pairs, 7)), where=within_var[:, None] > 0
    )
    # With the variance itself estimated from few days, a day's share strays like a Student t's (nu: the days and
    # pseudo-days behind it). The chance of landing within a quarter hour is a central probability, and near the
    # centre a t is a normal widened by its quantiles' ratio, 1 + (1 + z^2) / (4 nu) at z of about one (Cornish-
    # Fisher), not by its variance's nu / (nu - 2), which its heavy tails make large.
    nu = dof + SPREAD_PRIOR_DAYS
    heavier = (1 + 1 / (2 * nu)) ** 2
    share_sd = np.sqrt((variance * heavier)[:, None] * (1 + 1 / np.maximum(effective, 1)[:, None] + habit_uncertainty))
    share_sd = np.maximum(share_sd, SHARE_SD_FLOOR)

    keep = np.flatnonzero(level > 0)
    for index in keep.tolist():
        employee = employees[int(pair_emp[index])]
        project = projects[int(pair_proj[index])]
        base = float(level[index] * typical_hours[int(pair_emp[index])])
        for weekday in range(7):
            out.setdefault((employee, weekday), {})[project] = Mix(
                hours=base * float(ratios[index, weekday]),
                weeks_observed=int(counts[index, weekday]),
                share_sd=float(share_sd[index, weekday]),
            )
    return out


def _taken_over(
    level: np.ndarray,
    taken_up: np.ndarray,
    ended: np.ndarray,
    level_variance: np.ndarray,
    pair_emp: np.ndarray,
    n_employees: int,
) -> np.ndarray:
    """The levels of the projects taken up in the window by an employee whose other project ended there.

    Their own level comes from the few days since they started. A day's shares sum to one, so there is a second
    estimate: what the projects that went on throughout leave, measured over the whole window. The two agree
    when the new work took over the ended work's time and not the others'; how far they disagree beyond their
    own noise is fitted over every such employee of the chunk (empirical Bayes), and the two are combined by
    precision, so in a company where new projects come on top of the rest they keep their own level.
    """

    def per_employee(values: np.ndarray) -> np.ndarray:
        result: np.ndarray = np.bincount(pair_emp, weights=values, minlength=n_employees)
        return result

    went_on = ~taken_up & ~ended & (level > 0)
    own = per_employee(np.where(taken_up, level, 0.0))
    rest = 1.0 - per_employee(np.where(went_on, level, 0.0))
    own_var = np.maximum(per_employee(np.where(taken_up, level_variance, 0.0)), 1e-6)
    rest_var = per_employee(np.where(went_on, level_variance, 0.0))
    handed_over = (own > 0) & (per_employee(ended.astype(np.float64)) > 0)
    if not handed_over.any():
        return level
    disagreement = float(np.mean(((own - rest) ** 2 - own_var - rest_var)[handed_over]))
    rest_var = np.maximum(rest_var + max(disagreement, 0.0), 1e-9)
    combined = (own / own_var + np.clip(rest, 0.0, 1.0) / rest_var) / (1 / own_var + 1 / rest_var)
    scale = np.where(handed_over, np.divide(combined, own, out=np.ones(n_employees), where=own > 0), 1.0)
    return np.where(taken_up, level * scale[pair_emp], level)


@dataclass(frozen=True, slots=True)
class _Habits:
    usual: np.ndarray  # per pair: the share on a weekday without a habit
    weight: np.ndarray  # pair x weekday: how far the weekday's own mean counts (posterior shrinkage)
    variance: np.ndarray  # pair x weekday: the posterior variance of the weekday's expected share


def _weekday_habits(
    mean_wd: np.ndarray, noise_wd: np.ndarray, seen: np.ndarray, mean_share: np.ndarray, n_wd: np.ndarray
) -> _Habits:
    """Which weekdays differ from a project's usual day, learned from the whole chunk (empirical Bayes).

    A habit is sparse: one weekday of five heavier on a project, the rest as usual. Each weekday's deviation from
    the usual day is either nothing but noise (the spike) or a real habit (the slab, normal with a spread the
    chunk's data set); how common habits are and how large is fitted over every employee-project of the chunk
    (EM), so a company without habits reads its odd Tuesdays as noise and one with many keeps them. The usual
    day is the mean of the weekdays that show no habit, not the mean of all days: a Friday habit does not lift
    the other four days. Deviations are per unit of sqrt(level x (1 - level)), as a day's share strays.
    """
    n_pairs = len(mean_share)
    none = np.zeros((n_pairs, 7))
    if not seen.any():
        return _Habits(mean_share.copy(), none, none)
    scale = np.sqrt(np.clip(mean_share * (1 - mean_share), 0.01, None))[:, None]
    noise = np.maximum(noise_wd / scale**2, 1e-9)
    masked = np.where(seen, mean_wd, np.inf)
    # The usual day starts at the median weekday (a single habit cannot move it) and is refined below.
    ordered = np.sort(masked, axis=1)
    k = seen.sum(axis=1)
    low, high = np.maximum((k - 1) // 2, 0), np.maximum(k // 2, 0)
    rows = np.arange(n_pairs)
    usual = np.where(k > 0, (ordered[rows, low] + ordered[rows, np.minimum(high, 6)]) / 2, mean_share)
    common, spread = HABIT_PRIOR_SHARE, HABIT_MIN_SPREAD**2
    posterior = none
    for round_ in range(HABIT_ROUNDS):
        deviation = np.where(seen, (mean_wd - usual[:, None]) / scale, 0.0)
        x, v = deviation[seen], noise[seen]
        for _ in range(HABIT_EM_STEPS):
            r = _slab_posterior(x, v, common, spread)
            common = float(np.clip((r.sum() + 1) / (r.size + 2), 1e-3, 1 - 1e-3))  # a uniform prior on it
            spread = max(float((r * (x**2 - v)).sum() / max(r.sum(), 1e-9)), HABIT_MIN_SPREAD**2)
        posterior = np.where(seen, _slab_posterior(deviation, noise, common, spread), 0.0)
        if round_ + 1 < HABIT_ROUNDS:
            plain = (1 - posterior) * n_wd * seen
            total = plain.sum(axis=1)
            usual = np.where(total > 0, np.divide((plain * mean_wd).sum(axis=1), np.maximum(total, 1e-9)), usual)
    shrink = np.where(seen, spread / (spread + noise), 0.0)
    weight = posterior * shrink
    deviation_share = mean_wd - usual[:, None]
    variance = np.where(
        seen, posterior * shrink * noise_wd + posterior * (1 - posterior) * (shrink * deviation_share) ** 2, 0.0
    )
    return _Habits(usual, weight, variance)


def _slab_posterior(x: np.ndarray, noise: np.ndarray, common: float, spread: float) -> np.ndarray:
    """P(habit | deviation x): a habit's deviation is N(0, spread + noise), no habit's N(0, noise)."""
    with_habit = spread + noise
    log_ratio = -0.5 * (x**2 / with_habit - x**2 / noise) - 0.5 * np.log(with_habit / noise)
    logit = np.clip(log_ratio + math.log(common / (1 - common)), -50, 50)
    result: np.ndarray = 1 / (1 + np.exp(-logit))
    return result


def _ratios_of_the_rest(
    ratios: np.ndarray, level: np.ndarray, seen: np.ndarray, pair_emp: np.ndarray, n_employees: int
) -> np.ndarray:
    """Weekday ratios for the projects too new to have their own.

    A day's shares sum to one: when one project takes more of a Tuesday, the rest of the Tuesday is smaller (and
    the other days' rest larger), and a project taken up a week or two ago (seen on that weekday once or not at
    all) shares in what is left of each weekday instead of keeping its everyday level.
    """
    live = level > 0
    rest = ~seen & live[:, None]
    total = np.bincount(pair_emp, weights=np.where(live, level, 0.0), minlength=n_employees)  # a typical day
    own_share = np.zeros((n_employees, 7))
    np.add.at(own_share, pair_emp, level[:, None] * ratios * (seen & live[:, None]))
    rest_level = np.zeros((n_employees, 7))
    np.add.at(rest_level, pair_emp, level[:, None] * rest)
    left = total[pair_emp][:, None] - own_share[pair_emp]
    of_rest = np.divide(left, rest_level[pair_emp], out=np.ones_like(ratios), where=rest_level[pair_emp] > 0)
    return np.where(rest, np.clip(of_rest, 0.0, MAX_RATIO_OF_THE_REST), ratios)
