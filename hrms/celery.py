"""The Celery app. Every task runs in the tenant schema its message carries (tenant-schemas-celery).

A task that needs a tenant refuses to be sent from the public schema, and refuses to run there, so
background work can never silently read or write the public schema by mistake. Tasks that fan out
across tenants (beat schedules) declare ``tenant_required = False``.
"""

from __future__ import annotations

import os
from typing import Any

from tenant_schemas_celery.app import CeleryApp
from tenant_schemas_celery.task import TenantTask

from hrms.request_context import connect_celery_signals
from tenants.schema import current_schema, in_public_schema

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hrms.settings")


class PublicSchemaTaskError(RuntimeError):
    """A tenant task was sent from, or received in, the public schema."""


class HrmsTask(TenantTask):  # type: ignore[misc]
    abstract = True
    tenant_required = True
    # Seconds a worker keeps the schema -> tenant mapping before re-reading it.
    tenant_cache_seconds = 30

    def apply_async(self, args: Any = None, kwargs: Any = None, **options: Any) -> Any:
        headers = options.get("headers") or {}
        schema = headers.get("_schema_name", current_schema())
        if self.tenant_required and schema == "public":
            raise PublicSchemaTaskError(f"{self.name} needs a tenant: send it inside tenant_context(tenant)")
        return super().apply_async(args, kwargs, **options)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        # task_prerun has switched to the message's schema by now; public means the message had none.
        if self.tenant_required and in_public_schema():
            raise PublicSchemaTaskError(f"{self.name} arrived without a tenant schema; refusing to run in public")
        return super().__call__(*args, **kwargs)


app = CeleryApp("hrms", task_cls="hrms.celery:HrmsTask")
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
