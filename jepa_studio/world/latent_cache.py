"""A cache of world-model latents, so a comparison (or the window) encodes each clip once.

Keys name the encoder (name, checkpoint and preprocessing), the latent mode and the clip
(a digest of its frames and frame indices); entries are evicted oldest first beyond
``max_bytes``.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from typing import Any, Sequence

import numpy as np

from ..encoders.base import PatchFeatures
from .latents import encode_latents


def clip_digest(frames: np.ndarray, frame_indices: Sequence[int] | None = None) -> str:
    """A digest of uint8 frames [T, H, W, 3] and their source indices."""
    h = hashlib.blake2b(digest_size=16)
    h.update(repr((frames.shape, str(frames.dtype))).encode())
    h.update(np.ascontiguousarray(frames).data)
    if frame_indices is not None:
        h.update(np.asarray(list(frame_indices), np.int64).tobytes())
    return h.hexdigest()


def encoder_key(encoder: Any) -> str:
    """What makes two encoders give the same latents: name, checkpoint, preprocessing,
    window and the layer read (with or without the final norm)."""
    prep = getattr(encoder, "preprocessing", None)
    prep_key = prep.key() if hasattr(prep, "key") else repr(prep)
    layer = f"{getattr(encoder, 'layer', 'last')}:{getattr(encoder, 'final_norm', True)}"
    return (
        f"{getattr(encoder, 'name', '?')}|{getattr(encoder, 'checkpoint', '?')}|{prep_key}|"
        f"{getattr(encoder, 'window', '')}|{layer}"
    )


def cached_latents(
    encoder: Any,
    frames: np.ndarray,
    mode: str,
    frame_indices: Sequence[int] | None = None,
    cache: "LatentCache | None" = None,
) -> PatchFeatures:
    """:func:`~.latents.encode_latents` of uint8 frames [T, H, W, 3], read from and written
    to ``cache`` when one is given (keyed by encoder, mode and the frames' digest)."""
    key = (encoder_key(encoder), mode, clip_digest(frames, frame_indices))
    feats = cache.get(key) if cache is not None else None
    if feats is None:
        feats = encode_latents(encoder, frames, mode, frame_indices)
        if cache is not None:
            cache.put(key, feats)
    return feats


class LatentCache:
    """Latents by (encoder key, mode, clip digest); thread-safe; bounded by ``max_bytes``."""

    def __init__(self, max_bytes: int = 2 << 30) -> None:
        self.max_bytes = int(max_bytes)
        self._items: OrderedDict[tuple[str, str, str], PatchFeatures] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    @staticmethod
    def _size(features: PatchFeatures) -> int:
        return int(features.tokens.numel() * features.tokens.element_size())

    def get(self, key: tuple[str, str, str]) -> PatchFeatures | None:
        with self._lock:
            value = self._items.get(key)
            if value is None:
                self.misses += 1
                return None
            self._items.move_to_end(key)
            self.hits += 1
            return value

    def put(self, key: tuple[str, str, str], features: PatchFeatures) -> None:
        with self._lock:
            self._items[key] = features
            self._items.move_to_end(key)
            total = sum(self._size(f) for f in self._items.values())
            while total > self.max_bytes and len(self._items) > 1:
                _, old = self._items.popitem(last=False)
                total -= self._size(old)

    def __len__(self) -> int:
        return len(self._items)
