"""Web UI where the signals meet: the dashboard, timesheet generation with its live progress, Jira and model pages.

The generation and Jira sync pages record a job through their service and then follow the job row: the progress
fragment is polled by htmx every second while the job is queued or running (and the whole page refreshes
itself when JavaScript is off), and shows the result summary once it has finished.
"""

from __future__ import annotations

import math
import re
import uuid
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.dateparse import parse_datetime
from django.utils.html import format_html
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from core.errors import ApplicationError, NotFound, ValidationFailed
from core.fields import DateFormField
from core.replica import reads_from_replica
from core.roles import is_admin_user, is_staff_user
from core.ui import error_to_form, render_page, staff_required
from intelligence.generation import JOB_TYPE
from intelligence.models import ModelArtifact
from intelligence.selectors import model_status
from intelligence.services import generation_request
from jira_sync.models import JiraConnection
from jira_sync.selectors import jira_connection_get
from jira_sync.services import JOB_TYPE as JIRA_JOB_TYPE
from jira_sync.services import (
    MAX_INTERVAL_MINUTES,
    MIN_INTERVAL_MINUTES,
    jira_connection_save,
    jira_credentials_verify,
    jira_sync_request,
)
from jobs.models import ACTIVE_STATUSES, BackgroundJob
from jobs.selectors import job_active, job_get, jobs_recent
from jobs.services import JobAlreadyRunning
from timesheets.models import Employee
from timesheets.selectors import (
    allocation_hours_by_project,
    attendance_days_unallocated_count,
    employee_list,
    suggestion_pending_list,
    tenant_today,
)
from timesheets.views import LOW_CONFIDENCE, DateInput

RESULT_LABELS = (
    ("employees_processed", "Employees processed"),
    ("employee_days", "Employee-days with attendance"),
    ("suggestions_created", "Suggestions created"),
    ("auto_accepted", "Auto-accepted"),
    ("hours_suggested", "Hours suggested"),
    ("unallocated_days", "Days without evidence (left to HR)"),
    ("employees_without_attendance", "Employees without attendance"),
    ("patterns_refreshed", "Work patterns refreshed"),
)
JIRA_RESULT_LABELS = (
    ("worklogs_upserted", "Work logs added or updated"),
    ("worklogs_deleted", "Work logs deleted"),
    ("worklogs_unmapped", "Work logs by unmapped authors"),
    ("worklogs_without_project", "Work logs without a known project"),
    ("worklogs_skipped", "Work logs outside the project filter"),
    ("issues_upserted", "Issues added or updated"),
    ("issues_inactive", "Issues closed or unassigned"),
    ("assignments_unmapped", "Assignments to unmapped people"),
    ("relinked", "Records linked to employees"),
    ("unmapped_author_count", "Unmapped Jira authors"),
    ("pages", "Pages read"),
)


def _engine_summary() -> dict[str, Any]:
    """What answers generation now (the active model or the rules engine), why, and the breaker's state."""
    status = model_status()
    active = status.get("active") or {}
    breaker = status.get("breaker") or {}
    return {
        "engine": f"model v{active['version']}" if status.get("source") == "ml" and active else "rules",
        "reason": status.get("reason", ""),
        "breaker": breaker.get("state", "unknown"),
        "failures": breaker.get("failures", 0),
        "fail_max": breaker.get("fail_max"),
    }


# Dashboard ---------------------------------------------------------------------------------------------------


@login_required
@require_GET
@reads_from_replica
def dashboard(request: HttpRequest) -> HttpResponse:
    """What needs attention this week: pending reviews, unallocated days, hours by project, recent jobs."""
    user = request.user
    today = tenant_today()
    monday = today - timedelta(days=today.weekday())
    sunday = monday + timedelta(days=6)
    by_project = allocation_hours_by_project(user=user, date_from=monday, date_to=sunday)
    most = max((row.hours for row in by_project), default=Decimal(0))
    staff = is_staff_user(user)
    context: dict[str, Any] = {
        "monday": monday,
        "sunday": sunday,
        "pending": suggestion_pending_list(user=user).count(),
        "pending_low": suggestion_pending_list(user=user, confidence_below=LOW_CONFIDENCE).count(),
        "low_percent": int(LOW_CONFIDENCE * 100),
        "unallocated_days": attendance_days_unallocated_count(user=user, date_from=monday, date_to=sunday),
        "by_project": [(row, int(row.hours * 100 / most) if most else 0) for row in by_project],
        "week_hours": sum((row.hours for row in by_project), Decimal(0)),
        "jobs": jobs_recent(limit=5) if staff else [],
        "model": _engine_summary(),
    }
    return render_page(request, "intelligence/dashboard.html", context)


