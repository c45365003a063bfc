"""Per-request signal work the web process skips, and why it may."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.cache import close_caches
from django.core.signals import request_finished

import hrms.request_context  # noqa: F401  # connects and disconnects the receivers under test


def test_caches_are_not_closed_after_each_request_because_every_cache_keeps_its_pool() -> None:
    sync_receivers, async_receivers = request_finished._live_receivers(None)
    assert close_caches not in [*sync_receivers, *async_receivers]
    # Safe only while every cache is django-redis with its close() a no-op; another backend needs the walk back.
    assert {cache["BACKEND"] for cache in settings.CACHES.values()} == {"django_redis.cache.RedisCache"}
    assert not getattr(settings, "DJANGO_REDIS_CLOSE_CONNECTION", False)
    caches: dict[str, dict[str, Any]] = settings.CACHES
    assert not any(cache.get("OPTIONS", {}).get("CLOSE_CONNECTION") for cache in caches.values())
