"""The Celery app. Every task runs in the tenant schema its message carries (tenant-schemas-celery).

A task that needs a tenant refuses to be sent from the public schema, and refuses to run there, so
background work can never silently read or write the public schema by mistake. Tasks that fan out
across tenants (beat schedules) use ``core.tasks.FanOutTask``.
"""

from __future__ import annotations

import os

from tenant_schemas_celery.app import CeleryApp

from hrms.request_context import connect_celery_signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hrms.settings")

app = CeleryApp("hrms", task_cls="core.tasks:TenantBoundTask")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.update(
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=1,
    task_serializer="json",
    accept_content=["json"],
    task_ignore_result=True,
    broker_connection_retry_on_startup=True,
    task_default_queue="celery",
)
app.autodiscover_tasks()
# Request ids into task headers and back into log lines; Django's JSON logging kept in workers.
connect_celery_signals()
