"""Prometheus metrics: every metric family the product exports, the functions that record them, /metrics.

Labels are bounded by the code, never by data: route templates (not paths), job types, queue names,
breaker components and outcomes. Tenant names, ids and users never become labels, so the number of
series stays the same at 1 or 1,000 tenants.

Several gunicorn workers (and Celery worker processes on the same machine) share one view when
PROMETHEUS_MULTIPROC_DIR points at a directory they can all write: each process writes its own files and
/metrics merges them (gunicorn's child_exit hook marks a dead worker's gauges as gone). Without the
variable every process serves only its own numbers, which is what the test suite and `runserver` use.
"""

from __future__ import annotations

import hmac
import ipaddress
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from functools import cache
from typing import Any

import pybreaker
from django.conf import settings
from django.db import connections
from django.http import HttpRequest, HttpResponse
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from core.proxy import client_address

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
JOB_BUCKETS = (0.5, 1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600)
UNRESOLVED_ROUTE = "<unresolved>"

# --- HTTP ------------------------------------------------------------------------------------------------
HTTP_REQUESTS = Counter(
    "hrms_http_requests", "HTTP requests answered, by route template, method and status.", ["route", "method", "status"]
)
HTTP_LATENCY = Histogram(
    "hrms_http_request_duration_seconds",
    "Time from the first middleware to the response, by route template, method and status.",
    ["route", "method", "status"],
    buckets=LATENCY_BUCKETS,
)

# --- Jobs ------------------------------------------------------------------------------------------------
JOBS_STARTED = Counter("hrms_jobs_started", "Background jobs claimed by a worker, by job type.", ["job_type"])
JOBS_FINISHED = Counter(
    "hrms_jobs_finished", "Background jobs finished, by job type and outcome.", ["job_type", "outcome"]
)
JOB_DURATION = Histogram(
    "hrms_job_duration_seconds",
    "Background job run time from claim to finish, by job type and outcome.",
    ["job_type", "outcome"],
    buckets=JOB_BUCKETS,
)
JOBS_RUNNING = Gauge(
    "hrms_jobs_running", "Background jobs running now, by job type.", ["job_type"], multiprocess_mode="livesum"
)
JOBS_REAPED = Counter("hrms_jobs_reaped", "Jobs failed by the reaper (dead worker or never started).")
FANOUT_FAILURES = Counter(
    "hrms_fanout_failures", "Tenants a beat fan-out task failed for (the others still ran), by task.", ["task"]
)

# --- ML --------------------------------------------------------------------------------------------------
BREAKER_STATE_CHANGES = Counter(
    "hrms_ml_breaker_state_changes",
    "Circuit breaker transitions, by component and from/to state.",
    ["component", "from_state", "to_state"],
)
ML_FALLBACKS = Counter(
    "hrms_ml_fallbacks", "Predictions answered by the rules engine instead of the model, by reason.", ["reason"]
)
RATELIMIT_REJECTIONS = Counter(
    "hrms_ratelimit_rejections", "Requests rejected with 429 by the per-tenant rate limit, by scope.", ["scope"]
)
PREDICTIONS = Counter("hrms_ml_predictions", "Suggestions produced, by source (ml or rules).", ["source"])

# --- Database pool and cache ----------------------------------------------------------------------------
DB_POOL_IN_USE = Gauge(
    "hrms_db_pool_connections_in_use",
    "PostgreSQL connections checked out of the pools, summed over live processes.",
    ["alias"],
    multiprocess_mode="livesum",
)
DB_POOL_WAITING = Gauge(
    "hrms_db_pool_requests_waiting",
    "Threads waiting for a pooled PostgreSQL connection, summed over live processes.",
    ["alias"],
    multiprocess_mode="livesum",
)
DB_POOL_SIZE = Gauge(
    "hrms_db_pool_connections_open",
    "PostgreSQL connections open in the pools, summed over live processes.",
    ["alias"],
    multiprocess_mode="livesum",
)
TENANT_CACHE = Counter(
    "hrms_tenant_cache_requests", "Tenant cache reads, by namespace and result (hit or miss).", ["namespace", "result"]
)


def http_request_observe(*, route: str, method: str, status: int, seconds: float) -> None:
    requests, latency = _http_series(route, _bounded_method(method), status)
    requests.inc()
    latency.observe(seconds)


