"""The in-memory feature cache: hits, the byte bound (LRU), and invalidation."""

from __future__ import annotations

import os
import threading

import torch

from jepa_studio.encoders.base import PatchFeatures
from jepa_studio.encoders.pixels import PixelEncoder
from jepa_studio.encoders.preprocess import Preprocessing
from jepa_studio.engine.feature_cache import FeatureCache, FeatureKey, encoder_identity, features_nbytes


def feats(steps: int = 2, dim: int = 8, cls: bool = False) -> PatchFeatures:
    return PatchFeatures(
        tokens=torch.zeros(steps, 2, 2, dim), frame_indices=tuple((i,) for i in range(steps)), encoder="pixels",
        checkpoint="-", pretrained=True, patch_size=16, tubelet_size=1, input_size=(32, 32), crop_box=(0, 0, 32, 32),
        cls=torch.zeros(steps, dim) if cls else None,
    )


def video_file(tmp_path, content: bytes = b"frames") -> str:
    path = tmp_path / "clip.mp4"
    path.write_bytes(content)
    return str(path)


def test_nbytes_counts_tokens_and_cls() -> None:
    assert features_nbytes(feats(2, 8)) == 2 * 2 * 2 * 8 * 4
    assert features_nbytes(feats(2, 8, cls=True)) == 2 * 2 * 2 * 8 * 4 + 2 * 8 * 4


def test_hit_miss_and_get_or_compute(tmp_path) -> None:
    cache = FeatureCache(max_bytes=10_000)
    key = FeatureKey.create(video_file(tmp_path), PixelEncoder(), [0, 1])
    calls: list[int] = []

    def compute() -> PatchFeatures:
        calls.append(1)
        return feats()

    first = cache.get_or_compute(key, compute)
    second = cache.get_or_compute(key, compute)
    assert first is second and len(calls) == 1
    assert (cache.hits, cache.misses) == (1, 1) and key in cache and cache.nbytes == 256


def test_byte_bound_evicts_least_recently_used(tmp_path) -> None:
    cache = FeatureCache(max_bytes=3 * 256)  # room for three 256-byte entries
    path = video_file(tmp_path)
    keys = [FeatureKey.create(path, PixelEncoder(), [i]) for i in range(4)]
    for k in keys[:3]:
        cache.put(k, feats())
    assert cache.get(keys[0]) is not None  # 0 is now the most recent; 1 the least
    cache.put(keys[3], feats())
    assert keys[1] not in cache and all(k in cache for k in (keys[0], keys[2], keys[3]))
    assert cache.nbytes == 3 * 256 <= cache.max_bytes
    cache.put(keys[0], feats(steps=4))  # replacing an entry updates the size: evicts 2
    assert cache.nbytes == 512 + 256 and keys[2] not in cache
    big = FeatureKey.create(path, PixelEncoder(), [99])
    cache.put(big, feats(steps=100))  # larger than the whole bound: not stored, nothing evicted
    assert big not in cache and len(cache) == 2


def test_keys_change_with_preprocessing_frames_encoder_and_weights(tmp_path) -> None:
    path = video_file(tmp_path)
    base = FeatureKey.create(path, PixelEncoder(), [0, 1])
    assert base == FeatureKey.create(path, PixelEncoder(), [0, 1])
    assert base != FeatureKey.create(path, PixelEncoder(preprocessing=Preprocessing(short_side=128)), [0, 1])
    assert base != FeatureKey.create(path, PixelEncoder(), [0, 2])
    assert base != FeatureKey.create(path, PixelEncoder(tubelet_size=2), [0, 1])
    assert base != FeatureKey.create(path, PixelEncoder(), [0, 1], preprocessing=Preprocessing(mode="crop"))

    class Random:
        name, checkpoint, pretrained = "vjepa2-vitl", "facebook/vjepa2-vitl-fpc64-256", False

        def __init__(self) -> None:
            self.model = object()

    a, b = Random(), Random()
    assert encoder_identity(a) != encoder_identity(b)  # two random initialisations differ
    assert encoder_identity(a) == encoder_identity(a)


def test_changed_file_misses_and_stale_entries_drop(tmp_path) -> None:
    cache = FeatureCache()
    path = video_file(tmp_path, b"old frames")
    old = FeatureKey.create(path, PixelEncoder(), [0])
    cache.put(old, feats())
    with open(path, "wb") as f:
        f.write(b"new, longer frames")
    os.utime(path, ns=(old.mtime_ns + 10**9, old.mtime_ns + 10**9))
    new = FeatureKey.create(path, PixelEncoder(), [0])
    assert new != old and cache.get(new) is None
    assert cache.drop_stale() == 1 and len(cache) == 0


def test_invalidate_by_video_encoder_or_preprocessing(tmp_path) -> None:
    cache = FeatureCache()
    a = video_file(tmp_path)
    other = tmp_path / "other.mp4"
    other.write_bytes(b"x")
    k1 = FeatureKey.create(a, PixelEncoder(), [0])
    k2 = FeatureKey.create(a, PixelEncoder(tubelet_size=2), [0])
    k3 = FeatureKey.create(other, PixelEncoder(), [0])
    for k in (k1, k2, k3):
        cache.put(k, feats())
    assert cache.invalidate(video=a, encoder="pixels") == 1 and k1 not in cache
    assert cache.invalidate(preprocessing=Preprocessing().key()) == 2 and len(cache) == 0 and cache.nbytes == 0


def test_thread_safe_puts(tmp_path) -> None:
    cache = FeatureCache(max_bytes=50 * 256)
    path = video_file(tmp_path)

    def fill(offset: int) -> None:
        for i in range(100):
            cache.put(FeatureKey.create(path, PixelEncoder(), [offset + i]), feats())

    threads = [threading.Thread(target=fill, args=(n * 1000,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(cache) == 50 and cache.nbytes == 50 * 256
