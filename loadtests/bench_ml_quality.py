"""Benchmark: how good the suggestions are on companies the engine was never tuned on.

    scripts/with-env.sh .venv/bin/python loadtests/bench_ml_quality.py                 # every family, 3 seeds
    scripts/with-env.sh .venv/bin/python loadtests/bench_ml_quality.py --families stable,switches --seeds 1

A company generator of its own (it shares no code with the demo seed) makes small companies of scenario
families, each varied independently: stable mixes, weekday habits, projects ending and new ones starting, part
time and irregular hours, leave and public holidays, new joiners with one or two weeks of history, many
projects per person, high and low noise, everything at once, Jira covering most hours, Jira covering 30-70 %
of them (under-logging), and a brand-new tenant with Jira but no confirmed history (cold start); every
other family has no Jira at all. The generator knows each day's noise-free
split, so it reports the **noise floor** (the error of a predictor that knows the true weights) beside every
figure.

Each company is fed to a tenant only through the product's public paths (`POST /api/projects`,
`/api/employees`, `/api/attendance`, `/api/allocations`, `/api/leave`, `/api/worktime/days-off`,
`/api/jira/connection`; Jira data through the local Jira stand-in and `manage.py sync_jira`), then trained
(`manage.py train_model`) and generated (`manage.py generate_timesheets`) exactly as production does; the
suggestions are scored against the truth. Baselines computed in the same run from the same history: last
week's same weekday, the 2- and 4-week weekday average, an exponentially weighted average and the last
worked day, each scaled to the day's attended hours in quarter hours.

Figures per family and overall: hours MAE per employee-day-project (a suggested project without hours and a
missed one both count), the share of employee-days split exactly right, the expected calibration error of the
confidence (the event: the suggestion is within 0.25 h of the truth) with a reliability table, the share of
suggestions at or above the default auto-accept threshold (0.90) and how often those are within 0.25 h, and
the share of all rows within 0.25 h beside the noise floor's (no calibrated confidence can put more
suggestions above 0.90 than are that reliably right).

Every company runs inside one transaction of a tenant of its own database (hrms_bench_quality, dropped
afterwards unless --keep) that is rolled back afterwards, so companies never see each other.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

GRANULE = 0.25
THRESHOLD = 0.90  # the tenant's default auto-accept threshold
WITHIN = 0.25  # a suggestion is "right" within a quarter hour of the truth

Key = tuple[int, date, int]  # person, day, project


# The worlds -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Family:
    name: str
    projects: tuple[int, int] = (2, 4)  # projects per person, inclusive
    noise: float = 0.25  # log-normal sigma of the daily weights
    habit_share: float = 0.0  # people with one project heavier on one weekday
    habit_factor: float = 3.0
    switch_share: float = 0.0  # people whose project ends and is replaced before the period
    part_time_share: float = 0.0
    irregular_hours: float = 0.0  # sd of the attended hours (in hours)
    leave: bool = False  # vacations (approved leave) and company days off
    history_weeks: tuple[int, int] = (12, 12)  # weeks of confirmed history, inclusive range
    structured: bool = False  # a structure that the baselines cannot see
    jira: tuple[float, float] | None = None  # share of each day's project hours logged in Jira (low, high)
    confirmed_history: bool = True  # False: a brand-new tenant, no allocations before the period (cold start)


FAMILIES: dict[str, Family] = {
    f.name: f
    for f in (
        Family("stable"),
        Family("weekday", habit_share=0.8, structured=True),
        Family("switches", switch_share=0.5, structured=True),
        Family("weekday_switches", habit_share=0.7, switch_share=0.5, structured=True),
        Family("part_time", part_time_share=0.5, irregular_hours=1.0),
        Family("leave_holidays", leave=True),
        Family("new_joiners", history_weeks=(1, 2)),
        Family("many_projects", projects=(5, 8)),
        Family("high_noise", noise=0.6),
        Family("low_noise", noise=0.08),
        Family("jira_full", jira=(0.85, 1.0), structured=True),
        Family("jira_partial", jira=(0.3, 0.7), structured=True),
        Family("cold_start", jira=(0.85, 1.0), confirmed_history=False, structured=True),
        Family(
            "mixed",
            habit_share=0.4,
            switch_share=0.3,
            part_time_share=0.1,
            irregular_hours=0.5,
            leave=True,
            structured=True,
        ),
    )
}


@dataclass
class Person:
    index: int
    projects: list[int]
    weights: np.ndarray  # base weights, one per project in `projects`
    weekdays: tuple[int, ...]
    daily_hours: float
    history_weeks: int
    habit: tuple[int, int] | None = None  # (weekday, position in projects)
    switch: tuple[int, int, date] | None = None  # (old position, new project, first day of the new one)
    leave: list[tuple[date, date]] = field(default_factory=list)


@dataclass
class World:
    family: Family
    seed: int
    people: list[Person]
    n_projects: int
    history_start: date
    start: date  # first day of the period to generate
    end: date
    days_off: dict[date, str]
    attendance: dict[tuple[int, date], float]  # attended hours (history and period)
    truth: dict[tuple[int, date], dict[int, float]]  # realized split (history and period)
    clean: dict[tuple[int, date], dict[int, float]]  # noise-free split, quarter hours
    off_attended: set[tuple[int, date]]  # attended although a holiday or on leave: must be flagged

    def history_days(self) -> list[date]:
        return [self.history_start + timedelta(days=i) for i in range((self.start - self.history_start).days)]

    def period_days(self) -> list[date]:
        return [self.start + timedelta(days=i) for i in range((self.end - self.start).days + 1)]


def quarter_split(weights: dict[int, float], hours: float) -> dict[int, float]:
    """Split `hours` by weight into quarter hours that sum exactly (largest remainder)."""
    total = sum(weights.values())
    units = round(hours / GRANULE)
    if total <= 0 or units <= 0:
        return {}
    ideal = {p: w / total * units for p, w in weights.items()}
    whole = {p: math.floor(v) for p, v in ideal.items()}
    left = units - sum(whole.values())
    for p in sorted(ideal, key=lambda p: (ideal[p] - whole[p], weights[p]), reverse=True)[:left]:
        whole[p] += 1
    return {p: u * GRANULE for p, u in whole.items() if u > 0}


def _person(rng: np.random.Generator, family: Family, index: int, n_projects: int, start: date) -> Person:
    low, high = family.projects
    count = int(rng.integers(low, high + 1))
    projects = [int(p) for p in rng.choice(n_projects, size=count, replace=False)]
    weights = rng.dirichlet(np.full(count, 2.0)) + 0.05
    part_time = rng.random() < family.part_time_share
    weekdays = tuple(sorted(int(d) for d in rng.choice(5, size=3, replace=False))) if part_time else (0, 1, 2, 3, 4)
    hours = float(rng.choice([4.0, 6.0])) if part_time and rng.random() < 0.5 else 8.0
    weeks = int(rng.integers(family.history_weeks[0], family.history_weeks[1] + 1))
    person = Person(index, projects, weights, weekdays, hours, weeks)
    if rng.random() < family.habit_share:
        person.habit = (int(rng.choice(weekdays)), int(rng.integers(count)))
    return person


def world_make(family: Family, seed: int, *, people: int, start: date, period_days: int = 10) -> World:
    """A company of `people` in `family`; `start` is a Monday, the period runs `period_days` workdays."""
    rng = np.random.default_rng([seed, sum(map(ord, family.name))])
    n_projects = max(6, people // 2 + family.projects[1])
    max_weeks = family.history_weeks[1]
    history_start = start - timedelta(weeks=max_weeks)
    end = start + timedelta(days=period_days + 2 * ((period_days - 1) // 5) - 1)
    persons = [_person(rng, family, i, n_projects, start) for i in range(people)]
    extra = n_projects
    for person in persons:
        if rng.random() < family.switch_share and max_weeks >= 4:
            position = int(rng.integers(len(person.projects)))
            switch_day = start - timedelta(days=int(rng.integers(7, 18)))
            person.switch = (position, extra, switch_day)
            extra += 1
    days_off: dict[date, str] = {}
    if family.leave:
        all_days = [history_start + timedelta(days=i) for i in range((end - history_start).days + 1)]
        weekdays = [d for d in all_days if d.weekday() < 5]
        for day in (weekdays[len(weekdays) // 3], weekdays[-4]):  # one in the history, one in the period
            days_off[day] = "Company day"
        for person in persons:
            if rng.random() < 0.35:
                first = weekdays[int(rng.integers(len(weekdays) - 5))]
                person.leave.append((first, first + timedelta(days=int(rng.integers(1, 5)))))
    world = World(family, seed, persons, extra, history_start, start, end, days_off, {}, {}, {}, set())
    _days_fill(world, rng)
    return world


def _on_leave(person: Person, day: date) -> bool:
    return any(first <= day <= last for first, last in person.leave)


def _projects_on(person: Person, day: date, habit_factor: float) -> tuple[list[int], np.ndarray]:
    projects = list(person.projects)
    weights = person.weights.copy()
    if person.habit is not None and day.weekday() == person.habit[0]:
        weights[person.habit[1]] *= habit_factor
    if person.switch is not None:
        position, new, switch_day = person.switch
        if day >= switch_day:
            projects[position] = new
    return projects, weights


def _days_fill(world: World, rng: np.random.Generator) -> None:
    family = world.family
    for person in world.people:
        first = world.start - timedelta(weeks=person.history_weeks)
        day = first
        while day <= world.end:
            if day.weekday() in person.weekdays:
                off = day in world.days_off or _on_leave(person, day)
                if off and not (day >= world.start and rng.random() < 0.15):
                    day += timedelta(days=1)
                    continue
                hours = person.daily_hours + (rng.normal(0, family.irregular_hours) if family.irregular_hours else 0)
                hours = float(min(11.0, max(2.0, round(hours / GRANULE) * GRANULE)))
                key = (person.index, day)
                world.attendance[key] = hours
                if off:
                    world.off_attended.add(key)
                else:
                    projects, weights = _projects_on(person, day, family.habit_factor)
                    noisy = weights * rng.lognormal(0.0, family.noise, size=len(weights))
                    world.truth[key] = quarter_split(dict(zip(projects, noisy.tolist(), strict=True)), hours)
                    world.clean[key] = quarter_split(dict(zip(projects, weights.tolist(), strict=True)), hours)
            day += timedelta(days=1)


# Feeding the product through its public paths -------------------------------------------------------------------


class ApiFailed(RuntimeError):
    pass


@dataclass
class Fed:
    projects: list[str]  # project id by index
    employees: list[str]  # employee id by index


def _call(client: Any, method: str, path: str, body: Any, headers: dict[str, str]) -> Any:
    response = getattr(client, method)(path, json.dumps(body), content_type="application/json", **headers)
    if response.status_code >= 300:
        raise ApiFailed(f"{method.upper()} {path}: {response.status_code} {response.content[:500]!r}")
    return response.json()


def _batches(rows: list[dict[str, Any]], size: int = 5000) -> Iterable[list[dict[str, Any]]]:
    for begin in range(0, len(rows), size):
        yield rows[begin : begin + size]


def _jira_key(tag: str, project: int) -> str:
    return f"Q{tag}X{project}".upper()


def _account(tag: str, person: int) -> str:
    return f"acct-{tag}-{person}"


def jira_worklogs(world: World) -> list[tuple[int, date, int, int]]:
    """(person, day, project, seconds): the part of each day's hours that people log in Jira, in quarter hours."""
    if world.family.jira is None:
        return []
    rng = np.random.default_rng([world.seed, 7, sum(map(ord, world.family.name))])
    low, high = world.family.jira
    logs = []
    for (person, day), split in sorted(world.truth.items()):
        for project, hours in sorted(split.items()):
            logged = round(hours * float(rng.uniform(low, high)) / GRANULE) * GRANULE
            if logged > 0:
                logs.append((person, day, project, int(logged * 3600)))
    return logs


