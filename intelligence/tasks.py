"""Celery tasks of the intelligence app: thin wrappers that load by id and call one service."""

from __future__ import annotations

import uuid

from hrms.celery import app
from intelligence.generation import timesheets_generate


@app.task(name="intelligence.timesheets_generate", queue="generation")  # type: ignore[untyped-decorator]
def timesheets_generate_task(job_id: str) -> None:
    timesheets_generate(job_id=uuid.UUID(job_id))
