"""API tokens: remembered per tenant and process for a short while, so a warm request reads no token or role."""

from __future__ import annotations

import re
from typing import Any

from django.contrib.auth.models import User
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import tenant_context

from core.ttlcache import ttl_caches_forget
from tests.conftest import TenantHandle, make_user, token_for

_AUTH_TABLES = re.compile(r"authtoken_token|auth_user_groups|auth_group", re.IGNORECASE)


def _me(handle: TenantHandle, token: str) -> Any:
    return handle.client().get("/api/auth/me", HTTP_AUTHORIZATION=f"Token {token}")


def _auth_queries(queries: CaptureQueriesContext) -> list[str]:
    return [query["sql"] for query in queries.captured_queries if _AUTH_TABLES.search(query["sql"])]


def test_a_warm_token_is_authenticated_without_reading_the_token_or_the_roles(alpha: TenantHandle) -> None:
    token = token_for(alpha, make_user(alpha, "reader@alpha.test", "HR"))
    with CaptureQueriesContext(connection) as cold:
        assert _me(alpha, token).status_code == 200
    with CaptureQueriesContext(connection) as warm:
        response = _me(alpha, token)
    assert response.status_code == 200
    assert "HR" in response.json()["roles"]
    assert _auth_queries(cold)
    assert _auth_queries(warm) == []


def test_a_token_remembered_in_one_tenant_is_refused_in_another(alpha: TenantHandle, beta: TenantHandle) -> None:
    token = token_for(alpha, make_user(alpha, "roamer@alpha.test", "HR"))
    assert _me(alpha, token).status_code == 200
    assert _me(beta, token).status_code == 401


def test_with_the_cache_off_a_deactivated_user_is_refused_at_once(alpha: TenantHandle, settings: Any) -> None:
    settings.AUTH_TOKEN_CACHE_SECONDS = 0
    user = make_user(alpha, "leaver@alpha.test", "Employee")
    token = token_for(alpha, user)
    assert _me(alpha, token).status_code == 200
    with tenant_context(alpha.tenant):
        User.objects.filter(pk=user.pk).update(is_active=False)
    assert _me(alpha, token).status_code == 401


def test_a_forgotten_token_is_read_again_and_a_deactivated_user_refused(alpha: TenantHandle) -> None:
    user = make_user(alpha, "mover@alpha.test", "Employee")
    token = token_for(alpha, user)
    assert _me(alpha, token).status_code == 200
    with tenant_context(alpha.tenant):
        User.objects.filter(pk=user.pk).update(is_active=False)
    assert _me(alpha, token).status_code == 200  # remembered: the documented window
    ttl_caches_forget()
    assert _me(alpha, token).status_code == 401