def jira_feed(world: World, client: Any, headers: dict[str, str], *, tag: str, standin: Any) -> None:
    """Jira data through the stand-in (users, one issue per person and current project, work logs), then the
    tenant's connection through the API and a sync by `manage.py sync_jira`'s code path."""
    for person in world.people:
        standin.add_user(_account(tag, person.index), email=f"p{person.index}.{tag}@quality.test")
    for person in world.people:
        current, _ = _projects_on(person, world.start, world.family.habit_factor)
        for project in current:
            standin.add_issue(f"{_jira_key(tag, project)}-{person.index + 1}", assignee=_account(tag, person.index))
    issues: set[str] = set()
    for index, day, project, seconds in jira_worklogs(world):
        key = f"{_jira_key(tag, project)}-{index + 1}"
        if key not in issues and key not in standin._data.issue_ids_by_key:
            standin.add_issue(key, assignee=None, status="Done")
        issues.add(key)
        standin.add_worklog(
            issue_key=key, author=_account(tag, index), started=f"{day.isoformat()}T09:00:00.000+0000", seconds=seconds
        )
    # Each change takes its own millisecond, so thousands of them run ahead of the stand-in's clock: move it
    # past all of them and Jira's last-minute window.
    standin.advance(61 + len(standin._data.worklogs) / 1000 + 1)
    email, token = next(iter(standin.credentials.items()))
    body = {"site_url": standin.url, "email": email, "api_token": token, "enabled": True}
    _call(client, "put", "/api/jira/connection", body, headers)


