"""The task classes every Celery task of ours is built on: a tenant task refuses to be sent from, or run in, public.

Apps declare tasks with ``celery.shared_task``; the app in ``hrms.celery`` makes `TenantBoundTask` its default
class, and a beat task that fans out over tenants passes ``base=FanOutTask``.
"""

from __future__ import annotations

from typing import Any

from tenant_schemas_celery.task import TenantTask

from core.schema import current_schema, in_public_schema


class PublicSchemaTaskError(RuntimeError):
    """A tenant task was sent from, or received in, the public schema."""


class TenantBoundTask(TenantTask):  # type: ignore[misc]
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


class FanOutTask(TenantBoundTask):
    """A beat task that runs in public and visits the tenants itself."""

    abstract = True
    tenant_required = False
