"""A bounded least-recently-used cache: at most N entries and at most B bytes.

Decoded frames are big (a 4K RGB frame is 24.9 MB), so a cache bounded by entries alone can
hold gigabytes; bound it by bytes too. The size of an entry is measured by ``size_of``
(default :func:`nbytes_of`: the bytes of the numpy arrays / torch tensors it holds).
"""

from __future__ import annotations

import dataclasses
import threading
from collections import OrderedDict
from typing import Callable, Generic, Hashable, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

#: default budget of a video's frame cache: what a desktop spares for scrubbing back and forth
#: (20 frames of 4K, 85 of 1080p; the entry bound of 64 frames applies first below that)
DEFAULT_FRAME_CACHE_MB = 512.0

_MAX_DEPTH = 4


def nbytes_of(value: object, _depth: int = 0) -> int:
    """Bytes held by ``value``'s arrays: ``.nbytes`` of numpy arrays and torch tensors, summed
    over tuples, lists, dict values and dataclass fields (4 levels deep); 0 for anything else.

    >>> import numpy as np
    >>> nbytes_of((np.zeros((4, 4, 3), np.uint8), [np.zeros(2)]))
    64
    """
    nbytes = getattr(value, "nbytes", None)
    if isinstance(nbytes, int):
        return nbytes
    if _depth >= _MAX_DEPTH:
        return 0
    if isinstance(value, dict):
        return sum(nbytes_of(v, _depth + 1) for v in value.values())
    if isinstance(value, (tuple, list)):
        return sum(nbytes_of(v, _depth + 1) for v in value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return sum(nbytes_of(getattr(value, f.name), _depth + 1) for f in dataclasses.fields(value))
    return 0


def megabytes(mb: float) -> int:
    """``mb`` megabytes (MiB) in bytes; raises ValueError for a negative or non-finite budget."""
    if not mb >= 0 or mb == float("inf"):
        raise ValueError(f"a cache budget must be a finite number of MB >= 0, got {mb}")
    return int(mb * 2**20)


class LRUCache(Generic[K, V]):
    """A mapping that keeps at most ``capacity`` entries and ``max_bytes`` bytes, evicting the
    least recently used.

    ``get`` and ``put`` both count as a use. A bound of 0 disables the cache: ``put`` stores
    nothing and ``get`` always misses. An entry bigger than ``max_bytes`` on its own is not
    stored. Safe to share between threads.

    Parameters
    ----------
    capacity:
        Most entries kept (>= 0), or None for no bound on the count.
    max_bytes:
        Most bytes kept (>= 0) as measured by ``size_of``, or None for no bound on bytes.
    size_of:
        Bytes of one value (default :func:`nbytes_of`).
    """

    def __init__(self, capacity: int | None = None, *, max_bytes: int | float | None = None, size_of: Callable[[V], int] = nbytes_of) -> None:
        if capacity is not None and capacity < 0:
            raise ValueError(f"cache capacity must be >= 0, got {capacity}")
        if max_bytes is not None and not max_bytes >= 0:
            raise ValueError(f"cache max_bytes must be >= 0, got {max_bytes}")
        self._capacity = None if capacity is None else int(capacity)
        self._max_bytes = None if max_bytes is None else int(max_bytes)
        self._size_of = size_of
        self._items: OrderedDict[K, tuple[V, int]] = OrderedDict()
        self._nbytes = 0
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    @property
    def capacity(self) -> int | None:
        """The most entries the cache holds (None: no bound on the count)."""
        return self._capacity

    @property
    def max_bytes(self) -> int | None:
        """The most bytes the cache holds (None: no bound on bytes)."""
        return self._max_bytes

    @property
    def nbytes(self) -> int:
        """Bytes held now (the sum of ``size_of`` over the entries)."""
        return self._nbytes

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
            return self._items[key][0]

    def put(self, key: K, value: V) -> None:
        """Store ``value`` under ``key`` as the most recently used entry; evict to fit.

        A value bigger than the whole byte budget is not stored (an older value under
        ``key`` is dropped)."""
        size = int(self._size_of(value))
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._nbytes -= old[1]
            if self._capacity == 0 or self._max_bytes == 0 or (self._max_bytes is not None and size > self._max_bytes):
                return
            self._items[key] = (value, size)
            self._nbytes += size
            while (self._capacity is not None and len(self._items) > self._capacity) or (
                self._max_bytes is not None and self._nbytes > self._max_bytes
            ):
                _, (_, dropped) = self._items.popitem(last=False)
                self._nbytes -= dropped

    def keys(self) -> list[K]:
        """The keys, least recently used first."""
        with self._lock:
            return list(self._items)

    def clear(self) -> None:
        """Drop every entry (the hit and miss counters are kept)."""
        with self._lock:
            self._items.clear()
            self._nbytes = 0