def world_feed(world: World, client: Any, headers: dict[str, str], *, tag: str) -> Fed:
    """Everything the company knows before the period, through the REST API."""
    projects = [
        _call(
            client,
            "post",
            "/api/projects",
            {"code": f"Q{tag}{p}", "name": f"Project {p}", "jira_project_key": _jira_key(tag, p)},
            headers,
        )["id"]
        for p in range(world.n_projects)
    ]
    employees = [
        _call(
            client,
            "post",
            "/api/employees",
            {
                "name": f"Person {person.index}",
                "email": f"p{person.index}.{tag}@quality.test",
                "jira_account_id": _account(tag, person.index),
            },
            headers,
        )["id"]
        for person in world.people
    ]
    for day, name in sorted(world.days_off.items()):
        _call(client, "post", "/api/worktime/days-off", {"date": day.isoformat(), "name": name}, headers)
    for person in world.people:
        for first, last in person.leave:
            body = {
                "employee": employees[person.index],
                "leave_type": "vacation",
                "start_date": first.isoformat(),
                "end_date": last.isoformat(),
            }
            _call(client, "post", "/api/leave", body, headers)
    attendance = []
    for (index, day), hours in sorted(world.attendance.items()):
        check_in = datetime(day.year, day.month, day.day, 9, 0)
        check_out = check_in + timedelta(hours=hours, minutes=30)
        attendance.append(
            {
                "employee": employees[index],
                "check_in": check_in.isoformat(),
                "check_out": check_out.isoformat(),
                "break_minutes": 30,
            }
        )
    for batch in _batches(attendance):
        _call(client, "post", "/api/attendance", batch, headers)
    allocations = [
        {"employee": employees[person], "project": projects[project], "date": day.isoformat(), "hours": f"{hours:.2f}"}
        for (person, day), split in sorted(world.truth.items())
        if day < world.start and world.family.confirmed_history
        for project, hours in sorted(split.items())
    ]
    for batch in _batches(allocations):
        _call(client, "post", "/api/allocations", batch, headers)
    return Fed(projects=projects, employees=employees)