@cache
def _http_series(route: str, method: str, status: int) -> tuple[Any, Any]:
    """The two series of one (route template, method, status): looked up once per process, not per request.

    The label sets are bounded (route templates, a fixed set of methods, HTTP statuses), so is this cache.
    """
    labels = {"route": route, "method": method, "status": str(status)}
    return HTTP_REQUESTS.labels(**labels), HTTP_LATENCY.labels(**labels)


_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def _bounded_method(method: str) -> str:
    return method if method in _METHODS else "OTHER"


# Jobs this process claimed and has not finished: id -> (job type, monotonic claim time).
_running_here: dict[str, tuple[str, float]] = {}
_running_lock = threading.Lock()


def job_claimed(*, job_id: object, job_type: str) -> None:
    JOBS_STARTED.labels(job_type=job_type).inc()
    JOBS_RUNNING.labels(job_type=job_type).inc()
    with _running_lock:
        _running_here[str(job_id)] = (job_type, time.monotonic())


def job_closed(*, job_id: object, outcome: str, job_type_of: Callable[[], str | None]) -> None:
    """Record a job's outcome (`succeeded`/`failed`); its duration when this process claimed it.

    The running gauge only moves in the process that counted the start, so a job failed from elsewhere
    (an API call, another worker) never drives it below zero.
    """
    with _running_lock:
        claimed = _running_here.pop(str(job_id), None)
    if claimed is None:
        job_type = job_type_of()
        if job_type is None:
            return
        JOBS_FINISHED.labels(job_type=job_type, outcome=outcome).inc()
        return
    job_type, started = claimed
    JOBS_FINISHED.labels(job_type=job_type, outcome=outcome).inc()
    JOB_DURATION.labels(job_type=job_type, outcome=outcome).observe(time.monotonic() - started)
    JOBS_RUNNING.labels(job_type=job_type).dec()


def jobs_reaped(*, count: int) -> None:
    if count:
        JOBS_REAPED.inc(count)


def fanout_failed(*, task: str) -> None:
    """task: the beat task's registered name (a fixed, bounded set)."""
    FANOUT_FAILURES.labels(task=task).inc()


def breaker_state_changed(*, component: str, from_state: str, to_state: str) -> None:
    BREAKER_STATE_CHANGES.labels(component=component, from_state=from_state, to_state=to_state).inc()


def ml_fallback(*, reason: str) -> None:
    """reason: a short fixed word, e.g. `breaker_open`, `error`, `no_model`."""
    ML_FALLBACKS.labels(reason=reason).inc()


def ratelimit_rejected(*, scope: str) -> None:
    """scope: the policy's name for the limited operation (`generate`, `suggestions`, `train`)."""
    RATELIMIT_REJECTIONS.labels(scope=scope).inc()


def predictions_served(*, source: str, count: int = 1) -> None:
    if count:
        PREDICTIONS.labels(source=source).inc(count)


def tenant_cache_read(*, namespace: str, hit: bool) -> None:
    TENANT_CACHE.labels(namespace=namespace, result="hit" if hit else "miss").inc()


class BreakerMetricsListener(pybreaker.CircuitBreakerListener):
    """Counts breaker transitions: `CircuitBreaker(..., listeners=[BreakerMetricsListener("predictor")])`.

    `component` is the label, never the breaker's name, which may carry the tenant.
    """

    def __init__(self, component: str = "predictor") -> None:
        self.component = component

    def state_change(self, cb: Any, old_state: Any, new_state: Any) -> None:
        breaker_state_changed(
            component=self.component, from_state=_state_name(old_state), to_state=_state_name(new_state)
        )


def _state_name(state: Any) -> str:
    if state is None:
        return "none"
    return str(getattr(state, "name", state))


def db_pool_sample() -> None:
    """Copy this process's pool statistics into the gauges (called when a request or task has finished)."""
    for conn in connections.all():
        # The pools are per process (a class attribute of the backend); reading never opens one.
        pool = getattr(conn, "_connection_pools", {}).get(conn.alias)
        if pool is None:
            continue
        stats = pool.get_stats()
        size = int(stats.get("pool_size", 0))
        DB_POOL_SIZE.labels(alias=conn.alias).set(size)
        DB_POOL_IN_USE.labels(alias=conn.alias).set(size - int(stats.get("pool_available", 0)))
        DB_POOL_WAITING.labels(alias=conn.alias).set(int(stats.get("requests_waiting", 0)))


