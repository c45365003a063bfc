"""Every intelligence test starts with closed breakers, fresh rate-limit windows and no cached models."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.core.cache import caches
from django_redis import get_redis_connection

from core.ttlcache import ttl_caches_forget
from intelligence.predictor import breaker_namespace
from tenants.services import schema_name_for
from tests.conftest import TENANT_SLUGS


def _forget_shared_state() -> None:
    redis = get_redis_connection("default")
    for slug in TENANT_SLUGS:
        keys = list(redis.scan_iter(f"{breaker_namespace(schema_name_for(slug))}:*"))
        if keys:
            redis.delete(*keys)
    caches["ratelimit"].delete_pattern("*")  # type: ignore[attr-defined]
    ttl_caches_forget()


@pytest.fixture(autouse=True)
def _fresh_ml_state() -> Iterator[None]:
    _forget_shared_state()
    yield
    _forget_shared_state()
