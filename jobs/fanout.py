"""Beat tasks that visit every tenant: one tenant at a time, and one tenant's failure never stops the others.

A fan-out that stopped at the first tenant whose call raised would leave every tenant after it unreaped,
unsigned or untrained until someone noticed. Here each tenant runs in its own `tenant_context` and its own
savepoint (a database error rolls back that tenant's writes and leaves the connection usable for the next);
a failure is logged once with the tenant and its traceback, counted in `hrms_fanout_failures_total{task}`,
and the fan-out goes on.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from celery.exceptions import SoftTimeLimitExceeded
from django.db import transaction
from django_tenants.utils import schema_context, tenant_context

from core import metrics
from tenants.models import Tenant
from tenants.selectors import tenant_list

logger = logging.getLogger(__name__)

R = TypeVar("R")
PUBLIC = "public"


@dataclass
class FanOut(Generic[R]):
    """What each schema's call returned, in visiting order, and the schemas whose call failed."""

    results: dict[str, R] = field(default_factory=dict)
    failed: list[str] = field(default_factory=list)


def tenants_fan_out(
    name: str, fn: Callable[[], R], *, tenants: Iterable[Tenant] | None = None, public: bool = False
) -> FanOut[R]:
    """Call `fn` inside each tenant (every tenant unless `tenants` is given; the public schema first if `public`).

    `name` is the beat task's name: it labels the log line and the failure counter.
    """
    targets: list[Tenant | None] = [None] if public else []
    targets.extend(tenant_list() if tenants is None else tenants)
    outcome: FanOut[R] = FanOut()
    for target in targets:
        schema = PUBLIC if target is None else target.schema_name
        context = schema_context(PUBLIC) if target is None else tenant_context(target)
        try:
            with context, transaction.atomic():
                outcome.results[schema] = fn()
        except SoftTimeLimitExceeded:
            raise  # the task's own time limit stops the whole fan-out, as it is meant to
        except Exception:
            logger.exception("%s failed for tenant %s; the other tenants still run", name, schema)
            metrics.fanout_failed(task=name)
            outcome.failed.append(schema)
    return outcome
