"""The demo company's world: reproducible synthetic rows for one tenant, with structure a model can learn.

The generator is pure functions of a seed and a spec. Projects have phases (they start or end inside the
period and ramp up or down). Every employee has a personal project mix, weekday habits (one project on
Mon/Tue, another on Fridays) and day-to-day persistence; from those comes the *true* split of each attended
day. What the systems would have recorded is derived from that truth: attendance, Jira work logs (some
people log diligently, others hardly at all, a few log on the wrong project), issue assignments, and for
all but the last week the review history — the rules engine's suggestions (intelligence/rules.py, its split
and its explanation) as it would have made them that day, accepted, corrected or rejected against the truth
— and the accepted allocations (the truth itself). Work patterns are not simulated: demo/services.py has
timesheets' recompute derive them from the allocations, as production does.

Every employee draws from its own seeded stream, so the output is independent of the chunk size.
"""

from __future__ import annotations

import math
import random
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from functools import lru_cache
from typing import Any, TypeAlias
from zoneinfo import ZoneInfo

from django.db import models

from intelligence.rules import DaySignals, PatternSignal, allocate_day, explanation_of
from jira_sync.models import JiraIssueAssignment, JiraWorkLog
from timesheets.models import (
    AttendanceRecord,
    Employee,
    Project,
    ProjectAllocationSuggestion,
    SuggestionSource,
    SuggestionStatus,
    TimesheetProjectAllocation,
)
from timesheets.services import ALLOCATION_COLUMNS, SUGGESTION_COLUMNS

Row: TypeAlias = tuple[Any, ...]

DEFAULT_CHUNK_SIZE = 500
HISTORY_LAG_DAYS = 7  # the last week has no review history yet: generation proposes it
SUGGESTION_TTL_DAYS = 14
PATTERN_WINDOW_DAYS = 8 * 7  # as timesheets' work-pattern recompute: 8 weeks ending on the day before
RAMP_DAYS = 10  # a project takes this long to reach (or leave) full intensity
MIN_SHARE = 0.1  # nobody books a sliver: projects under 10 % of a day are folded into the others
GRANULE = 25  # hundredths of an hour: splits are in quarter hours, the largest absorbs the rest
MISLOG_RATE = 0.03  # a work log booked on another of the employee's projects
UNMAPPED_LOG_RATE = 0.02  # per attended day: a log by a Jira user who is no employee (a contractor)
EXTERNAL_AUTHORS = 12
DAY_OFF_RATE = 0.03

PROJECT_CODES = (
    "ATLAS", "BOREAL", "CIRRUS", "DELTA", "EMBER", "FJORD", "GRANITE", "HALCYON", "IRIS", "JUNIPER",
    "KESTREL", "LUMEN", "MERIDIAN", "NEBULA", "ORION", "PRISM", "QUASAR", "RIDGE", "SIERRA", "TUNDRA",
)  # fmt: skip
PROJECT_KINDS = ("Platform", "Migration", "Mobile App", "Data Lake", "Portal", "Integration", "Analytics", "Redesign")
FIRST_NAMES = (
    "Ada", "Alan", "Amara", "Ana", "Ben", "Carla", "Chen", "Dana", "David", "Elena", "Emil", "Fatima", "Felix",
    "Grace", "Hana", "Hugo", "Ines", "Ivan", "Jonas", "Julia", "Kai", "Karin", "Lars", "Lea", "Liam", "Lucia",
    "Marco", "Maya", "Mika", "Nadia", "Noah", "Nora", "Omar", "Paula", "Pedro", "Priya", "Rafael", "Rosa",
    "Sam", "Sara", "Sofia", "Tariq", "Tom", "Uma", "Victor", "Wen", "Yara", "Yusuf", "Zoe", "Zoran",
)  # fmt: skip
LAST_NAMES = (
    "Adler", "Baker", "Berg", "Costa", "Diaz", "Eriksen", "Fischer", "Garcia", "Hansen", "Ito", "Jansen",
    "Kowalski", "Larsen", "Lopez", "Meyer", "Moreau", "Nakamura", "Novak", "Okafor", "Olsen", "Patel",
    "Petrov", "Quinn", "Rossi", "Santos", "Schmidt", "Silva", "Singh", "Tanaka", "Torres", "Varga", "Vogel",
    "Weber", "Wilson", "Yilmaz", "Zhang",
)  # fmt: skip
BANK_CODES = ("37040044", "10070000", "50010517", "20041133", "70150000", "12030000")
OPEN_STATUSES = ("In Progress", "In Progress", "To Do")