# Generation --------------------------------------------------------------------------------------------------


class EmployeesField(forms.ModelMultipleChoiceField):  # type: ignore[type-arg]
    def label_from_instance(self, obj: Any) -> str:
        return str(obj.name)


class GenerateForm(forms.Form):
    start_date = DateFormField(label="From", widget=DateInput())
    end_date = DateFormField(label="To", widget=DateInput())
    employees = EmployeesField(
        queryset=Employee.objects.none(),
        required=False,
        help_text="Leave empty for every active employee. Ctrl/⌘-click to pick several.",
        widget=forms.SelectMultiple(attrs={"size": 8}),
    )
    auto_accept = forms.BooleanField(
        required=False, label="Auto-accept suggestions at or above the tenant's confidence threshold"
    )

    def __init__(self, *args: Any, employees: QuerySet[Employee], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["employees"].queryset = employees  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("start_date") and data.get("end_date") and data["end_date"] < data["start_date"]:
            self.add_error("end_date", "Must be on or after the start date.")
        return data


def _job_context(job: BackgroundJob) -> dict[str, Any]:
    """What the progress fragment shows for a generation or a Jira sync job, and where it polls."""
    result = job.result or {}
    labels: tuple[tuple[str, str], ...]
    if job.job_type == JIRA_JOB_TYPE:
        labels, title = JIRA_RESULT_LABELS, "Jira sync"
        page_url, back_url, back_label = f"/jira/sync/{job.id}", "/jira", "Back to Jira"
    else:
        start, end = job.parameters.get("start_date"), job.parameters.get("end_date")
        labels, title = RESULT_LABELS, f"Generation {start} → {end}"
        page_url, back_url, back_label = f"/generate/{job.id}", "/generate", "Back to generation"
    return {
        "job": job,
        "active": job.status in ACTIVE_STATUSES,
        "title": title,
        "progress_url": f"{page_url}/progress",
        "back_url": back_url,
        "back_label": back_label,
        "summary": [(label, result[key]) for key, label in labels if key in result],
        "unmapped_authors": (result.get("unmapped_authors") or []) if job.job_type == JIRA_JOB_TYPE else [],
        "period": (job.parameters.get("start_date"), job.parameters.get("end_date")),
        "is_generation": job.job_type == JOB_TYPE,
    }


@staff_required
@require_http_methods(["GET", "POST"])
def generate(request: HttpRequest) -> HttpResponse:
    """The request form; while a generation runs for the tenant, its progress instead of a second form."""
    employees = employee_list(user=request.user, active=True).only("id", "name")
    if request.method == "POST":
        form = GenerateForm(request.POST, employees=employees)
        if form.is_valid():
            data = form.cleaned_data
            try:
                job = generation_request(
                    actor=request.user,
                    start=data["start_date"],
                    end=data["end_date"],
                    employee_ids=[employee.id for employee in data["employees"]] or None,
                    auto_accept=data["auto_accept"],
                )
            except JobAlreadyRunning as exc:
                messages.error(request, exc.message)
                return redirect("generate")
            except ApplicationError as exc:
                error_to_form(request, form, exc)
            else:
                messages.success(request, "Generation queued: its progress is shown below.")
                return redirect("generate-job", job_id=job.id)
    else:
        today = tenant_today()
        monday = today - timedelta(days=today.weekday())
        form = GenerateForm(employees=employees, initial={"start_date": monday, "end_date": today})
    running = job_active(job_type=JOB_TYPE)
    context: dict[str, Any] = {"form": form, "running": running, "recent": jobs_recent(limit=5)}
    if running is not None:
        context.update(_job_context(running))
    return render_page(request, "intelligence/generate.html", context)


def _job_of_type(request: HttpRequest, job_id: uuid.UUID, job_type: str) -> BackgroundJob:
    """A job of this tenant and of this kind (a sync id on a generation URL is not found either)."""
    job = job_get(job_id=job_id, user=request.user)
    if job.job_type != job_type:
        raise NotFound("No such job.")
    return job


def _job_page(request: HttpRequest, job_id: uuid.UUID, *, job_type: str, fallback: str) -> HttpResponse:
    try:
        job = _job_of_type(request, job_id, job_type)
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect(fallback)
    return render_page(request, "intelligence/job.html", _job_context(job))


def _job_fragment(request: HttpRequest, job_id: uuid.UUID, *, job_type: str) -> HttpResponse:
    """The progress fragment htmx polls; it stops polling itself once the job has finished."""
    try:
        job = _job_of_type(request, job_id, job_type)
    except ApplicationError as exc:
        return HttpResponse(format_html('<p class="msg msg-error" id="job-progress">{}</p>', exc.message))
    return render(request, "intelligence/_job_progress.html", _job_context(job))


@staff_required
@require_GET
def generate_job(request: HttpRequest, job_id: uuid.UUID) -> HttpResponse:
    return _job_page(request, job_id, job_type=JOB_TYPE, fallback="generate")


@staff_required
@require_GET
def generate_job_progress(request: HttpRequest, job_id: uuid.UUID) -> HttpResponse:
    return _job_fragment(request, job_id, job_type=JOB_TYPE)


# Jira --------------------------------------------------------------------------------------------------------

_PROJECT_KEY = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


class JiraConnectionForm(forms.Form):
    site_url = forms.URLField(
        max_length=255,
        assume_scheme="https",  # Jira Cloud is served over HTTPS only: "acme.atlassian.net" means https://
        label="Site URL",
        help_text="Your Jira Cloud address, e.g. https://your-company.atlassian.net",
    )
    email = forms.EmailField(max_length=254, label="Account e-mail", help_text="The Jira account the sync signs in as.")
    api_token = forms.CharField(
        max_length=2048,
        required=False,
        label="API token",
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="Leave empty to keep the stored token (only while the site and e-mail stay the same).",
    )
    project_keys = forms.CharField(
        max_length=2000,
        required=False,
        label="Jira projects",
        help_text="Project keys separated by commas or spaces; empty means every project the account can browse.",
    )
    sync_interval_minutes = forms.IntegerField(
        min_value=MIN_INTERVAL_MINUTES, max_value=MAX_INTERVAL_MINUTES, initial=30, label="Sync every (minutes)"
    )
    enabled = forms.BooleanField(required=False, initial=True, label="Sync on schedule and on request")

    def clean_project_keys(self) -> list[str]:
        keys = [key for key in re.split(r"[\s,;]+", self.cleaned_data.get("project_keys") or "") if key]
        bad = [key for key in keys if not _PROJECT_KEY.fullmatch(key) or len(key) > 32]
        if bad:
            raise ValidationError(
                "Not a Jira project key: %(keys)s (a letter, then letters, digits or underscores).",
                params={"keys": ", ".join(bad[:5])},
            )
        return keys


def _connection_initial(row: JiraConnection | None) -> dict[str, Any]:
    if row is None:
        return {"enabled": True, "sync_interval_minutes": 30}
    return {
        "site_url": row.site_url,
        "email": row.email,
        "project_keys": ", ".join(row.project_keys or []),
        "sync_interval_minutes": row.sync_interval_minutes,
        "enabled": row.enabled,
    }


def _stored_token(row: JiraConnection | None, *, site_url: str, email: str) -> str | None:
    """The stored token, but only for the address and account it was saved for: never sent anywhere else."""
    if row is None or row.site_url != site_url.strip().rstrip("/") or row.email.lower() != email.strip().lower():
        return None
    return str(row.api_token)


def _jira_page(request: HttpRequest, form: JiraConnectionForm | None = None, *, status: int = 200) -> HttpResponse:
    row = jira_connection_get()
    can_edit = is_admin_user(request.user)
    if form is None:
        form = JiraConnectionForm(initial=_connection_initial(row))
    if not can_edit:
        for bound_field in form.fields.values():
            bound_field.disabled = True
    last = dict(row.last_result or {}) if row is not None else {}
    finished = parse_datetime(str(last.get("finished_at") or ""))
    running = job_active(job_type=JIRA_JOB_TYPE)
    context: dict[str, Any] = {
        "form": form,
        "connection": row,
        "can_edit": can_edit,
        "token_stored": row is not None and row.__dict__.get("api_token") is not None,
        "last": last,
        "last_finished": finished,
        "last_summary": [(label, last[key]) for key, label in JIRA_RESULT_LABELS if key in last],
        "unmapped": last.get("unmapped_authors") or [],
        "unmapped_count": last.get("unmapped_author_count", 0),
        "running": running,
    }
    if running is not None:
        context.update(_job_context(running))
    return render_page(request, "intelligence/jira.html", context, status=status)


@staff_required
@require_http_methods(["GET", "POST"])
def jira(request: HttpRequest) -> HttpResponse:
    """Connection settings (Admin edits, HR reads), "test connection", "sync now", and the last sync's result."""
    if request.method == "GET":
        return _jira_page(request)
    if not is_admin_user(request.user):
        messages.error(request, "Changing the Jira connection needs the Admin role.")
        return redirect("jira")
    form = JiraConnectionForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Please correct the fields marked below.")
        return _jira_page(request, form, status=400)
    data = form.cleaned_data
    row = jira_connection_get()
    try:
        if request.POST.get("action") == "test":
            token = data["api_token"] or _stored_token(row, site_url=data["site_url"], email=data["email"])
            if not token:
                raise ValidationFailed(
                    "Enter the API token to test these settings.",
                    fields={"api_token": ["Required to test a new site or e-mail address."]},
                )
            account = jira_credentials_verify(site_url=data["site_url"], email=data["email"], api_token=token)
            messages.success(
                request,
                f"Connection works: Jira answered as {account.display_name}. Nothing was saved yet.",
            )
            return _jira_page(request, form)
        jira_connection_save(
            actor=request.user,
            site_url=data["site_url"],
            email=data["email"],
            api_token=data["api_token"] or None,
            enabled=data["enabled"],
            project_keys=data["project_keys"],
            sync_interval_minutes=data["sync_interval_minutes"],
        )
    except ApplicationError as exc:
        error_to_form(request, form, exc)
        return _jira_page(request, form, status=exc.status if 400 <= exc.status < 500 else 400)
    messages.success(
        request,
        "Jira connection saved and verified." if data["enabled"] else "Jira connection saved (disabled: not verified).",
    )
    return redirect("jira")


@staff_required
@require_POST
def jira_sync(request: HttpRequest) -> HttpResponse:
    try:
        job = jira_sync_request(actor=request.user, trigger="manual")
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("jira")
    messages.success(request, "Jira sync queued: its progress is shown below.")
    return redirect("jira-sync-job", job_id=job.id)


@staff_required
@require_GET
def jira_sync_job(request: HttpRequest, job_id: uuid.UUID) -> HttpResponse:
    return _job_page(request, job_id, job_type=JIRA_JOB_TYPE, fallback="jira")


@staff_required
@require_GET
def jira_sync_job_progress(request: HttpRequest, job_id: uuid.UUID) -> HttpResponse:
    return _job_fragment(request, job_id, job_type=JIRA_JOB_TYPE)


# Model -------------------------------------------------------------------------------------------------------

# Training runs drawn in the chart (the newest ones).
CHART_RUNS = 20
# The holdout metric the chart follows: accuracy when a run records it, else the hours error (MAE, lower is
# better), which every run records. The table above the chart shows every numeric metric.
CHART_METRICS = (
    ("accuracy", "accuracy", True),
    ("top1_accuracy", "top-1 accuracy", True),
    ("hours_mae", "hours error (MAE, lower is better)", False),
)


@dataclass(frozen=True)
class TrainingRun:
    artifact: ModelArtifact
    model: dict[str, float]
    rules: dict[str, float]


def _numbers(metrics: Any) -> dict[str, float]:
    if not isinstance(metrics, dict):
        return {}
    return {
        str(key): float(value)
        for key, value in metrics.items()
        if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    }


def model_runs_list(*, limit: int = CHART_RUNS) -> list[TrainingRun]:
    """The newest training runs with their holdout metrics, oldest first (never the artifact's bytes)."""
    rows = ModelArtifact.objects.defer("artifact", "feature_importance", "feature_names").order_by("-version")
    runs = [
        TrainingRun(
            artifact=row,
            model=_numbers((row.metrics or {}).get("model")),
            rules=_numbers((row.metrics or {}).get("rules")),
        )
        for row in rows[:limit]
    ]
    return runs[::-1]


@dataclass(frozen=True)
class ChartPoint:
    x: float
    y: float
    value: float
    label: str


@dataclass(frozen=True)
class Chart:
    """A line chart per training run drawn as inline SVG on the server: no script, and the table has the values."""

    width: int
    height: int
    metric: str
    title: str
    model: list[ChartPoint]
    rules: list[ChartPoint]
    gridlines: list[tuple[float, str]]
    x_labels: list[tuple[float, str]]

    @property
    def model_path(self) -> str:
        return " ".join(f"{p.x:.1f},{p.y:.1f}" for p in self.model)

    @property
    def rules_path(self) -> str:
        return " ".join(f"{p.x:.1f},{p.y:.1f}" for p in self.rules)


def holdout_chart(runs: list[TrainingRun], *, width: int = 640, height: int = 240) -> Chart | None:
    """The model's and the rules engine's holdout metric on each training run, one point per run."""
    chosen = next(
        ((name, title, percent) for name, title, percent in CHART_METRICS if any(name in r.model for r in runs)),
        None,
    )
    if chosen is None:
        return None
    metric, title, percent = chosen
    plotted = [run for run in runs if metric in run.model or metric in run.rules]
    values = [v for run in plotted for v in (run.model.get(metric), run.rules.get(metric)) if v is not None]
    top = 1.0 if percent else (max(values, default=0.0) * 1.15 or 1.0)
    left, right, upper, bottom = 52, 16, 12, 28
    plot_w, plot_h = width - left - right, height - upper - bottom
    step = plot_w / max(1, len(plotted) - 1)

    def y_of(value: float) -> float:
        return upper + plot_h * (1 - max(0.0, min(1.0, value / top)))

    model: list[ChartPoint] = []
    rules: list[ChartPoint] = []
    x_labels: list[tuple[float, str]] = []
    for index, run in enumerate(plotted):
        x = left + (step * index if len(plotted) > 1 else plot_w / 2)
        label = f"v{run.artifact.version}"
        x_labels.append((x, label))
        for series, value in ((model, run.model.get(metric)), (rules, run.rules.get(metric))):
            if value is not None:
                series.append(ChartPoint(x=x, y=y_of(value), value=value, label=label))
    ticks = [top * quarter / 4 for quarter in range(5)]
    gridlines = [(y_of(tick), f"{tick * 100:.0f}%" if percent else f"{tick:.2f}") for tick in ticks]
    return Chart(
        width=width,
        height=height,
        metric=metric,
        title=title,
        model=model,
        rules=rules,
        gridlines=gridlines,
        x_labels=x_labels,
    )


@staff_required
@require_GET
@reads_from_replica
def model(request: HttpRequest) -> HttpResponse:
    """Holdout metrics of the model against the rules engine, and the holdout metric per training run."""
    runs = model_runs_list()
    latest = runs[-1] if runs else None
    metric_names = sorted(set(latest.model) | set(latest.rules)) if latest is not None else []
    context = {
        "status": _engine_summary(),
        "detail": model_status(),
        "runs": runs[::-1],
        "latest": latest,
        "metric_rows": [
            (name, latest.model.get(name), latest.rules.get(name)) for name in metric_names if latest is not None
        ],
        "chart": holdout_chart(runs),
    }
    return render_page(request, "intelligence/model.html", context)
