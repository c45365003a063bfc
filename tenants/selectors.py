"""Reads of the public schema: resolving a host or slug to its tenant, cached per process and in Redis."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.cache import caches

from core.ttlcache import TtlCache
from tenants.models import Domain, Tenant

_MISSING = "__missing__"
_NEGATIVE_SECONDS = 10

_local: TtlCache[str, dict[str, Any] | str] = TtlCache(
    "tenant-lookups", maxsize=50_000, ttl=lambda: settings.TENANT_LOCAL_CACHE_SECONDS
)


def _host_key(host: str) -> str:
    return f"tenant:host:{host}"


def _slug_key(slug: str) -> str:
    return f"tenant:slug:{slug}"


def _cached_lookup(key: str, load: Any) -> Tenant | None:
    value = _local.get(key)
    if value is None:
        shared = caches["shared"]
        value = shared.get(key)
        if value is None:
            tenant = load()
            value = tenant.cache_payload() if tenant is not None else _MISSING
            timeout = settings.TENANT_REDIS_CACHE_SECONDS if tenant is not None else _NEGATIVE_SECONDS
            shared.set(key, value, timeout)
        local_seconds = None if value != _MISSING else min(_NEGATIVE_SECONDS, settings.TENANT_LOCAL_CACHE_SECONDS)
        _local.put(key, value, ttl=local_seconds)
    if value == _MISSING or not isinstance(value, dict):
        return None
    return Tenant.from_cache_payload(value)


def tenant_get_by_host(*, host: str) -> Tenant | None:
    def load() -> Tenant | None:
        domain = Domain.objects.select_related("tenant").filter(domain=host).first()
        return domain.tenant if domain is not None else None

    return _cached_lookup(_host_key(host), load)


def tenant_get_by_slug(*, slug: str) -> Tenant | None:
    return _cached_lookup(_slug_key(slug), lambda: Tenant.objects.filter(slug=slug).first())


def tenant_lookup_forget(*, slug: str, hosts: list[str]) -> None:
    """Drop cached lookups after a tenant or its domains change (other processes follow within seconds)."""
    keys = [_slug_key(slug), *(_host_key(host) for host in hosts)]
    caches["shared"].delete_many(keys)
    for key in keys:
        _local.pop(key)


def tenant_list() -> list[Tenant]:
    return list(Tenant.objects.exclude(schema_name=settings.PUBLIC_SCHEMA_NAME).order_by("slug"))