# A PII sealer: (column, row id, plaintext) -> ciphertext; and a blind indexer: (value, purpose) -> hex digest.
Sealer: TypeAlias = Callable[[str, uuid.UUID, str], str]
Indexer: TypeAlias = Callable[[str, str], str]


# Tables -------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Table:
    name: str
    model: type[models.Model]
    columns: tuple[str, ...]

    @property
    def db_table(self) -> str:
        return self.model._meta.db_table


PROJECTS = Table(
    "projects",
    Project,
    ("id", "code", "name", "jira_project_key", "active", "starts_on", "ends_on", "created_at", "updated_at"),
)
EMPLOYEES = Table(
    "employees",
    Employee,
    (
        "id", "name", "email", "jira_account_id", "active", "weekly_hours", "national_id", "bank_account", "salary",
        "national_id_index", "email_index", "created_at", "updated_at",
    ),
)  # fmt: skip
ATTENDANCE = Table(
    "attendance",
    AttendanceRecord,
    ("id", "employee_id", "date", "check_in", "check_out", "break_minutes", "worked_hours", "created_at", "updated_at"),
)
ASSIGNMENTS = Table(
    "issue_assignments",
    JiraIssueAssignment,
    (
        "id", "issue_id", "issue_key", "employee_id", "project_id", "assignee_account_id", "status", "is_active",
        "jira_updated_at", "synced_at",
    ),
)  # fmt: skip
WORKLOGS = Table(
    "worklogs",
    JiraWorkLog,
    (
        "id", "jira_worklog_id", "issue_id", "issue_key", "project_id", "employee_id", "author_account_id",
        "started_at", "work_date", "seconds", "synced_at",
    ),
)  # fmt: skip
# Suggestions and allocations are written by timesheets' bulk services: their rows follow its column order.
SUGGESTIONS = Table("suggestions", ProjectAllocationSuggestion, SUGGESTION_COLUMNS)
ALLOCATIONS = Table("allocations", TimesheetProjectAllocation, ALLOCATION_COLUMNS)
# Written per chunk of employees, parents first (the foreign keys are deferred anyway).
EMPLOYEE_TABLES = (EMPLOYEES, ATTENDANCE, ASSIGNMENTS, WORKLOGS, SUGGESTIONS, ALLOCATIONS)


# The spec and the plans -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DemoSpec:
    schema: str
    email_domain: str
    zone: ZoneInfo
    employees: int
    days: int
    end_date: date
    seed: int = 42
    auto_accept_threshold: float = 0.9
    chunk_size: int = DEFAULT_CHUNK_SIZE

    @property
    def start_date(self) -> date:
        return self.end_date - timedelta(days=self.days - 1)

    @property
    def history_end(self) -> date:
        """The last day with review history; the days after it are left for generation."""
        return self.end_date - timedelta(days=HISTORY_LAG_DAYS)


@dataclass(frozen=True)
class ProjectPlan:
    index: int
    id: uuid.UUID
    code: str
    name: str
    starts_on: date
    ends_on: date | None
    popularity: float

    def intensity(self, day: date) -> float:
        """0 outside the project's life; ramps from 0.25 to 1 over RAMP_DAYS after it starts and before it ends."""
        if day < self.starts_on or (self.ends_on is not None and day > self.ends_on):
            return 0.0
        ramp_up = (day - self.starts_on).days / RAMP_DAYS
        ramp_down = (self.ends_on - day).days / RAMP_DAYS if self.ends_on is not None else 1.0
        return 0.25 + 0.75 * min(1.0, ramp_up, ramp_down)

    def is_active(self, on: date) -> bool:
        return self.ends_on is None or self.ends_on >= on

    def is_steady(self, start: date) -> bool:
        """Running through the whole period at full intensity."""
        return self.ends_on is None and self.starts_on <= start - timedelta(days=RAMP_DAYS)


