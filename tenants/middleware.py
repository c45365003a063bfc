"""Resolves every request to its tenant (subdomain via Domain, or X-Tenant on the API host) first.

The lookup is served from process memory, then Redis, then PostgreSQL (see tenants.selectors), so a warm
request costs no query. Failures answer in the API's JSON error shape: malformed header 400, unknown
tenant 404, suspended tenant 403. A tenant's request runs with its locale's formats active (tenants/locales.py).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.http import HttpRequest, HttpResponse
from django.urls import set_urlconf
from django.utils import translation

from core.errors import error_response
from core.schema import use_public_schema, use_tenant
from tenants.locales import locale_language
from tenants.models import SLUG_PATTERN, Tenant
from tenants.selectors import tenant_get_by_host, tenant_get_by_slug

_SLUG_RE = re.compile(SLUG_PATTERN)
# Served on every host without a tenant: probes, metrics and static files.
TENANTLESS_PREFIXES = ("/healthz", "/readyz", "/metrics", "/static/")
# The API's description is the same for every tenant: on the API host it is served without one, X-Tenant or not
# (so it answers alike for tenants that exist and those that do not; accounts/api_host.py).
API_HOST_PUBLIC_PATHS = ("/api/schema/", "/api/docs/")


class TenantResolutionMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        use_public_schema()
        request.tenant = None  # type: ignore[attr-defined]
        if request.path.startswith(TENANTLESS_PREFIXES):
            return self._serve_public(request)
        try:
            host = request.get_host().split(":")[0].lower()
        except DisallowedHost:
            return error_response(400, "bad_host", "This host is not served here.")

        header = request.headers.get("X-Tenant")
        if host in settings.API_HOSTS and request.path in API_HOST_PUBLIC_PATHS:
            return self._serve_public(request)
        if host in settings.API_HOSTS and header is not None:
            if not _SLUG_RE.fullmatch(header):
                return error_response(
                    400, "malformed_tenant", "X-Tenant must be a tenant slug.", {"X-Tenant": ["Malformed."]}
                )
            tenant = tenant_get_by_slug(slug=header)
        elif host in settings.API_HOSTS or host == settings.BASE_DOMAIN:
            return self._serve_public(request)
        else:
            tenant = tenant_get_by_host(host=host)

        if tenant is None:
            return error_response(404, "tenant_not_found", "No tenant is served at this address.")
        if not tenant.is_active:
            return error_response(403, "tenant_suspended", "This tenant is suspended.")
        return self._serve_tenant(request, tenant)

    def _serve_public(self, request: HttpRequest) -> HttpResponse:
        request.urlconf = settings.PUBLIC_SCHEMA_URLCONF
        set_urlconf(settings.PUBLIC_SCHEMA_URLCONF)
        return self.get_response(request)

    def _serve_tenant(self, request: HttpRequest, tenant: Tenant) -> HttpResponse:
        request.tenant = tenant  # type: ignore[attr-defined]
        use_tenant(tenant)
        # Pages write dates and numbers in the tenant's locale (the API's JSON is not localized).
        with translation.override(locale_language(tenant.locale)):
            return self.get_response(request)
