"""A small bounded least-recently-used cache (decoded frames keyed by frame index)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Generic, Hashable, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class LRUCache(Generic[K, V]):
    """A mapping that keeps at most ``capacity`` entries, evicting the least recently used.

    ``get`` and ``put`` both count as a use. A capacity of 0 disables the cache: ``put``
    stores nothing and ``get`` always misses. Safe to share between threads.

    Parameters
    ----------
    capacity:
        Maximum number of entries kept (>= 0).
    """

    def __init__(self, capacity: int) -> None:
        if capacity < 0:
            raise ValueError(f"cache capacity must be >= 0, got {capacity}")
        self._capacity = int(capacity)
        self._items: OrderedDict[K, V] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    @property
    def capacity(self) -> int:
        """The most entries the cache holds."""
        return self._capacity

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, key: object) -> bool:
        return key in self._items

    def get(self, key: K) -> V | None:
        """The value stored under ``key`` (marking it most recently used), else None."""
        with self._lock:
            try:
                self._items.move_to_end(key)
            except KeyError:
                self.misses += 1
                return None
            self.hits += 1
            return self._items[key]

    def put(self, key: K, value: V) -> None:
        """Store ``value`` under ``key`` as the most recently used entry; evict if full."""
        if self._capacity == 0:
            return
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self._capacity:
                self._items.popitem(last=False)

    def keys(self) -> list[K]:
        """The keys, least recently used first."""
        with self._lock:
            return list(self._items)

    def clear(self) -> None:
        """Drop every entry (the hit and miss counters are kept)."""
        with self._lock:
            self._items.clear()
