"""Tasks that exist only for the test suite: they report which schema they ran in."""

from __future__ import annotations

from django.core.cache import caches

from hrms.celery import app
from tenants.schema import current_schema


@app.task(name="tests.record_schema")  # type: ignore[untyped-decorator]
def record_schema_task(key: str) -> str:
    caches["shared"].set(key, current_schema(), 60)
    return str(current_schema())
