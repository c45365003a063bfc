"""The generation pipeline: attendance + Jira + patterns → pending suggestions (and auto-accepted allocations).

One job per tenant at a time (a tenant lease with a fencing epoch). Employees are streamed in chunks; each
chunk's evidence is loaded with a fixed number of queries, split in memory, and written
in one transaction with COPY into a staging table followed by INSERT ... ON CONFLICT DO NOTHING, so a chunk
is either fully written or not at all and re-running a period never duplicates. Only still-pending
suggestions are replaced; accepted and rejected ones stay and shape what is proposed. Memory is bounded by
the chunk size, not by the number of employees.

When the tenant has an active model, each chunk also gets its features (five more queries) and one
vectorized prediction through the predictor's circuit breaker; the days it covers are split by the model
(`source: ml`), every other day by the rules engine (`source: rules`). A failing model, an open breaker or a
feature error costs that chunk its model answers, never the job. Without an active model the predictor
costs one small query per run.
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import numpy as np
from django.db import connection, transaction
from django.utils import timezone

from audit.services import Actor
from core.memory import cyclic_gc_paused
from core.schema import current_schema
from intelligence.allocation import rules_chunk
from intelligence.features import ProjectTable, chunk_features
from intelligence.predictor import ActivePredictor, explain, predictor_active, suggestion_hours
from intelligence.rules import DEFAULT_GRANULARITY, Split, explanation_of
from intelligence.signals import ChunkSignals, PeriodRejections, signals_load
from jobs.models import BackgroundJob
from jobs.runner import job_run
from jobs.services import job_progress
from jobs.writer import ChunkWriter
from locks.services import Lease, lease_guard, lease_renew
from tenants.models import Tenant
from tenants.settings_service import tenant_settings_of
from timesheets.models import (
    Employee,
    Project,
    SuggestionSource,
    SuggestionStatus,
)
from timesheets.selectors import locked_dates, tenant_today
from timesheets.services import (
    GeneratedRows,
    PendingBefore,
    suggestions_generated_replace,
    work_patterns_recompute,
)
from worktime.models import CompanyDayOff, Contract, LeavePortion, LeaveRecord, LeaveStatus
from worktime.selectors import calendar_get, days_off, part_days_off

logger = logging.getLogger(__name__)

JOB_TYPE = "timesheet_generation"
JOB_ACTOR = Actor(kind="job", label="timesheet generation")
LEASE_NAME = "timesheet-generation"
CHUNK_SIZE = 500
SUGGESTION_TTL_DAYS = 30
MAX_PERIOD_DAYS = 62


@dataclass
class GenerationTotals:
    employees_processed: int = 0
    employee_days: int = 0
    suggestions_created: int = 0
    suggestions_reviewable: int = 0  # pending and open for review (created minus auto-accepted)
    auto_accepted: int = 0
    hours_suggested: str = "0"
    unallocated_days: int = 0
    days_off_attended: int = 0  # attendance on a holiday or during leave: flagged for HR, never split
    employees_without_attendance: int = 0
    chunks: int = 0
    patterns_refreshed: int = 0
    model_version: int | None = None
    model_days: int = 0  # employee-days split by the model (the rest by the rules engine)
    model_failures: int = 0  # chunks whose model answers were lost (breaker open, model or feature error)
    locked_days_skipped: int = 0  # employee-days inside a closed pay period: left exactly as they were


def _tenant_granularity() -> Decimal:
    """The tenant's suggestion granularity setting (tenant settings page), else the engine's default."""
    tenant = getattr(connection, "tenant", None)
    if tenant is None or not hasattr(tenant, "settings"):
        return DEFAULT_GRANULARITY
    return tenant_settings_of(tenant).suggestion_granularity


@dataclass(frozen=True)
class GenerationParameters:
    start: date
    end: date
    employee_ids: list[uuid.UUID] | None
    generate_suggestions: bool
    auto_accept: bool
    granularity: Decimal

    @classmethod
    def from_job(cls, parameters: dict[str, Any]) -> GenerationParameters:
        ids = parameters.get("employee_ids")
        return cls(
            start=date.fromisoformat(parameters["start_date"]),
            end=date.fromisoformat(parameters["end_date"]),
            employee_ids=[uuid.UUID(i) for i in ids] if ids else None,
            generate_suggestions=bool(parameters.get("generate_suggestions", True)),
            auto_accept=bool(parameters.get("auto_accept_high_confidence", False)),
            granularity=Decimal(str(parameters.get("granularity") or _tenant_granularity())),
        )


@dataclass
class ChunkRows:
    job_id: uuid.UUID
    suggestions: list[tuple[Any, ...]]
    allocations: list[tuple[Any, ...]]
    unallocated: list[tuple[Any, ...]]
    employees_without_attendance: int
    employee_days: int
    hours: Decimal
    model_days: int = 0
    model_failed: bool = False
    locked_days: int = 0
    days_off_attended: int = 0


def _employee_chunks(params: GenerationParameters) -> Iterator[list[uuid.UUID]]:
    employees = Employee.objects.filter(active=True)
    if params.employee_ids is not None:
        employees = employees.filter(id__in=params.employee_ids)
    chunk: list[uuid.UUID] = []
    for employee_id in employees.order_by("id").values_list("id", flat=True).iterator(chunk_size=CHUNK_SIZE):
        chunk.append(employee_id)
        if len(chunk) == CHUNK_SIZE:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


@dataclass
class ModelContext:
    predictor: ActivePredictor
    projects: ProjectTable


def _model_splits(
    *,
    model: ModelContext,
    signals: ChunkSignals,
    employee_ids: list[uuid.UUID],
    params: GenerationParameters,
    active_projects: frozenset[str],
    rejections: PeriodRejections | None = None,
) -> dict[tuple[str, date], list[Split]] | None:
    """The model's splits for the chunk's employee-days, or None when the rules engine must answer them all."""
    try:
        arrays, candidates = chunk_features(
            employee_ids=employee_ids,
            start=params.start,
            end=params.end,
            projects=model.projects,
            rejections=rejections,
        )
    except Exception:
        logger.exception("feature building failed; the rules engine answers this chunk")
        return None
    if len(candidates) == 0:
        return {}
    prediction = model.predictor.predict(candidates.X)
    if prediction is None:
        return None
    first = arrays.records.first
    # The signals are keyed by the ids' text form (see intelligence/signals.py).
    employee_keys = [str(employee_id) for employee_id in employee_ids]
    project_ids = [str(project_id) for project_id in model.projects.ids]
    keep: list[int] = []
    remaining: list[int] = []
    day_keys: list[tuple[str, date]] = []
    groups: list[int] = []
    group_of: dict[tuple[str, date], int] = {}
    for row, (employee, project, day_number) in enumerate(
        zip(candidates.employee.tolist(), candidates.project.tolist(), candidates.day.tolist(), strict=True)
    ):
        key = (employee_keys[employee], first + timedelta(days=day_number))
        project_id = project_ids[project]
        allocated = signals.allocated.get(key)
        if project_id not in active_projects or (allocated and project_id in allocated):
            continue
        rejected = signals.rejected.get(key)
        if rejected and project_id in rejected:
            continue
        attended = signals.attendance.get(key)
        if attended is None:
            continue
        keep.append(row)
        day_keys.append(key)
        groups.append(group_of.setdefault(key, len(group_of)))
        left = attended - (sum(allocated.values()) if allocated else Decimal(0))
        remaining.append(int((left * 100).to_integral_value()))
    if not keep:
        return {}
    rows = np.asarray(keep, dtype=np.int64)
    hundredths = suggestion_hours(
        day_group=np.asarray(groups, dtype=np.int64),
        hours=prediction.hours[rows],
        confidence=prediction.keep_score[rows],
        remaining_c=np.maximum(np.asarray(remaining, dtype=np.int64), 0),
        granularity_c=int((params.granularity * 100).to_integral_value()),
    )
    splits: dict[tuple[str, date], list[Split]] = {}
    version = model.predictor.version
    for position in np.flatnonzero(hundredths > 0).tolist():
        row = int(rows[position])
        key = day_keys[position]
        project_id = project_ids[int(candidates.project[row])]
        evidence = explanation_of(signals.day(*key), project_id)
        reason = explain(candidates.X[row], prediction.top_features[row], version=version)
        splits.setdefault(key, []).append(
            Split(
                project=project_id,
                hours=Decimal(int(hundredths[position])).scaleb(-2),
                confidence=round(float(prediction.confidence[row]), 3),
                explanation=f"{evidence} · {reason}" if evidence else reason,
            )
        )
    return splits


def _random_ids(batch: int = 4096) -> Iterator[str]:
    """Version-4 UUIDs as 32 hex digits (PostgreSQL's uuid input takes them), made a batch at a time: one
    urandom call and a few array operations per batch rather than a uuid4() per suggestion row."""
    while True:
        raw = np.frombuffer(os.urandom(16 * batch), dtype=np.uint8).reshape(batch, 16).copy()
        raw[:, 6] = (raw[:, 6] & 0x0F) | 0x40  # version 4
        raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80  # RFC 4122 variant
        text = raw.tobytes().hex()
        yield from (text[start : start + 32] for start in range(0, 32 * batch, 32))


@dataclass
class _Emitter:
    """Turns splits into suggestion rows (and allocation rows for the auto-accepted ones)."""

    job_id: uuid.UUID
    threshold: float | None
    now: Any
    made_expiry: date
    new_ids: Iterator[str]

    def __call__(
        self,
        rows: ChunkRows,
        key: tuple[str, date],
        project: str,
        hours: Decimal,
        confidence: float,
        explanation: str,
        source: str,
    ) -> None:
        employee_id, day = key
        suggestion_id = next(self.new_ids)
        accepted = self.threshold is not None and confidence >= self.threshold
        now = self.now
        rows.hours += hours
        rows.suggestions.append(
            (
                suggestion_id,
                employee_id,
                project,
                day,
                hours,
                confidence,
                source,
                explanation[:500],
                SuggestionStatus.AUTO_ACCEPTED if accepted else SuggestionStatus.PENDING,
                max(self.made_expiry, day + _TTL),
                hours if accepted else None,
                now if accepted else None,
                self.job_id,
                now,
            )
        )
        if accepted:
            rows.allocations.append((uuid.uuid4(), employee_id, project, day, hours, suggestion_id, True, now, now))


_TTL = timedelta(days=SUGGESTION_TTL_DAYS)


def _compute_chunk(
    *,
    employee_ids: list[uuid.UUID],
    params: GenerationParameters,
    active_projects: frozenset[str],
    threshold: float | None,
    job_id: uuid.UUID,
    model: ModelContext | None = None,
    days_off_possible: bool = True,
    rejections: PeriodRejections | None = None,
) -> ChunkRows:
    signals = signals_load(
        employee_ids=employee_ids,
        start=params.start,
        end=params.end,
        active_projects=active_projects,
        rejections=rejections,
    )
    new_ids = _random_ids()
    now = timezone.now()
    rows = ChunkRows(job_id, [], [], [], 0, 0, Decimal(0))
    # A suggestion lives SUGGESTION_TTL_DAYS from when it is made (or from its day, when that is later), so a
    # period generated long after the fact is as reviewable as this week's.
    made = tenant_today()
    made_expiry = made + timedelta(days=SUGGESTION_TTL_DAYS)
    _emit = _Emitter(job_id=job_id, threshold=threshold, now=now, made_expiry=made_expiry, new_ids=new_ids)
    model_splits: dict[tuple[str, date], list[Split]] = {}
    if model is not None:
        try:
            found = _model_splits(
                model=model,
                signals=signals,
                employee_ids=employee_ids,
                params=params,
                active_projects=active_projects,
                rejections=rejections,
            )
        except Exception:  # generation never fails because ML failed: the rules engine takes the chunk
            logger.exception("turning model predictions into suggestions failed; the rules engine answers")
            found = None
        rows.model_failed = found is None
        model_splits = found or {}
    # Holidays and leave are what they are: no suggestion is made for them, and attendance on one is flagged.
    off = days_off(employee_ids=employee_ids, date_from=params.start, date_to=params.end) if days_off_possible else {}
    # A part day off (half-day or hours leave, a company half day) is split while attendance fits its working part;
    # attendance beyond it overlaps the time off, so the day is flagged like a day off (docs/worktime.md).
    part_off = part_days_off(employee_ids=employee_ids, date_from=params.start, date_to=params.end)
    for key, part in part_off.items():
        attended = signals.attendance.get(key)
        if attended is not None and attended > part.working and key not in off:
            off[key] = f"{part.what}, {attended:.2f} h attended against {part.working:.2f} h of working time"
    attended_employees = {employee_id for employee_id, _ in signals.attendance}
    rows.employees_without_attendance = sum(1 for e in employee_ids if str(e) not in attended_employees)
    locked = locked_dates(params.start, params.end)
    rules_keys: list[tuple[str, date]] = []
    for key in signals.attendance:
        if key[1] in locked:  # a closed pay period: nothing is suggested or accepted for the day
            rows.locked_days += 1
            continue
        rows.employee_days += 1
        what = off.get(key)
        if what is not None:
            left = signals.attendance[key] - sum(signals.allocated.get(key, {}).values())
            if left > 0:
                rows.days_off_attended += 1
                rows.unallocated.append((uuid.uuid4(), key[0], key[1], left, _day_off_reason(what), job_id, now))
            continue
        learned = model_splits.get(key)
        if not learned:
            rules_keys.append(key)
            continue
        rows.model_days += 1
        for split in learned:
            _emit(rows, key, split.project, split.hours, split.confidence, split.explanation, SuggestionSource.ML)
    outcome = rules_chunk(signals, rules_keys, granularity=params.granularity)
    for (employee_id, day), hours, reason in outcome.unallocated:
        rows.unallocated.append((uuid.uuid4(), employee_id, day, hours, reason, job_id, now))
    for made_split in outcome.splits:
        _emit(
            rows,
            made_split.key,
            made_split.project,
            made_split.hours,
            made_split.confidence,
            made_split.explanation,
            SuggestionSource.RULES,
        )
    return rows


def days_off_possible(*, start: date, end: date) -> bool:
    """Whether any employee-day of the period can be a holiday or leave: a calendar or contract location with
    public holidays, a company day off or approved whole-day leave. Three small queries, once per run."""
    if calendar_get().country or Contract.objects.exclude(country="").exists():
        return True
    if CompanyDayOff.objects.filter(date__range=(start, end), half_day=False).exists():
        return True
    return LeaveRecord.objects.filter(
        status=LeaveStatus.APPROVED, portion=LeavePortion.FULL_DAY, start_date__lte=end, end_date__gte=start
    ).exists()


def _day_off_reason(what: str) -> str:
    """'holiday (Christmas Day): attended on a day off, not split; enter the hours by hand if they were worked'."""
    return f"{what}: attended on a day off, not split; enter the hours by hand if they were worked"[:200]


def _write_chunk(
    *,
    lease: Lease,
    employee_ids: list[uuid.UUID],
    params: GenerationParameters,
    rows: ChunkRows,
    pending_before: PendingBefore | None = None,
) -> tuple[int, int]:
    with transaction.atomic():
        lease_guard(lease)
        written = suggestions_generated_replace(
            actor=JOB_ACTOR,
            job_id=rows.job_id,
            employee_ids=employee_ids,
            start=params.start,
            end=params.end,
            rows=GeneratedRows(
                suggestions=rows.suggestions, allocations=rows.allocations, unallocated=rows.unallocated
            ),
            pending_before=pending_before,
        )
    return written.suggestions, written.allocations


def _auto_accept_threshold(params: GenerationParameters) -> float | None:
    if not params.auto_accept:
        return None
    tenant = Tenant.objects.filter(schema_name=current_schema()).only("auto_accept_threshold").first()
    return float(tenant.auto_accept_threshold) if tenant is not None else None


ProgressCallback = Callable[[int, int], None]


def _run(job: BackgroundJob, lease: Lease, on_progress: ProgressCallback | None) -> GenerationTotals:
    params = GenerationParameters.from_job(job.parameters)
    totals = GenerationTotals()
    employees = Employee.objects.filter(active=True)
    if params.employee_ids is not None:
        employees = employees.filter(id__in=params.employee_ids)
    total = employees.count()
    job_progress(job_id=job.id, processed=0, total=total)
    if not params.generate_suggestions:
        return totals
    threshold = _auto_accept_threshold(params)
    active = Project.objects.filter(active=True).values_list("id", flat=True)
    active_projects = frozenset(str(project_id) for project_id in active)
    predictor = predictor_active()
    model = ModelContext(predictor=predictor, projects=ProjectTable.load()) if predictor is not None else None
    pending_before = PendingBefore.find(start=params.start, end=params.end, employee_ids=params.employee_ids)
    rejections = PeriodRejections.load(start=params.start, end=params.end, employee_ids=params.employee_ids)
    totals.model_version = predictor.version if predictor is not None else None
    hours = Decimal(0)

    def refresh_patterns(_: None) -> None:
        # The weekday patterns shown in the API and the UI, refreshed from what was accepted before the period
        # (the rules engine reads the allocations themselves): on a connection of their own, so the statement
        # runs while the chunks are computed and written.
        with transaction.atomic():
            lease_guard(lease)
            totals.patterns_refreshed = work_patterns_recompute(
                as_of=params.start - timedelta(days=1), employee_ids=params.employee_ids
            )

    def write(chunk: tuple[list[uuid.UUID], ChunkRows]) -> None:
        nonlocal hours
        employee_ids, rows = chunk
        created, accepted = _write_chunk(
            lease=lease, employee_ids=employee_ids, params=params, rows=rows, pending_before=pending_before
        )
        totals.chunks += 1
        totals.employees_processed += len(employee_ids)
        totals.employee_days += rows.employee_days
        totals.suggestions_created += created
        totals.auto_accepted += accepted
        totals.suggestions_reviewable += created - accepted
        totals.unallocated_days += len(rows.unallocated)
        totals.days_off_attended += rows.days_off_attended
        totals.model_days += rows.model_days
        totals.model_failures += rows.model_failed
        totals.locked_days_skipped += rows.locked_days
        totals.employees_without_attendance += rows.employees_without_attendance
        hours += rows.hours
        totals.hours_suggested = str(hours)
        job_progress(job_id=job.id, processed=totals.employees_processed, total=total, result=asdict(totals))
        if on_progress is not None:
            on_progress(totals.employees_processed, total)

    # Chunk N is written (and committed) on the writer's connection while chunk N+1 is computed here.
    off_possible = days_off_possible(start=params.start, end=params.end)
    with (
        cyclic_gc_paused(),
        ChunkWriter(refresh_patterns, name="generation-patterns") as patterns,
        ChunkWriter(write, name="generation-writer") as writer,
    ):
        patterns.submit(None)
        for employee_ids in _employee_chunks(params):
            lease_renew(lease)
            rows = _compute_chunk(
                employee_ids=employee_ids,
                params=params,
                active_projects=active_projects,
                threshold=threshold,
                job_id=job.id,
                model=model,
                days_off_possible=off_possible,
                rejections=rejections,
            )
            writer.submit((employee_ids, rows))
    return totals


def timesheets_generate(*, job_id: uuid.UUID, on_progress: ProgressCallback | None = None) -> BackgroundJob | None:
    """Run a queued generation job to completion or failure (jobs/runner.py); returns the job as it ended."""
    return job_run(
        job_id=job_id,
        job_type=JOB_TYPE,
        actor=JOB_ACTOR,
        audit_action="generation",
        lease=LEASE_NAME,
        work=lambda run: asdict(_run(run.job, run.lease, on_progress)),
    )
