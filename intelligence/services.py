"""Requests for intelligence work: validate, record a BackgroundJob, enqueue it once the transaction commits."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from django.db import transaction

from audit.services import audit_append
from hrms.errors import ValidationFailed
from intelligence.generation import JOB_TYPE, MAX_PERIOD_DAYS
from jobs.models import BackgroundJob
from jobs.services import job_create
from timesheets.models import Employee


def validate_period(*, start: date, end: date, employee_ids: list[uuid.UUID] | None) -> None:
    errors: dict[str, list[str]] = {}
    if end < start:
        errors["end_date"] = ["Must be on or after start_date."]
    elif (end - start).days + 1 > MAX_PERIOD_DAYS:
        errors["end_date"] = [f"The period may span at most {MAX_PERIOD_DAYS} days."]
    if employee_ids:
        known = set(Employee.objects.filter(id__in=employee_ids).values_list("id", flat=True))
        missing = [str(e) for e in employee_ids if e not in known]
        if missing:
            errors["employee_ids"] = [f"Unknown employee ids: {', '.join(missing[:10])}"]
    if errors:
        raise ValidationFailed("The generation request is invalid.", fields=errors)


@transaction.atomic
def generation_request(
    *,
    actor: Any,
    start: date,
    end: date,
    employee_ids: list[uuid.UUID] | None = None,
    generate_suggestions: bool = True,
    auto_accept: bool = False,
) -> BackgroundJob:
    """Queue a generation job; Conflict (409) naming the running job if one is active for this tenant."""
    from intelligence.tasks import timesheets_generate_task

    validate_period(start=start, end=end, employee_ids=employee_ids)
    job = job_create(
        job_type=JOB_TYPE,
        parameters={
            "start_date": start.isoformat(),
            "end_date": end.isoformat(),
            "employee_ids": [str(e) for e in employee_ids] if employee_ids else None,
            "generate_suggestions": generate_suggestions,
            "auto_accept_high_confidence": auto_accept,
        },
        created_by=actor,
    )
    audit_append(
        actor=actor,
        action="generation.request",
        object_type="job",
        object_id=job.id,
        data={key: value for key, value in job.parameters.items() if key != "employee_ids"}
        | {"employees": len(employee_ids) if employee_ids else "all"},
    )
    job_id = str(job.id)
    transaction.on_commit(lambda: timesheets_generate_task.delay(job_id))
    return job