# --- Scrape-time collectors -----------------------------------------------------------------------------

# kombu's Redis transport keeps priorities 3, 6 and 9 in lists of their own next to the queue's list.
_PRIORITY_SUFFIXES = ("", "\x06\x163", "\x06\x166", "\x06\x169")


def queue_names() -> list[str]:
    return list(getattr(settings, "CELERY_QUEUE_NAMES", ["celery", "generation", "sync", "training"]))


@cache
def _broker_client(url: str) -> Any:
    import redis

    return redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)


class QueueDepthCollector(Collector):
    """Celery queue lengths read from the Redis broker when Prometheus scrapes (one pipeline round trip)."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        depth = GaugeMetricFamily("hrms_queue_length", "Tasks waiting in the broker, by queue.", labels=["queue"])
        up = GaugeMetricFamily("hrms_broker_up", "1 if the broker answered the queue-length poll.")
        names = queue_names()
        try:
            client = _broker_client(settings.CELERY_BROKER_URL)
            pipe = client.pipeline(transaction=False)
            for name in names:
                for suffix in _PRIORITY_SUFFIXES:
                    pipe.llen(name + suffix)
            lengths = pipe.execute()
        except Exception:
            up.add_metric([], 0)
            yield up
            return
        step = len(_PRIORITY_SUFFIXES)
        for index, name in enumerate(names):
            depth.add_metric([name], sum(lengths[index * step : (index + 1) * step]))
        up.add_metric([], 1)
        yield depth
        yield up


class DbPoolCollector(Collector):
    """Samples the answering process's pool just before the gauges are read."""

    def collect(self) -> Iterable[Any]:
        db_pool_sample()
        return []


_scrape_collectors: list[Collector] = [DbPoolCollector(), QueueDepthCollector()]


@cache
def _register_default_collectors() -> None:
    for collector in _scrape_collectors:
        REGISTRY.register(collector)


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


def metrics_text() -> bytes:
    """The exposition text: every process's metrics in multiprocess mode, this process's otherwise."""
    if multiprocess_dir() is None:
        _register_default_collectors()
        return generate_latest(REGISTRY)
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    for collector in _scrape_collectors:
        registry.register(collector)
    return generate_latest(registry)


def mark_process_dead(pid: int) -> None:
    """Forget a dead process's live gauges (gunicorn child_exit, Celery worker_process_shutdown)."""
    if multiprocess_dir() is not None:
        multiprocess.mark_process_dead(pid)  # type: ignore[no-untyped-call]


# --- Access -------------------------------------------------------------------------------------------


@cache
def _allowed_networks(entries: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(entry.strip(), strict=False) for entry in entries if entry.strip())


def _client_in_metrics_network(request: HttpRequest) -> bool:
    # The client as our own proxies saw it (core.proxy): a header the client wrote itself never counts.
    try:
        address = ipaddress.ip_address(client_address(request))
    except ValueError:
        return False
    networks = _allowed_networks(tuple(getattr(settings, "METRICS_ALLOWED_NETWORKS", ())))
    return any(address in network for network in networks)


def _has_operator_token(request: HttpRequest) -> bool:
    token = str(getattr(settings, "METRICS_TOKEN", "") or "")
    scheme, _, presented = request.headers.get("Authorization", "").partition(" ")
    if not token or scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(presented.strip().encode(), token.encode())


def metrics_access_allowed(request: HttpRequest) -> bool:
    if getattr(settings, "METRICS_REQUIRE_TOKEN", False):
        # A reverse proxy on the same host makes every client's peer address 127.0.0.1: the token only.
        return _has_operator_token(request)
    return _client_in_metrics_network(request) or _has_operator_token(request)


def metrics_view(request: HttpRequest) -> HttpResponse:
    # Imported here: the Celery app imports this module before Django (and DRF) are set up.
    from core.errors import error_response

    if not metrics_access_allowed(request):
        return error_response(
            403, "metrics_forbidden", "Metrics are served to the metrics network or with the operator token."
        )
    return HttpResponse(metrics_text(), content_type=CONTENT_TYPE_LATEST)


class Stopwatch:
    """monotonic() start time, read as elapsed seconds."""

    __slots__ = ("started",)

    def __init__(self) -> None:
        self.started = time.monotonic()

    def seconds(self) -> float:
        return time.monotonic() - self.started
