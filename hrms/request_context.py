"""The request id and who is acting, carried through a request and into the Celery tasks it enqueues.

`RequestObservabilityMiddleware` runs first: it accepts a well-formed `X-Request-ID` (or makes one),
returns it on the response, records the HTTP metrics by route template, and writes one JSON log line per
request. The id lives in a contextvar that the log filter reads; `before_task_publish` copies it into
the task's headers and `task_prerun` restores it in the worker, so a task's log lines carry the id of
the request that enqueued it.
"""

from __future__ import annotations

import contextvars
import logging
import re
import time
import uuid
from collections.abc import Callable
from typing import Any

from django.core.cache import close_caches
from django.core.signals import request_finished
from django.http import HttpRequest, HttpResponse
from django.utils.functional import SimpleLazyObject, empty

from core import metrics

REQUEST_ID_HEADER = "X-Request-ID"
CELERY_REQUEST_ID_HEADER = "hrms_request_id"
CELERY_USER_ID_HEADER = "hrms_user_id"
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("hrms_request_id", default=None)
user_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("hrms_user_id", default=None)
route_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("hrms_route", default=None)
_request_var: contextvars.ContextVar[HttpRequest | None] = contextvars.ContextVar("hrms_request", default=None)

request_logger = logging.getLogger("hrms.request")


def new_request_id() -> str:
    return uuid.uuid4().hex


def request_id_from(value: str | None) -> str:
    """The caller's id when it is safe to log and pass on; a fresh one otherwise."""
    if value and _VALID_REQUEST_ID.fullmatch(value):
        return value
    return new_request_id()


def current_request_id() -> str | None:
    return request_id_var.get()


def _user_id_of(request: HttpRequest | None) -> str | None:
    """The authenticated user's id, without ever triggering a lookup that has not happened yet."""
    if request is None:
        return None
    user = request.__dict__.get("user")
    if isinstance(user, SimpleLazyObject):
        wrapped = user._wrapped
        if wrapped is empty:
            return None
        user = wrapped
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return str(user.pk)


def current_user_id() -> str | None:
    return user_id_var.get() or _user_id_of(_request_var.get())


def route_of(request: HttpRequest) -> str:
    match = getattr(request, "resolver_match", None)
    route = getattr(match, "route", None)
    return f"/{route}" if route is not None else metrics.UNRESOLVED_ROUTE


class RequestObservabilityMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = request_id_from(request.headers.get(REQUEST_ID_HEADER))
        request.request_id = request_id  # type: ignore[attr-defined]
        tokens = [request_id_var.set(request_id), _request_var.set(request), user_id_var.set(None)]
        stopwatch = metrics.Stopwatch()
        try:
            response = self.get_response(request)
            response[REQUEST_ID_HEADER] = request_id
            self._record(request, response.status_code, stopwatch.seconds())
            return response
        except Exception:
            self._record(request, 500, stopwatch.seconds())
            raise
        finally:
            for var, token in zip((request_id_var, _request_var, user_id_var), tokens, strict=True):
                var.reset(token)  # type: ignore[attr-defined]

    def _record(self, request: HttpRequest, status: int, seconds: float) -> None:
        route = route_of(request)
        metrics.http_request_observe(route=route, method=request.method or "", status=status, seconds=seconds)
        if getattr(request, "log_line_suppressed", False):
            return  # a refusal of a flood: counted above and in hrms_ratelimit_rejections, logged once a window
        tenant = getattr(request, "tenant", None)
        request_logger.info(
            "%s %s %s",
            request.method,
            route,
            status,
            extra={
                "route": route,
                "method": request.method,
                "status": status,
                "duration_ms": round(seconds * 1000, 2),
                "user_id": _user_id_of(request),
                "tenant": getattr(tenant, "schema_name", "public"),
                "request_id": getattr(request, "request_id", None),
            },
        )


# The pool gauges move slowly next to request rates: sampled at most this often per process (and at every scrape).
POOL_SAMPLE_SECONDS = 1.0
_pool_sampled_at = [float("-inf")]


def _sample_pool(**_: Any) -> None:
    now = time.monotonic()
    if now - _pool_sampled_at[0] < POOL_SAMPLE_SECONDS:
        return
    _pool_sampled_at[0] = now
    metrics.db_pool_sample()


# Connected after django.db's own receiver, so this request's connection is back in the pool when sampled.
request_finished.connect(_sample_pool, dispatch_uid="hrms-metrics-db-pool")

# Django closes every cache after each request. Every cache here is django-redis, whose close() leaves the pooled
# connections open unless DJANGO_REDIS_CLOSE_CONNECTION is set (it is not): the walk over the caches is work
# for nothing on every request.
request_finished.disconnect(close_caches)


# --- Celery -------------------------------------------------------------------------------------------


def _on_before_task_publish(headers: dict[str, Any] | None = None, **_: Any) -> None:
    if headers is None:
        return
    request_id = request_id_var.get()
    if request_id is not None and CELERY_REQUEST_ID_HEADER not in headers:
        headers[CELERY_REQUEST_ID_HEADER] = request_id
    user_id = current_user_id()
    if user_id is not None and CELERY_USER_ID_HEADER not in headers:
        headers[CELERY_USER_ID_HEADER] = user_id


_task_tokens: dict[str, list[contextvars.Token[Any]]] = {}


def _header(task: Any, name: str) -> str | None:
    request = getattr(task, "request", None)
    value = getattr(request, name, None)
    if value is None:
        value = (getattr(request, "headers", None) or {}).get(name)
    return str(value) if value is not None else None


def _on_task_prerun(task_id: str | None = None, task: Any = None, **_: Any) -> None:
    request_id = _header(task, CELERY_REQUEST_ID_HEADER) or new_request_id()
    user_id = _header(task, CELERY_USER_ID_HEADER)
    tokens: list[contextvars.Token[Any]] = [request_id_var.set(request_id), user_id_var.set(user_id)]
    if task_id is not None:
        _task_tokens[task_id] = tokens


def _on_task_postrun(task_id: str | None = None, **_: Any) -> None:
    tokens = _task_tokens.pop(task_id or "", None)
    metrics.db_pool_sample()
    if tokens is None:
        return
    request_id_var.reset(tokens[0])
    user_id_var.reset(tokens[1])


def _on_worker_process_shutdown(pid: int | None = None, **_: Any) -> None:
    import os

    metrics.mark_process_dead(pid or os.getpid())


def _keep_django_logging(**_: Any) -> None:
    """Connected to `setup_logging`, so Celery leaves logging alone: django.setup() already applied LOGGING."""
    return None


def connect_celery_signals() -> None:
    from celery import signals

    signals.before_task_publish.connect(_on_before_task_publish, weak=False, dispatch_uid="hrms-request-id-publish")
    signals.task_prerun.connect(_on_task_prerun, weak=False, dispatch_uid="hrms-request-id-prerun")
    signals.task_postrun.connect(_on_task_postrun, weak=False, dispatch_uid="hrms-request-id-postrun")
    signals.setup_logging.connect(_keep_django_logging, weak=False, dispatch_uid="hrms-logging")
    signals.worker_process_shutdown.connect(_on_worker_process_shutdown, weak=False, dispatch_uid="hrms-metrics-pid")
