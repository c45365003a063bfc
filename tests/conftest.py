"""Fixtures rooted at tenants: two committed tenants for the whole session, and users in each."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import pytest_django.fixtures as pytest_django_fixtures
from django.contrib.auth.models import Group, User
from django.core.cache import caches
from django.test import Client
from django_tenants.utils import schema_context, tenant_context
from rest_framework.authtoken.models import Token

from core.ratelimits import ratelimit_forget
from core.schema import use_public_schema
from core.ttlcache import ttl_caches_forget
from tenants.migration import base_schema_ensure
from tenants.models import Tenant
from tenants.services import tenant_create
from tests.support.tasks import broker_purge

# Tests that work with committed data (real workers, replicas, concurrency) use `django_db_blocker` rather
# than the `db` fixture; pytest-django would not set up the test database for a run made only of those.
_databases_for_setup = pytest_django_fixtures._get_databases_for_setup


def _always_with_default(items: Any) -> tuple[set[str], set[str]]:
    aliases, serialized = _databases_for_setup(items)
    return aliases | {"default"}, serialized


pytest_django_fixtures._get_databases_for_setup = _always_with_default

TENANT_SLUGS = ("alpha", "beta")
PASSWORD = "correct-horse-battery"


@dataclass(frozen=True)
class TenantHandle:
    tenant: Tenant
    host: str
    admin_email: str

    def client(self) -> Client:
        return Client(HTTP_HOST=self.host)


def _ensure_tenant(slug: str) -> TenantHandle:
    tenant = Tenant.objects.filter(slug=slug).first()
    host = f"{slug}.localhost"
    email = f"admin@{slug}.test"
    if tenant is None:
        tenant = tenant_create(
            slug=slug, name=f"{slug.title()} Ltd", domain=host, admin_email=email, admin_password=PASSWORD
        )
        tenant = tenant.tenant
    return TenantHandle(tenant=tenant, host=host, admin_email=email)


@pytest.fixture(scope="session")
def tenants(django_db_setup: None, django_db_blocker: pytest.FixtureRequest) -> dict[str, TenantHandle]:
    with django_db_blocker.unblock():  # type: ignore[attr-defined]
        base_schema_ensure()
        return {slug: _ensure_tenant(slug) for slug in TENANT_SLUGS}


@pytest.fixture(scope="session", autouse=True)
def _redis_test_database() -> Iterator[None]:
    broker_purge()
    yield
    broker_purge()
    # Our own Redis database number: leave it empty for the next run.
    caches["default"].client.get_client(write=True).flushdb()  # type: ignore[attr-defined]


@pytest.fixture(autouse=True)
def _fresh_lookups() -> Iterator[None]:
    ttl_caches_forget()
    ratelimit_forget()
    caches["shared"].clear()
    yield
    use_public_schema()
    # Data keys created inside a rolled-back test must not linger in this process.
    ttl_caches_forget()


@pytest.fixture
def alpha(tenants: dict[str, TenantHandle], db: None) -> TenantHandle:
    return tenants["alpha"]


@pytest.fixture
def beta(tenants: dict[str, TenantHandle], db: None) -> TenantHandle:
    return tenants["beta"]


def make_user(handle: TenantHandle, username: str, *roles: str) -> User:
    with tenant_context(handle.tenant):
        user = User.objects.create_user(username=username, email=username, password=PASSWORD)
        for role in roles:
            user.groups.add(Group.objects.get(name=role))
        return user


def token_for(handle: TenantHandle, user: User) -> str:
    with tenant_context(handle.tenant):
        return str(Token.objects.get_or_create(user=user)[0].key)


def in_public() -> schema_context:
    return schema_context("public")
