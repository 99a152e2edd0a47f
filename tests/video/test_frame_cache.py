"""The bounded LRU cache."""

from __future__ import annotations

import pytest

from jepa_studio.video.frame_cache import LRUCache


def test_evicts_least_recently_used() -> None:
    cache: LRUCache[int, str] = LRUCache(3)
    for key in (1, 2, 3):
        cache.put(key, str(key))
    assert cache.get(1) == "1"  # 1 becomes most recent
    cache.put(4, "4")  # evicts 2, the least recently used
    assert cache.keys() == [3, 1, 4]
    assert cache.get(2) is None
    cache.put(3, "three")  # overwrite refreshes
    cache.put(5, "5")
    assert cache.keys() == [4, 3, 5] and cache.get(3) == "three"
    assert len(cache) == 3 and (cache.hits, cache.misses) == (2, 1)
    cache.clear()
    assert len(cache) == 0 and 3 not in cache


def test_zero_capacity_stores_nothing() -> None:
    cache: LRUCache[int, int] = LRUCache(0)
    cache.put(1, 1)
    assert len(cache) == 0 and cache.get(1) is None
    with pytest.raises(ValueError):
        LRUCache(-1)
