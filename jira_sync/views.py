"""Web UI of the Jira connection: settings (Admin edits, HR reads), test, "sync now" and the sync job's progress."""

from __future__ import annotations

import re
import uuid
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.dateparse import parse_datetime
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from core.errors import ApplicationError, ValidationFailed
from core.roles import is_admin_user
from core.ui import error_to_form, render_page, staff_required
from jira_sync.models import JiraConnection
from jira_sync.selectors import jira_connection_get
from jira_sync.services.connection import (
    MAX_INTERVAL_MINUTES,
    MIN_INTERVAL_MINUTES,
    jira_connection_save,
    jira_credentials_verify,
)
from jira_sync.services.schedule import jira_sync_request
from jira_sync.services.sync import JOB_TYPE as JIRA_JOB_TYPE
from jobs.models import BackgroundJob
from jobs.selectors import job_active
from jobs.views import job_context, job_page, job_progress

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


def _sync_job_context(job: BackgroundJob) -> dict[str, Any]:
    """What the progress fragment shows for a Jira sync job, with the Jira authors no employee matched."""
    unmapped = (job.result or {}).get("unmapped_authors") or []
    return job_context(
        job,
        title="Jira sync",
        heading="Jira sync",
        page_url=f"/jira/sync/{job.id}",
        back_url="/jira",
        back_label="Back to Jira",
        labels=JIRA_RESULT_LABELS,
        note=f"Jira authors not matched to an employee: {', '.join(map(str, unmapped))}" if unmapped else "",
    )


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
        context.update(_sync_job_context(running))
    return render_page(request, "jira_sync/jira.html", context, status=status)


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
    return job_page(request, job_id, job_type=JIRA_JOB_TYPE, context=_sync_job_context, fallback="jira")


@staff_required
@require_GET
def jira_sync_job_progress(request: HttpRequest, job_id: uuid.UUID) -> HttpResponse:
    return job_progress(request, job_id, job_type=JIRA_JOB_TYPE, context=_sync_job_context)
