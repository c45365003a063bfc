"""On the API host, an X-Tenant that names no tenant answers exactly like a tenant the caller has no credentials for.

Otherwise `X-Tenant: <guess>` tells which tenants exist (a 404 "tenant not found" against the 401 of a real
tenant): a list of customers for the asking. So, on the API host only (a tenant's own host name is public in
DNS anyway), a caller without valid credentials cannot tell a tenant that exists from one that does not, nor
from a suspended one:

- an unknown or suspended tenant is served by `no_tenant_response`: the tenant URLconf's route is looked up
  as for a real tenant (no route: the same 404), the login endpoint runs the real login's input checks and
  one password hash and then fails like a wrong password, and every other API view authenticates with the
  same authenticators, which find no token and no session, so DRF gives the same 401 and `WWW-Authenticate`;
- X-Tenant selects only the API (`/api/...`): the web UI lives on the tenant's own host, and its login page
  and redirects would tell a tenant apart again. Other paths answer 404 for every tenant. The OpenAPI schema
  and docs are the same for every tenant and served without one (tenants/middleware.py).

A suspended tenant's API clients therefore see 401 on the API host; its own host still answers 403
`tenant_suspended`. See docs/architecture.md (tenancy).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core.exceptions import DisallowedHost
from django.http import HttpRequest, HttpResponse
from django.urls import Resolver404, resolve
from rest_framework import exceptions
from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api import AuthTokenApi, InvalidCredentials
from accounts.authentication import CachedTokenAuthentication
from accounts.protection import login_attempt
from core.errors import json_404
from core.schema import use_public_schema
from tenants.middleware import API_HOST_PUBLIC_PATHS, TENANTLESS_PREFIXES
from tenants.models import SLUG_PATTERN
from tenants.selectors import tenant_get_by_slug

_SLUG_RE = re.compile(SLUG_PATTERN)
API_PREFIX = "/api/"
LOGIN_ROUTE = "auth-token"


class _NoTokenMatches(CachedTokenAuthentication):
    """Parses the Authorization header as the real one does (same errors for a malformed one); no key matches."""

    def authenticate_credentials(self, key: str) -> tuple[Any, Any]:
        raise exceptions.AuthenticationFailed("Invalid token.")


class _NoUsersApi(APIView):
    """Any API view of a tenant without users: every method is refused by authentication, as DRF refuses it."""

    authentication_classes = [_NoTokenMatches, SessionAuthentication]
    permission_classes = [IsAuthenticated]

    def _refused(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        raise AssertionError("unreachable: no caller authenticates")  # pragma: no cover

    get = post = put = patch = delete = _refused


class _NoUsersAuthTokenApi(AuthTokenApi):
    """The login endpoint of a tenant without users: the same input checks, one password hash, then the same
    refusal as a wrong password (Django's ModelBackend also hashes once for an unknown username)."""

    def post(self, request: Request) -> Response:
        data = self.AuthTokenInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)

        def attempt() -> None:
            make_password(data.validated_data["password"])

        login_attempt(request._request, data.validated_data["username"], attempt)
        raise InvalidCredentials("Unable to log in with these credentials.")


def no_tenant_response(request: HttpRequest) -> HttpResponse:
    """What a tenant with no users and no sessions answers to this request."""
    try:
        match = resolve(request.path_info, urlconf=settings.ROOT_URLCONF)
    except Resolver404:
        return json_404(request)
    if match.url_name == LOGIN_ROUTE:
        response = _NoUsersAuthTokenApi.as_view()(request)
    else:
        response = _NoUsersApi.as_view()(request)
    # Answered from middleware, not from a view Django's handler would render.
    render = getattr(response, "render", None)
    if callable(render):
        render()
    return response


class ApiHostTenantPrivacyMiddleware:
    """Runs just before tenant resolution: X-Tenant on the API host serves the API, and tenants that do not
    exist (or are suspended) answer as above."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        use_public_schema()  # the tenant lookup reads the public schema, whatever the last request left set
        slug = request.headers.get("X-Tenant")
        if (
            slug is None
            or request.path.startswith(TENANTLESS_PREFIXES)
            or request.path in API_HOST_PUBLIC_PATHS
            or not _SLUG_RE.fullmatch(slug)
        ):
            return self.get_response(request)  # tenant resolution answers malformed headers and bad hosts
        try:
            host = request.get_host().split(":")[0].lower()
        except DisallowedHost:
            return self.get_response(request)
        if host not in settings.API_HOSTS:
            return self.get_response(request)
        if not request.path.startswith(API_PREFIX):
            return json_404(request)
        tenant = tenant_get_by_slug(slug=slug)
        if tenant is None or not tenant.is_active:
            return no_tenant_response(request)
        return self.get_response(request)
