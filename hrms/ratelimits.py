"""Rate-limit policy of the ML endpoints: one budget per tenant, its size the tenant's own setting.

Generation, suggestion review (pending, accept, reject) and training share one django-ratelimit group keyed
by the tenant's schema, at `Tenant.ml_rate_limit_per_minute` requests a minute (default 100). Over the limit
the view raises `RateLimited`, which the API's error handler renders as 429 JSON with `Retry-After` (the
seconds left in the tenant's fixed window).

Redis down (the `ratelimit` cache unreachable): the limiter fails open, so requests are served without a
limit rather than refused; the cache's short socket timeouts bound the delay this adds to each request.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django_ratelimit.core import get_usage

from hrms.errors import RateLimited

ML_GROUP = "ml-endpoints"
DEFAULT_PER_MINUTE = 100


def _tenant_key(group: str, request: HttpRequest) -> str:
    tenant = getattr(request, "tenant", None)
    return str(getattr(tenant, "schema_name", "public"))


def _tenant_rate(group: str, request: HttpRequest) -> str:
    tenant = getattr(request, "tenant", None)
    per_minute = getattr(tenant, "ml_rate_limit_per_minute", None) or DEFAULT_PER_MINUTE
    return f"{int(per_minute)}/m"


def ml_rate_limit(request: HttpRequest) -> None:
    """Count one request against the tenant's ML budget; RateLimited (429) once it is spent."""
    usage = get_usage(request, group=ML_GROUP, key=_tenant_key, rate=_tenant_rate, increment=True)
    if usage is None or not usage["should_limit"]:
        return
    retry_after = max(1, int(usage["time_left"]))
    raise RateLimited(
        f"This tenant's ML endpoints allow {usage['limit']} requests a minute; retry in {retry_after} s.",
        retry_after=retry_after,
    )


class MlRateLimited:
    """Mixin for a DRF APIView: the tenant's ML budget is checked where DRF checks its throttles."""

    def check_throttles(self, request: Any) -> None:
        super().check_throttles(request)  # type: ignore[misc]
        if getattr(settings, "RATELIMIT_ENABLE", True):
            ml_rate_limit(request)
