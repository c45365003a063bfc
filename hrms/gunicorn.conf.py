"""Gunicorn settings: `gunicorn hrms.wsgi:application -c hrms/gunicorn.conf.py`."""

from __future__ import annotations

import os

# Connection budget: every gunicorn worker *process* holds its own psycopg connection pool, and each of its
# threads can check out one connection at a time, so the web tier needs up to workers x threads connections
# (4 x 2 = 8 by default). That total, plus the Celery worker processes (and beat, migrations, shells), must
# stay below PostgreSQL's max_connections (100 by default) -- size the pools and these numbers together.


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


wsgi_app: str = "hrms.wsgi:application"
bind: list[str] = [os.environ.get("BIND", "127.0.0.1:8000")]
# gunicorn's threaded worker, pausing connections that keep asking past their ML budget (hrms/gunicorn_worker.py).
worker_class: str = "hrms.gunicorn_worker.PausingThreadWorker"
# More processes than threads: request handling is Python work, which threads of one process share under the
# GIL. 4 x 2 keeps the same eight connections per host as 2 x 4.
workers: int = _env_int("WEB_CONCURRENCY", 4)
threads: int = _env_int("GUNICORN_THREADS", 2)

errorlog: str = "-"

timeout: int = 60
graceful_timeout: int = 30
# Recycle workers now and then (bounds slow leaks); jitter keeps them from restarting all at once. Counted in
# requests, and a flood of cheap refusals is many requests: high enough that recycling stays rare.
max_requests: int = 100_000
max_requests_jitter: int = 10_000
# The application is imported once, in the master, and workers fork from it: a recycled worker is serving again
# in milliseconds instead of the seconds a fresh Django start takes (a flood of cheap refusals reaches
# max_requests quickly). Nothing opens a database or Redis connection at import, so no socket is shared
# across the fork. Code changes therefore need a restart of the master, not a HUP.
preload_app: bool = True

# Every request is logged as one JSON line by the application (hrms.request_context); gunicorn's own
# access log would repeat it as plain text, with query strings. GUNICORN_ACCESS_LOG=- turns it back on.
accesslog: str | None = os.environ.get("GUNICORN_ACCESS_LOG") or None


def child_exit(server: object, worker: object) -> None:
    """A worker's live gauges (jobs running, pool connections) die with it.

    PROMETHEUS_MULTIPROC_DIR must be an empty directory when the processes sharing it start (scripts/run.sh
    empties it): files from an earlier run would be merged into /metrics.
    """
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        pid: int = worker.pid  # type: ignore[attr-defined]
        multiprocess.mark_process_dead(pid)  # type: ignore[no-untyped-call]
