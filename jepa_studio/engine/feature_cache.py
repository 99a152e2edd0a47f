"""An in-memory LRU cache of PatchFeatures, bounded in bytes (no Qt).

Keys name everything the features depend on: the video file (path, modification time and
size, so an edited file is a different key), the encoder (registry name, checkpoint,
whether its weights are pretrained, and for random weights which instance built them), the
preprocessing (``Preprocessing.key()``), the layer read (and whether the final norm was
applied) and the source frame indices. Thread-safe: the
engine's worker thread fills it while the GUI thread reads it.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Callable, Sequence

from ..encoders.base import Encoder, PatchFeatures
from ..encoders.preprocess import Preprocessing


def encoder_identity(encoder: Encoder) -> tuple[str, str, str]:
    """(name, checkpoint, weights) naming an encoder's outputs.

    ``weights`` is ``"pretrained"``; for random weights it also names the instance, since
    two random initialisations of one architecture give different features.
    """
    pretrained = bool(getattr(encoder, "pretrained", True))
    weights = "pretrained" if pretrained else f"random-{id(getattr(encoder, 'model', encoder)):x}"
    return str(encoder.name), str(encoder.checkpoint), weights


@dataclass(frozen=True)
class FeatureKey:
    """What a cached PatchFeatures was computed from."""

    video: str
    mtime_ns: int
    size: int
    encoder: str
    checkpoint: str
    weights: str
    preprocessing: str
    frames: tuple[int, ...]
    reading: str = "last/normed"

    @classmethod
    def create(
        cls,
        video: str | os.PathLike[str],
        encoder: Encoder,
        frames: Sequence[int],
        preprocessing: Preprocessing | None = None,
    ) -> "FeatureKey":
        """The key for ``encoder`` on ``frames`` of ``video`` (stat'ed now).

        ``preprocessing`` defaults to ``encoder.preprocessing``.
        """
        path = os.path.abspath(os.fspath(video))
        try:
            st = os.stat(path)
            mtime, size = st.st_mtime_ns, st.st_size
        except OSError:
            mtime, size = -1, -1
        prep = preprocessing if preprocessing is not None else getattr(encoder, "preprocessing", None)
        name, checkpoint, weights = encoder_identity(encoder)
        return cls(
            video=path,
            mtime_ns=mtime,
            size=size,
            encoder=name,
            checkpoint=checkpoint,
            weights=weights,
            preprocessing=prep.key() if prep is not None else "-",
            frames=tuple(int(i) for i in frames),
            reading=f"{getattr(encoder, 'layer', 'last')}/{'normed' if getattr(encoder, 'final_norm', True) else 'raw'}",
        )


def features_nbytes(feats: PatchFeatures) -> int:
    """Bytes held by a PatchFeatures' tensors."""
    total = feats.tokens.numel() * feats.tokens.element_size()
    if feats.cls is not None:
        total += feats.cls.numel() * feats.cls.element_size()
    return int(total)


class FeatureCache:
    """LRU cache FeatureKey -> PatchFeatures holding at most ``max_bytes`` of tensors.

    An item larger than the whole bound is not stored. ``hits`` and ``misses`` count
    lookups; ``nbytes`` is the current size.
    """

    def __init__(self, max_bytes: int = 2 * 2**30) -> None:
        if max_bytes < 0:
            raise ValueError("max_bytes must be >= 0")
        self.max_bytes = int(max_bytes)
        self._items: OrderedDict[FeatureKey, tuple[PatchFeatures, int]] = OrderedDict()
        self._lock = threading.RLock()
        self.nbytes = 0
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)

    def __contains__(self, key: object) -> bool:
        with self._lock:
            return key in self._items

    def get(self, key: FeatureKey) -> PatchFeatures | None:
        """The cached features (now most recently used), or None; counts a hit or a miss."""
        with self._lock:
            item = self._items.get(key)
            if item is None:
                self.misses += 1
                return None
            self._items.move_to_end(key)
            self.hits += 1
            return item[0]

    def put(self, key: FeatureKey, feats: PatchFeatures) -> None:
        """Store ``feats``, evicting least recently used entries beyond the byte bound."""
        size = features_nbytes(feats)
        with self._lock:
            self._drop(key)
            if size > self.max_bytes:
                return
            self._items[key] = (feats, size)
            self.nbytes += size
            while self.nbytes > self.max_bytes:
                self._drop(next(iter(self._items)))

    def get_or_compute(self, key: FeatureKey, compute: Callable[[], PatchFeatures]) -> PatchFeatures:
        """The cached features for ``key``, else ``compute()`` stored and returned."""
        feats = self.get(key)
        if feats is None:
            feats = compute()
            self.put(key, feats)
        return feats

    def _drop(self, key: FeatureKey) -> None:
        item = self._items.pop(key, None)
        if item is not None:
            self.nbytes -= item[1]

    def invalidate(
        self,
        *,
        video: str | os.PathLike[str] | None = None,
        encoder: str | None = None,
        preprocessing: str | None = None,
    ) -> int:
        """Drop every entry matching all given fields (all entries if none given); returns how many."""
        path = os.path.abspath(os.fspath(video)) if video is not None else None
        with self._lock:
            doomed = [
                k
                for k in self._items
                if (path is None or k.video == path)
                and (encoder is None or k.encoder == encoder)
                and (preprocessing is None or k.preprocessing == preprocessing)
            ]
            for k in doomed:
                self._drop(k)
            return len(doomed)

    def drop_stale(self) -> int:
        """Drop entries whose video file changed (or vanished) since they were computed."""
        with self._lock:
            doomed = []
            for k in self._items:
                try:
                    st = os.stat(k.video)
                    if (st.st_mtime_ns, st.st_size) != (k.mtime_ns, k.size):
                        doomed.append(k)
                except OSError:
                    doomed.append(k)
            for k in doomed:
                self._drop(k)
            return len(doomed)

    def clear(self) -> None:
        """Drop everything (the counters stay)."""
        with self._lock:
            self._items.clear()
            self.nbytes = 0