@dataclass(frozen=True)
class EmployeeProfile:
    number: int  # 1-based, part of the e-mail and the Jira account id
    id: uuid.UUID
    name: str
    email: str
    jira_account_id: str
    weekly_hours: Decimal
    national_id: str
    bank_account: str
    salary: Decimal
    # (project index, weight); the first one is the home project, which runs through the whole period.
    mix: tuple[tuple[int, float], ...]
    # Per mix entry, a multiplier for Monday..Friday.
    weekday_bias: tuple[tuple[float, ...], ...]
    diligence: float  # probability that a day's work on a project is logged in Jira
    check_in_minute: int  # usual local check-in, minutes after midnight
    break_minutes: int


@dataclass
class EmployeeRows:
    """Everything one employee contributes, keyed by table name."""

    tables: dict[str, list[Row]] = field(default_factory=lambda: {t.name: [] for t in EMPLOYEE_TABLES})
    attended_days: int = 0
    worked_hundredths: int = 0


def _rng(seed: int, *scope: object) -> random.Random:
    return random.Random(":".join(str(part) for part in (seed, *scope)))  # noqa: S311 - demo data, not security


def _uuid(rng: random.Random) -> uuid.UUID:
    return uuid.UUID(int=rng.getrandbits(128), version=4)


@lru_cache(maxsize=16384)
def hours_of(hundredths: int) -> Decimal:
    return Decimal(hundredths).scaleb(-2)


def _to_hundredths(hours: Decimal) -> int:
    return int((hours * 100).to_integral_value())


