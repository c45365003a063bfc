"""Liveness and readiness probes; served on every host without tenant resolution."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.core.cache import caches
from django.db import connection
from django.http import HttpRequest, JsonResponse
from kombu import Connection


def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


def _check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def _check_redis() -> None:
    client = caches["default"].client.get_client(write=True)  # type: ignore[attr-defined]
    client.ping()


def _check_broker() -> None:
    with Connection(settings.CELERY_BROKER_URL, connect_timeout=1) as broker:
        broker.ensure_connection(max_retries=1, timeout=1)


CHECKS: dict[str, Callable[[], None]] = {
    "database": _check_database,
    "redis": _check_redis,
    "broker": _check_broker,
}


def readyz(request: HttpRequest) -> JsonResponse:
    results: dict[str, str] = {}
    for name, check in CHECKS.items():
        try:
            check()
            results[name] = "ok"
        except Exception as exc:
            results[name] = f"down: {type(exc).__name__}"
    down = [name for name, state in results.items() if state != "ok"]
    body: dict[str, object] = {"status": "ok" if not down else "unavailable", "checks": results}
    if down:
        body["error"] = {"code": "not_ready", "message": f"Unavailable: {', '.join(down)}.", "fields": {}}
    return JsonResponse(body, status=503 if down else 200)
