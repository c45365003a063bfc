"""Per-process caches with a time to live and a size bound, all forgotten at once by `ttl_caches_forget`.

Every process-memory cache of the product is a `TtlCache` (one lock each, built on cachetools' TLRUCache), so
that there is one way to bound them, to expire them and to empty them (tests, an operator's shell).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Hashable
from typing import Any, Generic, TypeVar

from cachetools import TLRUCache

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

Seconds = float | Callable[[], float] | None

_registry: list[TtlCache[Any, Any]] = []
_registry_lock = threading.Lock()


class TtlCache(Generic[K, V]):
    """A bounded mapping whose entries expire `ttl` seconds after they were put (never when `ttl` is None).

    `ttl` may be a callable read at each put, so a setting changed at run time (or by a test) applies to the
    next entry. When full, the least recently used entry goes first.
    """

    def __init__(self, name: str, *, maxsize: int, ttl: Seconds, timer: Callable[[], float] = time.monotonic) -> None:
        self.name = name
        self._ttl = ttl
        self._lock = threading.Lock()
        self._entries: TLRUCache[K, tuple[V, float]] = TLRUCache(maxsize, self._expires, timer=timer)
        with _registry_lock:
            _registry.append(self)

    @staticmethod
    def _expires(_key: K, entry: tuple[V, float], now: float) -> float:
        return now + entry[1]

    def _seconds(self, ttl: float | None) -> float:
        if ttl is not None:
            return ttl
        if self._ttl is None:
            return math.inf
        return float(self._ttl() if callable(self._ttl) else self._ttl)

    def get(self, key: K) -> V | None:
        with self._lock:
            entry = self._entries.get(key)
        return None if entry is None else entry[0]

    def put(self, key: K, value: V, *, ttl: float | None = None) -> None:
        """Remember `value`; `ttl` overrides the cache's own for this entry (e.g. shorter for a negative answer)."""
        seconds = self._seconds(ttl)
        with self._lock:
            if seconds <= 0:
                self._entries.pop(key, None)
                return
            self._entries[key] = (value, seconds)

    def get_or_put(self, key: K, load: Callable[[], V]) -> V:
        """The cached value, or `load()` remembered. Two threads may both load; the last one put wins."""
        found = self.get(key)
        if found is not None:
            return found
        value = load()
        self.put(key, value)
        return value

    def pop(self, key: K) -> None:
        with self._lock:
            self._entries.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        with self._lock:
            self._entries.expire()
            return len(self._entries)


def ttl_caches_forget() -> None:
    """Empty every per-process cache (tests between cases; a shell after changing data behind the caches)."""
    with _registry_lock:
        caches = list(_registry)
    for cache in caches:
        cache.clear()