def _local(day: date, minute: int, zone: ZoneInfo) -> datetime:
    """An aware UTC datetime for a local wall-clock minute of a day in the tenant's zone."""
    return datetime.combine(day, time(minute // 60, minute % 60), tzinfo=zone).astimezone(UTC)


def plan_projects(spec: DemoSpec) -> list[ProjectPlan]:
    """12 to 20 projects: ~60 % steady, the rest starting or ending inside the period."""
    rng = _rng(spec.seed, "projects")
    count = rng.randint(12, 20)
    codes = sorted(rng.sample(PROJECT_CODES, count))
    changing = max(2, round(count * 0.2))
    kinds = ["starting"] * changing + ["ending"] * changing + ["steady"] * (count - 2 * changing)
    rng.shuffle(kinds)
    start, days = spec.start_date, spec.days
    plans = []
    for index, (code, kind) in enumerate(zip(codes, kinds, strict=True)):
        ends_on: date | None = None
        popularity = rng.lognormvariate(0, 0.5)
        if kind == "starting":
            starts_on = start + timedelta(days=int(days * rng.uniform(0.15, 0.6)))
            popularity *= 1.5
        else:
            starts_on = start - timedelta(days=rng.randint(3 * RAMP_DAYS, 400))
            if kind == "ending":
                ends_on = start + timedelta(days=int(days * rng.uniform(0.35, 0.8)))
        plans.append(
            ProjectPlan(
                index=index,
                id=_uuid(rng),
                code=code,
                name=f"{code.title()} {rng.choice(PROJECT_KINDS)}",
                starts_on=starts_on,
                ends_on=ends_on,
                popularity=popularity,
            )
        )
    return plans


def _iban_de(rng: random.Random) -> str:
    bban = rng.choice(BANK_CODES) + f"{rng.randrange(10**10):010d}"
    check = 98 - int(bban + "131400") % 97  # "DE00" moved to the end, letters as numbers (D=13, E=14)
    return f"DE{check:02d}{bban}"


def _national_id(seed: int, number: int) -> str:
    # An affine map modulo 10**9 with a multiplier coprime to it: unique per employee, yet scattered.
    offset = _rng(seed, "national-id").randrange(10**9)
    value = (number * 618_033_989 + offset) % 10**9
    return f"{value // 10**6:03d}-{value // 10**4 % 100:02d}-{value % 10**4:04d}"


def _weighted_pick(rng: random.Random, candidates: Sequence[ProjectPlan]) -> ProjectPlan:
    return rng.choices(candidates, weights=[p.popularity for p in candidates])[0]


def plan_employee(spec: DemoSpec, projects: Sequence[ProjectPlan], number: int, rng: random.Random) -> EmployeeProfile:
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    weekly = Decimal(40) if rng.random() < 0.85 else Decimal(rng.choice((20, 24, 32)))
    annual = Decimal(rng.randrange(380, 1250) * 100) * weekly / 40

    steady = [p for p in projects if p.is_steady(spec.start_date)] or list(projects)
    home = _weighted_pick(rng, steady)
    chosen = [home]
    for _ in range(rng.choices((1, 2, 3, 4), weights=(0.2, 0.4, 0.3, 0.1))[0] - 1):
        chosen.append(_weighted_pick(rng, [p for p in projects if p not in chosen]))
    # Dirichlet weights (normalised gamma draws); the home project gets a head start.
    raw = [rng.gammavariate(1.5, 1.0) + (0.6 if i == 0 else 0.0) for i in range(len(chosen))]
    mix = tuple((p.index, w / sum(raw)) for p, w in zip(chosen, raw, strict=True))

    bias = [[rng.lognormvariate(0, 0.1) for _ in range(5)] for _ in chosen]
    if len(chosen) > 1:
        early, friday = rng.sample(range(len(chosen)), 2)
        if rng.random() < 0.8:  # one project owns the start of the week
            factor = rng.uniform(2.2, 3.5)
            bias[early][0] *= factor
            bias[early][1] *= factor
            bias[early][4] *= 0.5
        if rng.random() < 0.8:  # and another one Friday
            bias[friday][4] *= rng.uniform(2.5, 4.0)
            bias[friday][0] *= 0.6

    roll = rng.random()
    diligence = rng.uniform(0.8, 1.0) if roll < 0.45 else rng.uniform(0.3, 0.8) if roll < 0.75 else rng.uniform(0, 0.3)
    return EmployeeProfile(
        number=number,
        id=_uuid(rng),
        name=f"{first} {last}",
        email=f"{first}.{last}.{number}@{spec.email_domain}".lower(),
        jira_account_id=f"acc-{number}",
        weekly_hours=weekly.quantize(Decimal("0.1")),
        national_id=_national_id(spec.seed, number),
        bank_account=_iban_de(rng),
        salary=annual.quantize(Decimal("0.01")),
        mix=mix,
        weekday_bias=tuple(tuple(day) for day in bias),
        diligence=diligence,
        check_in_minute=rng.randint(8 * 60, 9 * 60 + 30),
        break_minutes=rng.choice((30, 45, 60)),
    )


def employee_profile(spec: DemoSpec, projects: Sequence[ProjectPlan], number: int) -> EmployeeProfile:
    """Who employee `number` (1-based) is: the same for the same seed, whatever else is generated."""
    return plan_employee(spec, projects, number, _rng(spec.seed, "employee", number))


def split_hours(total: int, weights: Sequence[tuple[int, float]], *, granule: int = GRANULE) -> dict[int, int]:
    """Split `total` hundredths by weight: shares under MIN_SHARE dropped, quarter hours, exact sum.

    The largest share comes first and absorbs the rounding, so the result always sums to `total`.
    """
    ranked = sorted((item for item in weights if item[1] > 0), key=lambda item: item[1], reverse=True)
    if total <= 0 or not ranked:
        return {}
    weight_sum = sum(w for _, w in ranked)
    kept = [item for item in ranked if item[1] / weight_sum >= MIN_SHARE] or ranked[:1]
    kept_sum = sum(w for _, w in kept)
    shares: dict[int, int] = {kept[0][0]: 0}
    rest = total
    for project, weight in kept[1:]:
        share = round(total * weight / kept_sum / granule) * granule
        if share >= granule and rest - share >= granule:
            shares[project] = share
            rest -= share
    shares[kept[0][0]] = rest
    return shares


# One employee ----------------------------------------------------------------------------------------------------


@dataclass
class _Issues:
    open_keys: dict[int, list[tuple[str, str]]]  # project index -> [(issue id, key)]
    all_keys: dict[int, list[tuple[str, str]]]

    def open_count(self, project: int) -> int:
        return len(self.open_keys.get(project, ()))


def _assignments(
    spec: DemoSpec, projects: Sequence[ProjectPlan], profile: EmployeeProfile, rng: random.Random, now: datetime
) -> tuple[_Issues, list[Row]]:
    """A few open issues on the employee's main projects, and some done ones."""
    issues = _Issues(defaultdict(list), defaultdict(list))
    rows: list[Row] = []
    serial = 0
    for project_index, weight in profile.mix:
        project = projects[project_index]
        live = project.is_active(spec.end_date)
        opened = (rng.randint(1, 3) if weight >= 0.25 else rng.randint(0, 1)) if live else 0
        done = rng.randint(0, 3) if live else rng.randint(1, 3)
        for n in range(opened + max(done, 1 if opened == 0 else 0)):
            # Numbered within the employee's block: unique keys and ids across the tenant.
            number = 100 + profile.number * 32 + serial
            serial += 1
            issue_id, key = str(1_000_000 + number), f"{project.code}-{number}"
            is_open = n < opened
            updated = _local(
                spec.start_date + timedelta(days=rng.randrange(spec.days)), rng.randint(480, 1080), spec.zone
            )
            rows.append(
                (
                    _uuid(rng),
                    issue_id,
                    key,
                    profile.id,
                    project.id,
                    profile.jira_account_id,
                    rng.choice(OPEN_STATUSES) if is_open else "Done",
                    is_open,
                    updated,
                    now,
                )
            )
            issues.all_keys[project_index].append((issue_id, key))
            if is_open:
                issues.open_keys[project_index].append((issue_id, key))
    return issues, rows


def _leave_days(spec: DemoSpec, rng: random.Random) -> set[date]:
    """A few multi-day vacations and scattered single days off."""
    workdays = [d for d in (spec.start_date + timedelta(days=i) for i in range(spec.days)) if d.weekday() < 5]
    leave: set[date] = set()
    vacations = int(rng.random() < min(0.8, spec.days / 60)) + int(rng.random() < spec.days / 240)
    for _ in range(vacations):
        if not workdays:
            break
        first = rng.randrange(len(workdays))
        leave.update(workdays[first : first + rng.randint(3, 10)])
    leave.update(d for d in workdays if rng.random() < DAY_OFF_RATE)
    return leave


def _pattern_signals(
    history: dict[tuple[int, int], list[tuple[date, int]]], weekday: int, since: date, active: Iterable[int]
) -> dict[int, PatternSignal]:
    """The weekday patterns as a nightly recompute would have had them (allocations since `since`)."""
    signals: dict[int, PatternSignal] = {}
    for project in active:
        seen = [hours for day, hours in history.get((project, weekday), ()) if day >= since]
        if seen:
            signals[project] = PatternSignal(average_hours=sum(seen) / len(seen) / 100, weeks_observed=len(seen))
    return signals


def simulate_employee(
    spec: DemoSpec,
    projects: Sequence[ProjectPlan],
    number: int,
    *,
    now: datetime,
    seal: Sealer,
    index: Indexer,
) -> EmployeeRows:
    """All rows of one employee, from its own seeded streams (so chunking never changes the output)."""
    profile = employee_profile(spec, projects, number)
    rng = _rng(spec.seed, "days", number)
    out = EmployeeRows()
    tables = out.tables
    tables[EMPLOYEES.name].append(
        (
            profile.id,
            profile.name,
            profile.email,
            profile.jira_account_id,
            True,
            profile.weekly_hours,
            seal("national_id", profile.id, profile.national_id),
            seal("bank_account", profile.id, profile.bank_account),
            seal("salary", profile.id, str(profile.salary)),
            index(profile.national_id, "national_id"),
            index(profile.email, "email"),
            now,
            now,
        )
    )
    issues, assignment_rows = _assignments(spec, projects, profile, rng, now)
    tables[ASSIGNMENTS.name] = assignment_rows
    leave = _leave_days(spec, rng)

    attendance, worklogs = tables[ATTENDANCE.name], tables[WORKLOGS.name]
    suggestions, allocations = tables[SUGGESTIONS.name], tables[ALLOCATIONS.name]
    mix_projects = [p for p, _ in profile.mix]
    daily_minutes = float(profile.weekly_hours) * 60 / 5
    persistence = [0.0] * len(profile.mix)
    history: dict[tuple[int, int], list[tuple[date, int]]] = defaultdict(list)
    worklog_serial = 0
    history_end, zone, threshold = spec.history_end, spec.zone, spec.auto_accept_threshold

    for offset in range(spec.days):
        day = spec.start_date + timedelta(days=offset)
        weekday = day.weekday()
        if weekday >= 5 or day in leave:
            continue
        # The true split: mix x weekday habit x project phase x a noise that persists from day to day.
        weights: list[tuple[int, float]] = []
        for i, (project, weight) in enumerate(profile.mix):
            persistence[i] = 0.6 * persistence[i] + rng.gauss(0, 0.3)
            phase = projects[project].intensity(day)
            if phase > 0:
                weights.append((project, weight * profile.weekday_bias[i][weekday] * phase * math.exp(persistence[i])))
        check_in_minute = min(600, max(480, round(rng.gauss(profile.check_in_minute, 12))))
        break_minutes = min(60, max(30, profile.break_minutes + rng.choice((-10, -5, 0, 0, 5, 10))))
        # Whole multiples of 3 minutes, so worked hours are exact in hundredths (3 min = 0.05 h).
        drawn = min(1.25 * daily_minutes, max(0.75 * daily_minutes, rng.gauss(daily_minutes, 25)))
        worked_minutes = int(drawn // 3) * 3
        worked = worked_minutes // 3 * 5
        truth = split_hours(worked, weights or [(mix_projects[0], 1.0)])
        check_in = _local(day, check_in_minute, zone)
        check_out = check_in + timedelta(minutes=worked_minutes + break_minutes)
        attendance.append(
            (_uuid(rng), profile.id, day, check_in, check_out, break_minutes, hours_of(worked), check_out, check_out)
        )
        out.attended_days += 1
        out.worked_hundredths += worked

        # Jira: what the employee bothered to log of that truth.
        in_history = day <= history_end
        logged_seconds: dict[int, int] = defaultdict(int)
        logged_issues: dict[int, list[str]] = defaultdict(list)
        started = check_in
        for project, hundredths in truth.items():
            if rng.random() >= profile.diligence:
                started += timedelta(minutes=hundredths * 60 // 100)
                continue
            quarters = max(1, round(hundredths * min(1.0, rng.gauss(0.95, 0.08)) / GRANULE))
            booked = project
            if len(mix_projects) > 1 and rng.random() < MISLOG_RATE:
                booked = rng.choice([p for p in mix_projects if p != project])
            parts = [quarters] if quarters < 8 or rng.random() < 0.6 else [quarters // 2, quarters - quarters // 2]
            for part in parts:
                candidates = issues.open_keys.get(booked) if rng.random() < 0.85 else None
                issue_id, key = rng.choice(candidates or issues.all_keys[booked])
                worklog_serial += 1
                worklogs.append(
                    (
                        _uuid(rng),
                        str(number * 1_000_000 + worklog_serial),
                        issue_id,
                        key,
                        projects[booked].id,
                        profile.id,
                        profile.jira_account_id,
                        started,
                        day,
                        part * 900,
                        now,
                    )
                )
                logged_seconds[booked] += part * 900
                if key not in logged_issues[booked]:
                    logged_issues[booked].append(key)
                started += timedelta(minutes=part * 15)
        if rng.random() < UNMAPPED_LOG_RATE:
            live = [p for p in projects if p.intensity(day) > 0] or list(projects)
            project_plan = rng.choice(live)
            issue_number = rng.randint(1, 99)
            worklog_serial += 1
            worklogs.append(
                (
                    _uuid(rng),
                    str(number * 1_000_000 + worklog_serial),
                    str(project_plan.index * 100 + issue_number),
                    f"{project_plan.code}-{issue_number}",
                    project_plan.id,
                    None,
                    f"acc-ext-{rng.randint(1, EXTERNAL_AUTHORS)}",
                    _local(day, rng.randint(480, 1020), zone),
                    day,
                    rng.randint(2, 16) * 900,
                    now,
                )
            )

        if in_history:
            # What the rules engine would have proposed that night, then the employee's review of it.
            active = [p for p in mix_projects if projects[p].intensity(day) > 0]
            patterns = _pattern_signals(history, weekday, day - timedelta(days=PATTERN_WINDOW_DAYS), active)
            signals = DaySignals(
                attended_hours=hours_of(worked),
                logged_seconds={p: s for p, s in logged_seconds.items() if projects[p].intensity(day) > 0},
                logged_issues={p: tuple(keys) for p, keys in logged_issues.items()},
                open_issues={p: issues.open_count(p) for p in active if issues.open_count(p)},
                patterns=patterns,
            )
            outcome = allocate_day(signals)
            proposed_at = _local(day + timedelta(days=1), 6 * 60, zone)
            reviewed_at = _local(day + timedelta(days=rng.randint(1, 3)), rng.randint(540, 1050), zone)
            expiry = day + timedelta(days=SUGGESTION_TTL_DAYS)
            suggested: set[int] = set()
            for split in outcome.splits:
                project = int(split.project)
                suggested.add(project)
                suggestion_id = _uuid(rng)
                true_hours = truth.get(project)
                proposed = _to_hundredths(split.hours)
                if true_hours is None:
                    status, accepted_hours, decided_at = SuggestionStatus.REJECTED, None, reviewed_at
                elif proposed == true_hours and split.confidence >= threshold:
                    status, accepted_hours, decided_at = SuggestionStatus.AUTO_ACCEPTED, split.hours, proposed_at
                else:
                    # Accepted as proposed, or with the reviewer's corrected hours (the label the model learns).
                    status, accepted_hours, decided_at = SuggestionStatus.ACCEPTED, hours_of(true_hours), reviewed_at
                explanation = explanation_of(signals, project)
                suggestions.append(
                    (
                        suggestion_id,
                        profile.id,
                        projects[project].id,
                        day,
                        split.hours,
                        Decimal(f"{split.confidence:.3f}"),
                        SuggestionSource.RULES,
                        explanation[:500],
                        status,
                        expiry,
                        accepted_hours,
                        decided_at,
                        None,  # job_id: history was not made by a generation job
                        proposed_at,
                    )
                )
                if true_hours is not None:
                    allocations.append(
                        (
                            _uuid(rng),
                            profile.id,
                            projects[project].id,
                            day,
                            hours_of(true_hours),
                            suggestion_id,
                            True,
                            decided_at,
                            decided_at,
                        )
                    )
            for project, hundredths in truth.items():
                if project not in suggested:  # nothing pointed at it: entered by hand
                    row_id, project_id = _uuid(rng), projects[project].id
                    allocations.append(
                        (
                            row_id,
                            profile.id,
                            project_id,
                            day,
                            hours_of(hundredths),
                            None,
                            False,
                            reviewed_at,
                            reviewed_at,
                        )
                    )
                history[(project, weekday)].append((day, hundredths))

    return out


def project_rows(spec: DemoSpec, projects: Sequence[ProjectPlan], now: datetime) -> list[Row]:
    return [
        (p.id, p.code, p.name, p.code, p.is_active(spec.end_date), p.starts_on, p.ends_on, now, now) for p in projects
    ]
