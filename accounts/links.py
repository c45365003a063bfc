"""Absolute links to a tenant's own host, for the messages sent to its users."""

from __future__ import annotations

from django.conf import settings
from django.db import connection
from django.http import HttpRequest

from tenants.models import Domain


def tenant_home_url() -> str:
    """`scheme://domain[:port]` of the current tenant's primary domain, for messages sent with no request at hand
    (reminders from beat tasks): EMAIL_LINK_SCHEME and, where the web server is not on the default port,
    EMAIL_LINK_PORT."""
    tenant = getattr(connection, "tenant", None)
    domain = (
        Domain.objects.filter(tenant_id=getattr(tenant, "pk", None), is_primary=True)
        .values_list("domain", flat=True)
        .first()
    )
    port = f":{settings.EMAIL_LINK_PORT}" if settings.EMAIL_LINK_PORT else ""
    return f"{settings.EMAIL_LINK_SCHEME}://{domain or 'localhost'}{port}"


def tenant_link_base(request: HttpRequest) -> str:
    """`scheme://host[:port]` of the tenant's own host: the request's when it came there, else its primary domain
    (a request through the API host must not send people to the API host)."""
    host = request.get_host()
    if host.split(":")[0].lower() not in settings.API_HOSTS:
        return f"{request.scheme}://{host}"
    # The public schema is on every tenant's search path: the Domain table is readable from here.
    tenant = getattr(connection, "tenant", None)
    domains = Domain.objects.filter(tenant_id=getattr(tenant, "pk", None), is_primary=True)
    domain = domains.values_list("domain", flat=True).first()
    return f"{settings.EMAIL_LINK_SCHEME}://{domain or host}"
