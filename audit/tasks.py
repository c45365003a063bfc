"""Beat task: sign every chain head (each tenant's and the public one) into the public schema."""

from __future__ import annotations

from django_tenants.utils import schema_context, tenant_context

from audit.services import audit_checkpoint
from hrms.celery import app
from tenants.selectors import tenant_list


@app.task(name="audit.checkpoint_all", tenant_required=False)  # type: ignore[untyped-decorator]
def audit_checkpoint_all_task() -> int:
    signed = 0
    with schema_context("public"):
        signed += audit_checkpoint() is not None
    for tenant in tenant_list():
        with tenant_context(tenant):
            signed += audit_checkpoint() is not None
    return signed