# Baselines -------------------------------------------------------------------------------------------------------


def _shares(split: dict[int, float]) -> dict[int, float]:
    total = sum(split.values())
    return {p: h / total for p, h in split.items()} if total > 0 else {}


def _mean_shares(splits: Sequence[dict[int, float]], weights: Sequence[float] | None = None) -> dict[int, float]:
    found: dict[int, float] = defaultdict(float)
    weights = weights or [1.0] * len(splits)
    for split, weight in zip(splits, weights, strict=True):
        for p, share in _shares(split).items():
            found[p] += share * weight
    return dict(found)


def baselines(world: World) -> dict[str, dict[tuple[int, date], dict[int, float]]]:
    """Each baseline's split of every attended period day, from the history before the period only."""
    out: dict[str, dict[tuple[int, date], dict[int, float]]] = defaultdict(dict)
    for person in world.people:
        history = sorted(
            (day, split)
            for (p, day), split in world.truth.items()
            if p == person.index and day < world.start and world.family.confirmed_history
        )
        for day in world.period_days():
            key = (person.index, day)
            if key not in world.truth:
                continue
            hours = world.attendance[key]
            same = [split for d, split in history if d.weekday() == day.weekday()]
            last_week = [
                split for d, split in history if d == day - timedelta(weeks=((day - world.start).days // 7 + 1))
            ]
            guesses = {
                "last_week_weekday": _mean_shares(last_week),
                "weekday_avg_2w": _mean_shares([s for d, s in history if d.weekday() == day.weekday()][-2:]),
                "weekday_avg_4w": _mean_shares(same[-4:]),
                "ewma": _mean_shares(
                    [s for _, s in history], [0.5 ** ((len(history) - 1 - i) / 5) for i in range(len(history))]
                ),
                "last_worked_day": _mean_shares([history[-1][1]] if history else []),
            }
            for name, weights in guesses.items():
                out[name][key] = quarter_split(weights, hours)
    return out


# Scoring ---------------------------------------------------------------------------------------------------------


@dataclass
class Suggested:
    hours: dict[tuple[int, date], dict[int, float]]
    confidence: dict[Key, float]
    flagged: dict[tuple[int, date], str]  # employee-days flagged for a manual entry, with the reason


@dataclass
class Score:
    mae: float
    exact: float
    rows: int
    days: int
    ece: float | None = None
    above: float | None = None  # share of suggestions >= THRESHOLD
    above_right: float | None = None  # of those, share within 0.25 h
    rated: int = 0  # suggestions with a confidence (the share `above` is of these)
    high: int = 0  # suggestions >= THRESHOLD (the share `above_right` is of these)
    within: float | None = None  # share of employee-day-project rows within 0.25 h of the truth
    reliability: list[tuple[str, int, float, float]] = field(default_factory=list)


def _errors(
    predicted: dict[tuple[int, date], dict[int, float]], truth: dict[tuple[int, date], dict[int, float]]
) -> tuple[list[float], list[bool]]:
    errors: list[float] = []
    exact: list[bool] = []
    for key, real in truth.items():
        guess = predicted.get(key, {})
        projects = set(real) | set(guess)
        row = [abs(guess.get(p, 0.0) - real.get(p, 0.0)) for p in projects]
        errors += row
        exact.append(max(row, default=0.0) < 1e-9)
    return errors, exact


def expected_calibration_error(confidence: Sequence[float], right: Sequence[bool], bins: int = 10) -> float:
    if not confidence:
        return 0.0
    c, r = np.asarray(confidence), np.asarray(right, dtype=float)
    edges = np.minimum((c * bins).astype(int), bins - 1)
    return float(
        sum(abs(c[edges == b].mean() - r[edges == b].mean()) * (edges == b).sum() for b in set(edges)) / len(c)
    )


def score(
    predicted: dict[tuple[int, date], dict[int, float]],
    truth: dict[tuple[int, date], dict[int, float]],
    confidence: dict[Key, float] | None = None,
) -> Score:
    errors, exact = _errors(predicted, truth)
    result = Score(
        mae=float(np.mean(errors)) if errors else 0.0,
        exact=float(np.mean(exact)) if exact else 0.0,
        rows=len(errors),
        days=len(exact),
        within=float(np.mean(np.asarray(errors) <= WITHIN + 1e-9)) if errors else None,
    )
    if confidence is not None:
        conf: list[float] = []
        right: list[bool] = []
        for (person, day, project), value in confidence.items():
            if (person, day) not in truth:
                continue
            guess = predicted[(person, day)].get(project, 0.0)
            conf.append(value)
            right.append(abs(guess - truth[(person, day)].get(project, 0.0)) <= WITHIN + 1e-9)
        result.ece = expected_calibration_error(conf, right)
        high = [r for c, r in zip(conf, right, strict=True) if c >= THRESHOLD]
        result.rated, result.high = len(conf), len(high)
        result.above = len(high) / len(conf) if conf else 0.0
        result.above_right = float(np.mean(high)) if high else None
        c, r = np.asarray(conf), np.asarray(right, dtype=float)
        for low in np.arange(0.0, 1.0, 0.1):
            inside = (c >= low) & ((c < low + 0.1) | (low >= 0.9))
            if inside.any():
                result.reliability.append(
                    (f"{low:.1f}-{low + 0.1:.1f}", int(inside.sum()), float(c[inside].mean()), float(r[inside].mean()))
                )
    return result


@dataclass
class WorldResult:
    family: str
    seed: int
    product: Score
    noise_floor: Score
    baselines: dict[str, Score]
    off_days: int  # attended holidays / leave days in the period
    off_flagged: int  # of those, flagged with no suggestion
    model_status: str = ""
    seconds: float = 0.0
    jira_worklogs: int = 0  # work logs the tenant holds after the sync


def world_score(world: World, suggested: Suggested) -> WorldResult:
    period = {key: split for key, split in world.truth.items() if key[1] >= world.start}
    clean = {key: world.clean[key] for key in period}
    flagged = sum(
        1
        for key in world.off_attended
        if key not in suggested.hours and suggested.flagged.get(key, "").lower().startswith(("holiday", "leave"))
    )
    return WorldResult(
        family=world.family.name,
        seed=world.seed,
        product=score(suggested.hours, period, suggested.confidence),
        noise_floor=score(clean, period),
        baselines={name: score(split, period) for name, split in baselines(world).items()},
        off_days=len(world.off_attended),
        off_flagged=flagged,
    )


def pooled(results: Sequence[WorldResult]) -> dict[str, Any]:
    """Row-weighted means over the worlds of a family (or all)."""

    def mean(scores: Sequence[Score], attribute: str, weight: str = "rows") -> float | None:
        pairs = [(getattr(s, attribute), getattr(s, weight)) for s in scores if getattr(s, attribute) is not None]
        total = sum(w for _, w in pairs)
        return sum(v * w for v, w in pairs) / total if total else None

    products = [r.product for r in results]
    names = sorted(results[0].baselines) if results else []
    base = {name: mean([r.baselines[name] for r in results], "mae") for name in names}
    best = min(base, key=lambda n: base[n] or math.inf) if base else ""
    return {
        "mae": mean(products, "mae"),
        "exact": mean(products, "exact", "days"),
        "ece": mean(products, "ece"),
        # Pooled over the suggestions they are shares of, not over all rows: a world with few confident
        # suggestions must not weigh as much as one with many.
        "above": mean(products, "above", "rated"),
        "above_right": mean(products, "above_right", "high"),
        "noise_floor": mean([r.noise_floor for r in results], "mae"),
        "within": mean(products, "within"),
        "floor_within": mean([r.noise_floor for r in results], "within"),
        "baselines": base,
        "best_baseline": best,
        "best_baseline_mae": base.get(best),
        "off_days": sum(r.off_days for r in results),
        "off_flagged": sum(r.off_flagged for r in results),
    }


# Running a world in a tenant -------------------------------------------------------------------------------------


def suggestions_read(world: World, fed: Fed) -> Suggested:
    """What generation left for review: pending suggestions and flagged days (read back, not fed)."""
    from timesheets.models import ProjectAllocationSuggestion, SuggestionStatus, UnallocatedDay

    person_of = {employee: index for index, employee in enumerate(fed.employees)}
    project_of = {project: index for index, project in enumerate(fed.projects)}
    hours: dict[tuple[int, date], dict[int, float]] = defaultdict(dict)
    confidence: dict[Key, float] = {}
    for employee, project, day, value, conf in ProjectAllocationSuggestion.objects.filter(
        date__range=(world.start, world.end),
        status__in=[SuggestionStatus.PENDING, SuggestionStatus.AUTO_ACCEPTED],
    ).values_list("employee_id", "project_id", "date", "hours", "confidence"):
        person, index = person_of[str(employee)], project_of[str(project)]
        hours[(person, day)][index] = float(value or 0)
        confidence[(person, day, index)] = float(conf)
    flagged = {
        (person_of[str(employee)], day): reason
        for employee, day, reason in UnallocatedDay.objects.filter(date__range=(world.start, world.end)).values_list(
            "employee_id", "date", "reason"
        )
    }
    return Suggested(dict(hours), confidence, flagged)


def world_run(world: World, *, client: Any, headers: dict[str, str], slug: str, tag: str) -> WorldResult:
    """Feed, train and generate as production does; score. The caller owns the transaction around it."""
    from django.core.management import call_command

    from intelligence.models import ModelArtifact

    began = time.perf_counter()
    fed = world_feed(world, client, headers, tag=tag)
    quiet = open(os.devnull, "w")  # noqa: SIM115 - closed below
    try:
        if world.family.jira is not None:
            from tests.support.jira_standin import JiraStandin

            with JiraStandin() as standin:
                jira_feed(world, client, headers, tag=tag, standin=standin)
                call_command("sync_jira", tenant=slug, stdout=quiet, stderr=quiet)
        try:
            call_command("train_model", tenant=slug, stdout=quiet, stderr=quiet)
        except Exception as exc:  # a failed training leaves whatever answered before: the run goes on
            print(f"training failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        call_command(
            "generate_timesheets",
            tenant=slug,
            start=world.start,
            end=world.end,
            stdout=quiet,
            stderr=quiet,
        )
    finally:
        quiet.close()
    from django_tenants.utils import tenant_context

    from tenants.models import Tenant

    with tenant_context(Tenant.objects.get(slug=slug)):
        suggested = suggestions_read(world, fed)
        from jira_sync.models import JiraWorkLog

        worklogs = JiraWorkLog.objects.count()
        artifact = ModelArtifact.objects.order_by("-version").first()
        status = f"{artifact.status}: {artifact.reason}" if artifact is not None else "no artifact"
    result = world_score(world, suggested)
    result.model_status = status
    result.jira_worklogs = worklogs
    result.seconds = time.perf_counter() - began
    return result


def monday_before(day: date, weeks: int) -> date:
    return day - timedelta(days=day.weekday()) - timedelta(weeks=weeks)


# Reporting -------------------------------------------------------------------------------------------------------


def _fmt(value: float | None, digits: int = 3) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def report_table(by_family: dict[str, dict[str, Any]]) -> str:
    lines = [
        "| family | MAE | best baseline (MAE) | vs best | noise floor | exact days | ECE | ≥ 0.90 "
        "| ≥ 0.90 within 0.25 h | within 0.25 h (floor) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, figures in by_family.items():
        best = figures["best_baseline_mae"]
        versus = f"{(figures['mae'] / best - 1) * 100:+.0f} %" if best else "—"
        lines.append(
            f"| {name} | {_fmt(figures['mae'])} | {figures['best_baseline']} ({_fmt(best)}) | {versus} | "
            f"{_fmt(figures['noise_floor'])} | {_fmt(figures['exact'], 2)} | {_fmt(figures['ece'])} | "
            f"{_fmt(figures['above'], 2)} | {_fmt(figures['above_right'], 2)} | "
            f"{_fmt(figures['within'], 2)} ({_fmt(figures['floor_within'], 2)}) |"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--families", default=",".join(FAMILIES))
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--people", type=int, default=40)
    parser.add_argument("--database", default="hrms_bench_quality")
    parser.add_argument("--slug", default="quality", help="the benchmark tenant's slug")
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database afterwards")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()

    from loadtests.common import bench_env, bench_finish, bench_tenant_create, database_recreate, database_url, manage

    url = database_url(args.database)
    database_recreate(url)
    env = bench_env(url, JIRA_ALLOW_PRIVATE_HOSTS="1")  # the Jira stand-in listens on 127.0.0.1
    os.environ.update(env)
    results: list[WorldResult] = []
    try:
        manage("migrate_tenants", env=env, echo=False)
        bench_tenant_create(args.slug, env=env)
        import django

        django.setup()
        from django.contrib.auth.models import Group, User
        from django.db import transaction
        from django.test import Client
        from django_tenants.utils import tenant_context
        from rest_framework.authtoken.models import Token

        from tenants.models import Tenant

        tenant = Tenant.objects.get(slug=args.slug)
        host = tenant.domains.first().domain
        start = monday_before(date.today(), 3)
        for name in args.families.split(","):
            family = FAMILIES[name]
            for seed in range(args.seeds):
                world = world_make(family, seed, people=args.people, start=start)
                with tenant_context(tenant), transaction.atomic():
                    user = User.objects.create_user(username=f"bench{seed}{name}", password="x")
                    user.groups.add(Group.objects.get(name="Admin"))
                    headers = {"HTTP_AUTHORIZATION": f"Token {Token.objects.create(user=user).key}"}
                    result = world_run(
                        world, client=Client(HTTP_HOST=host), headers=headers, slug=args.slug, tag=f"s{seed}"
                    )
                    transaction.set_rollback(True)
                results.append(result)
                print(
                    f"{name:18s} seed {seed}: MAE {result.product.mae:.3f} (floor {result.noise_floor.mae:.3f}, "
                    f"best baseline {min(s.mae for s in result.baselines.values()):.3f}), "
                    f"ECE {_fmt(result.product.ece)}, Jira logs {result.jira_worklogs}, "
                    f"{result.seconds:.0f} s; model {result.model_status[:90]}",
                    flush=True,
                )
    finally:
        bench_finish(url, keep=args.keep)
    by_family = {
        name: pooled([r for r in results if r.family == name]) for name in dict.fromkeys(r.family for r in results)
    }
    by_family["overall"] = pooled(results)
    print()
    print(report_table(by_family))
    print()
    for name, figures in by_family.items():
        print(name, "baselines:", {k: round(v, 3) for k, v in figures["baselines"].items() if v is not None})
        if figures["off_days"]:
            print(f"  attended holidays/leave days flagged: {figures['off_flagged']}/{figures['off_days']}")
    if args.json:
        Path(args.json).write_text(json.dumps(by_family, indent=2, default=str))
    return 0


def family_variant(name: str, **changes: Any) -> Family:
    return replace(FAMILIES[name], **changes)


if __name__ == "__main__":
    raise SystemExit(main())
