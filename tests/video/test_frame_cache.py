"""The bounded LRU cache: by entries and by bytes."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import torch

from video_samples import make_video
from jepa_studio.errors import UsageError
from jepa_studio.video import open_video
from jepa_studio.video.frame_cache import DEFAULT_FRAME_CACHE_MB, LRUCache, nbytes_of


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


FRAME_4K = (2160, 3840, 3)  # 24,883,200 bytes


def test_a_byte_budget_bounds_4k_frames() -> None:
    budget = 100 * 2**20
    cache: LRUCache[int, np.ndarray] = LRUCache(64, max_bytes=budget)
    frame_bytes = int(np.prod(FRAME_4K))
    for k in range(12):
        cache.put(k, np.zeros(FRAME_4K, np.uint8))  # calloc: the pages are never touched
        assert cache.nbytes <= budget
        assert len(cache) == min(k + 1, 4) and cache.nbytes == len(cache) * frame_bytes
    assert cache.keys() == [8, 9, 10, 11]
    # a smaller frame evicts only as much as it needs
    cache.get(8)
    cache.put(99, np.zeros((1080, 1920, 3), np.uint8))
    assert cache.keys() == [10, 11, 8, 99] and cache.nbytes <= budget


def test_an_entry_bigger_than_the_budget_is_not_kept() -> None:
    cache: LRUCache[str, np.ndarray] = LRUCache(max_bytes=10 * 2**20)
    cache.put("a", np.zeros((100, 100, 3), np.uint8))
    cache.put("a", np.zeros(FRAME_4K, np.uint8))  # the stale small value goes too
    assert "a" not in cache and len(cache) == 0 and cache.nbytes == 0
    overwritten: LRUCache[str, np.ndarray] = LRUCache(max_bytes=1000)
    overwritten.put("b", np.zeros(600, np.uint8))
    overwritten.put("b", np.zeros(300, np.uint8))
    assert overwritten.nbytes == 300


def test_sizes_of_composite_values() -> None:
    @dataclass
    class Rendered:
        image: np.ndarray
        tokens: torch.Tensor
        label: str

    value = Rendered(np.zeros((10, 10, 3), np.uint8), torch.zeros(4, 8), "x")
    assert nbytes_of(value) == 300 + 128
    assert nbytes_of({"a": [value, (np.zeros(5, np.float64),)]}) == 300 + 128 + 40
    assert nbytes_of("text") == 0
    cache: LRUCache[int, Rendered] = LRUCache(max_bytes=1000)
    for k in range(5):
        cache.put(k, value)
    assert len(cache) == 2 and cache.nbytes == 856


def test_a_video_frame_cache_keeps_to_its_megabytes(tmp_path: Path) -> None:
    path = make_video(tmp_path / "vga.mp4", n=12, width=320, height=240)  # 230,400 bytes a frame
    with open_video(path, cache_mb=1.0) as video:
        assert video.cache.max_bytes == 2**20
        for i in range(12):
            video[i]
            assert video.cache.nbytes <= 2**20 and len(video.cache) <= 4
        assert video.cache.keys() == [8, 9, 10, 11]
    with open_video(path) as video:
        assert video.cache.max_bytes == DEFAULT_FRAME_CACHE_MB * 2**20
    with pytest.raises(UsageError):
        open_video(path, cache_mb=-1)
