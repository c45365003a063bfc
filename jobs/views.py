"""The page and the htmx progress fragment that follow one background job; each app says how its kind is shown."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.html import format_html

from core.errors import ApplicationError, NotFound
from core.ui import render_page
from jobs.models import ACTIVE_STATUSES, BackgroundJob
from jobs.selectors import job_get

JobContext = Callable[[BackgroundJob], dict[str, Any]]


def job_context(
    job: BackgroundJob,
    *,
    title: str,
    heading: str,
    page_url: str,
    back_url: str,
    back_label: str,
    labels: Sequence[tuple[str, str]],
    unit: str = "",
    follow_up_url: str = "",
    follow_up_label: str = "",
    note: str = "",
    more_links: Sequence[tuple[str, str]] = (),
) -> dict[str, Any]:
    """What jobs/_job_progress.html shows: status, progress, the labelled result, and where it polls.

    The fragment polls `<page_url>/progress` while the job is queued or running and stops once it has finished.
    """
    result = job.result or {}
    return {
        "job": job,
        "active": job.status in ACTIVE_STATUSES,
        "title": title,
        "heading": heading,
        "progress_url": f"{page_url}/progress",
        "back_url": back_url,
        "back_label": back_label,
        "summary": [(label, result[key]) for key, label in labels if key in result],
        "unit": unit,
        "follow_up_url": follow_up_url,
        "follow_up_label": follow_up_label,
        "more_links": list(more_links),
        "note": note,
    }


def _job_of_type(request: HttpRequest, job_id: uuid.UUID, job_type: str) -> BackgroundJob:
    """A job of this tenant and of this kind (a sync id on a generation URL is not found either)."""
    job = job_get(job_id=job_id, user=request.user)
    if job.job_type != job_type:
        raise NotFound("No such job.")
    return job


def job_page(
    request: HttpRequest, job_id: uuid.UUID, *, job_type: str, context: JobContext, fallback: str
) -> HttpResponse:
    """The whole page of one job; an unknown id goes back to the `fallback` URL name with a message."""
    try:
        job = _job_of_type(request, job_id, job_type)
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect(fallback)
    return render_page(request, "jobs/job.html", context(job))


def job_progress(request: HttpRequest, job_id: uuid.UUID, *, job_type: str, context: JobContext) -> HttpResponse:
    """The progress fragment htmx polls; it stops polling itself once the job has finished."""
    try:
        job = _job_of_type(request, job_id, job_type)
    except ApplicationError as exc:
        return HttpResponse(format_html('<p class="msg msg-error" id="job-progress">{}</p>', exc.message))
    return render(request, "jobs/_job_progress.html", context(job))
