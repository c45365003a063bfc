"""Web UI where the signals meet: the dashboard, timesheet generation with its live progress, the model page.

The generation page records a job through its service and then follows the job row (jobs/views.py): the progress
fragment is polled by htmx every second while the job is queued or running (and the whole page refreshes
itself when JavaScript is off), and shows the result summary once it has finished.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.formats import date_format, number_format
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from core.errors import ApplicationError
from core.fields import DateFormField
from core.replica import reads_from_replica
from core.roles import is_staff_user
from core.ui import DateInput, error_to_form, render_page, staff_required
from intelligence.generation import JOB_TYPE
from intelligence.selectors import holdout_chart, model_runs_list, model_status
from intelligence.services import TRAIN_JOB_TYPE, generation_request, training_request
from jobs.models import BackgroundJob
from jobs.selectors import job_active, jobs_recent
from jobs.services import JobAlreadyRunning
from jobs.views import job_context, job_page, job_progress
from timesheets.pickers import EmployeesPickerField
from timesheets.selectors import (
    allocation_hours_by_project,
    attendance_days_unallocated_count,
    suggestion_pending_list,
    tenant_today,
)
from timesheets.views_review import LOW_CONFIDENCE

RESULT_LABELS = (
    ("employees_processed", "Employees processed"),
    ("employee_days", "Employee-days with attendance"),
    ("suggestions_created", "Suggestions created"),
    ("suggestions_reviewable", "Suggestions to review"),
    ("auto_accepted", "Auto-accepted"),
    ("hours_suggested", "Hours suggested"),
    ("unallocated_days", "Days without evidence (left to HR)"),
    ("employees_without_attendance", "Employees without attendance"),
    ("patterns_refreshed", "Work patterns refreshed"),
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
        "pending": suggestion_pending_list(user=user, date_from=monday, date_to=sunday).count(),
        "pending_all": suggestion_pending_list(user=user).count(),
        "pending_low": suggestion_pending_list(
            user=user, date_from=monday, date_to=sunday, confidence_below=LOW_CONFIDENCE
        ).count(),
        "low_percent": int(LOW_CONFIDENCE * 100),
        "unallocated_days": attendance_days_unallocated_count(user=user, date_from=monday, date_to=sunday),
        "by_project": [(row, int(row.hours * 100 / most) if most else 0) for row in by_project],
        "week_hours": sum((row.hours for row in by_project), Decimal(0)),
        "jobs": jobs_recent(limit=5) if staff else [],
        "model": _engine_summary(),
    }
    return render_page(request, "intelligence/dashboard.html", context)


# Generation --------------------------------------------------------------------------------------------------


class GenerateForm(forms.Form):
    start_date = DateFormField(label="From", widget=DateInput())
    end_date = DateFormField(label="To", widget=DateInput())
    employees = EmployeesPickerField(
        required=False,
        help_text="Leave empty for every active employee; otherwise one per line: an e-mail address, or a name.",
    )
    auto_accept = forms.BooleanField(
        required=False, label="Auto-accept suggestions at or above the tenant's confidence threshold"
    )

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["employees"].user = user  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("start_date") and data.get("end_date") and data["end_date"] < data["start_date"]:
            self.add_error("end_date", "Must be on or after the start date.")
        return data


def _job_context(job: BackgroundJob) -> dict[str, Any]:
    """What the progress fragment shows for a generation job: its period, and the suggestions it made to review."""
    start, end = job.parameters.get("start_date"), job.parameters.get("end_date")
    return job_context(
        job,
        title=f"Generation {start} → {end}",
        heading="Generation",
        page_url=f"/generate/{job.id}",
        back_url="/generate",
        back_label="Back to generation",
        labels=RESULT_LABELS,
        unit="employees",
        follow_up_url=f"/suggestions?date_from={start}&date_to={end}",
        follow_up_label="Review the suggestions",
        more_links=[("Days needing attention", f"/attention?date_from={start}&date_to={end}")],
    )


@staff_required
@require_http_methods(["GET", "POST"])
def generate(request: HttpRequest) -> HttpResponse:
    """The request form; while a generation runs for the tenant, its progress instead of a second form."""
    if request.method == "POST":
        form = GenerateForm(request.POST, user=request.user)
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
        form = GenerateForm(user=request.user, initial={"start_date": monday, "end_date": today})
    running = job_active(job_type=JOB_TYPE)
    context: dict[str, Any] = {"form": form, "running": running, "recent": jobs_recent(limit=5, job_type=JOB_TYPE)}
    if running is not None:
        context.update(_job_context(running))
    return render_page(request, "intelligence/generate.html", context)


@staff_required
@require_GET
def generate_job(request: HttpRequest, job_id: uuid.UUID) -> HttpResponse:
    return job_page(request, job_id, job_type=JOB_TYPE, context=_job_context, fallback="generate")


@staff_required
@require_GET
def generate_job_progress(request: HttpRequest, job_id: uuid.UUID) -> HttpResponse:
    return job_progress(request, job_id, job_type=JOB_TYPE, context=_job_context)


# Model -------------------------------------------------------------------------------------------------------


# What each holdout metric means, in the words of the people who read the page; unknown ones keep their name.
METRIC_WORDS: dict[str, tuple[str, str]] = {
    "hours_mae": ("Hours off per suggested entry, on average", "h"),
    "accuracy": ("Share of entries on the right project", "%"),
    "top1_accuracy": ("Share of days whose main project was right", "%"),
    "acceptance_log_loss": ("How far confidence was from what people accepted (log loss; lower is better)", ""),
    "ece": ("Gap between confidence and how often suggestions were right (0 is perfect)", ""),
    "suggested_rows": ("Suggestions scored on the held-out days", "count"),
}


def _metric_text(value: float | None, unit: str) -> str:
    if value is None:
        return "—"
    if unit == "h":
        return f"{number_format(value, 2)} h"
    if unit == "%":
        return f"{number_format(value * 100, 1)} %"
    if unit == "count":
        return number_format(round(value), 0, force_grouping=True)
    return number_format(value, 3)


def _in_words(run: Any) -> str:
    """One sentence: how far off the model and the rules were on the held-out days, in hours."""
    model_mae, rules_mae = run.model.get("hours_mae"), run.rules.get("hours_mae")
    if model_mae is None or rules_mae is None:
        return ""
    artifact = run.artifact
    when = (
        f"From {date_format(artifact.holdout_start, 'MONTH_DAY_FORMAT')} to {date_format(artifact.data_end)}"
        if artifact.holdout_start and artifact.data_end
        else "On the held-out days"
    )
    winner = "the model" if model_mae < rules_mae else "the rules engine"
    return (
        f"{when}, which training kept aside to check itself, the model was off by {number_format(model_mae, 2)} h per "
        f"entry and the rules engine by {number_format(rules_mae, 2)} h: {winner} was closer."
    )


@staff_required
@require_GET
@reads_from_replica
def model(request: HttpRequest) -> HttpResponse:
    """The model against the rules engine in plain words, the runs over time, and a Train button."""
    runs = model_runs_list()
    latest = runs[-1] if runs else None
    metric_names = sorted(set(latest.model) | set(latest.rules)) if latest is not None else []
    rows = []
    for name in metric_names:
        assert latest is not None
        label, unit = METRIC_WORDS.get(name, (name.replace("_", " ").capitalize(), ""))
        rows.append((label, _metric_text(latest.model.get(name), unit), _metric_text(latest.rules.get(name), unit)))
    training = job_active(job_type=TRAIN_JOB_TYPE)
    context = {
        "status": _engine_summary(),
        "detail": model_status(),
        "runs": runs[::-1],
        "latest": latest,
        "in_words": _in_words(latest) if latest is not None else "",
        "metric_rows": rows,
        "chart": holdout_chart(runs),
        "training": training,
    }
    return render_page(request, "intelligence/model.html", context)


def _train_context(job: BackgroundJob) -> dict[str, Any]:
    return job_context(
        job,
        title="Training",
        heading="Training",
        page_url=f"/model/train/{job.id}",
        back_url="/model",
        back_label="Back to the model",
        labels=TRAIN_RESULT_LABELS,
    )


TRAIN_RESULT_LABELS = (
    ("version", "Version trained"),
    ("status", "Outcome"),
    ("reason", "Why"),
    ("samples", "Examples learned from"),
)


@staff_required
@require_POST
def model_train(request: HttpRequest) -> HttpResponse:
    """Start a training run for this tenant (one at a time) and follow its progress."""
    try:
        job = training_request(actor=request.user)
    except JobAlreadyRunning as exc:
        messages.error(request, exc.message)
        return redirect("model")
    messages.success(request, "Training queued.")
    return redirect(f"/model/train/{job.id}")


@staff_required
@require_GET
def model_train_job(request: HttpRequest, job_id: uuid.UUID) -> HttpResponse:
    return job_page(request, job_id, job_type=TRAIN_JOB_TYPE, context=_train_context, fallback="model")


@staff_required
@require_GET
def model_train_progress(request: HttpRequest, job_id: uuid.UUID) -> HttpResponse:
    return job_progress(request, job_id, job_type=TRAIN_JOB_TYPE, context=_train_context)
