"""The per-process TTL cache: entries expire, the cache stays bounded, and one call forgets every cache."""

from __future__ import annotations

from core.ttlcache import TtlCache, ttl_caches_forget


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_an_entry_expires_after_its_ttl_and_a_per_entry_ttl_overrides_the_caches() -> None:
    clock = Clock()
    cache: TtlCache[str, str] = TtlCache("test-expiry", maxsize=10, ttl=5, timer=clock)
    cache.put("long", "a")
    cache.put("short", "b", ttl=1)
    clock.now = 1.5
    assert (cache.get("long"), cache.get("short")) == ("a", None)
    clock.now = 5.5
    assert cache.get("long") is None


def test_a_callable_ttl_is_read_at_each_put_and_zero_means_not_cached() -> None:
    seconds = {"ttl": 10.0}
    clock = Clock()
    cache: TtlCache[str, int] = TtlCache("test-callable", maxsize=10, ttl=lambda: seconds["ttl"], timer=clock)
    cache.put("a", 1)
    seconds["ttl"] = 0
    cache.put("b", 2)
    assert (cache.get("a"), cache.get("b")) == (1, None)


def test_it_evicts_the_least_recently_used_entry_when_full() -> None:
    cache: TtlCache[str, int] = TtlCache("test-bound", maxsize=2, ttl=None)
    cache.put("a", 1)
    cache.put("b", 2)
    assert cache.get("a") == 1
    cache.put("c", 3)
    assert (cache.get("a"), cache.get("b"), cache.get("c")) == (1, None, 3)
    assert len(cache) == 2


def test_get_or_put_loads_once_and_forgetting_every_cache_empties_them_all() -> None:
    first: TtlCache[str, int] = TtlCache("test-forget-1", maxsize=10, ttl=None)
    second: TtlCache[str, int] = TtlCache("test-forget-2", maxsize=10, ttl=60)
    loads: list[str] = []

    def load() -> int:
        loads.append("x")
        return 7

    assert first.get_or_put("k", load) == first.get_or_put("k", load) == 7
    assert loads == ["x"]
    second.put("k", 1)
    ttl_caches_forget()
    assert (first.get("k"), second.get("k")) == (None, None)
