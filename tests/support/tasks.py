"""Tasks that exist only for the test suite: they report which schema they ran in."""

from __future__ import annotations

from django.core.cache import caches
from django.db import connection

from hrms.celery import app


@app.task(name="tests.record_schema")
def record_schema_task(key: str) -> str:
    caches["shared"].set(key, connection.schema_name, 60)
    return str(connection.schema_name)
