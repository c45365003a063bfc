"""Tasks that exist only for the test suite: they report which schema they ran in."""

from __future__ import annotations

import redis
from django.conf import settings
from django.core.cache import caches

from core.schema import current_schema
from hrms.celery import app


@app.task(name="tests.record_schema")  # type: ignore[untyped-decorator]
def record_schema_task(key: str) -> str:
    caches["shared"].set(key, current_schema(), 60)
    return str(current_schema())


def broker_purge() -> None:
    """Empty the test broker's Redis database: messages enqueued by a test without a worker must not reach the
    next test that starts one."""
    redis.Redis.from_url(settings.CELERY_BROKER_URL).flushdb()
