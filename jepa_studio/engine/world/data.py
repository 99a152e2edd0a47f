"""The data a window's world model trains and rolls out on: one encoder's latents of the
open video's frames (a range) or of pendulum episodes, with the frames and actions they came
from. Latents come from :func:`~jepa_studio.world.latents.encode_latents` in the run's
latent mode (causal by default: no step's tokens saw a later frame), through one
:class:`~jepa_studio.world.latent_cache.LatentCache`, so training, rollouts and the
comparison encode a clip once."""

from __future__ import annotations

import dataclasses
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Iterator

import numpy as np

from ...encoders.preprocess import Preprocessing
from ...errors import UsageError, VideoError
from ...state.world import DataSpec
from ...world.latent_cache import LatentCache, cached_latents
from ..lane import CancelToken


@dataclass
class WorldClips:
    """One encoder's latents of the data (one per clip), with the clips' uint8 frames
    [T, H, W, 3], actions float [T, A] (or None) and ``rows`` (source frame -> row of
    ``frames``; None when rows are source frames)."""

    features: list
    frames: list[np.ndarray]
    actions: list[np.ndarray | None]
    rows: list[dict[int, int] | None]


def pendulum_episodes(data: DataSpec) -> list[Any]:
    from ...video.pendulum import pendulum_dataset

    return pendulum_dataset(data.episodes, data.episode_frames, seed=data.seed, size=data.size)


@contextmanager
def world_encoder(engine: Any, name: str, device: str, resolution: int | None, short_side: int | None) -> Iterator[Any]:
    """The engine's loaded encoder ``name`` (the panes' instance: no second copy), read at its
    own output and encoding frames at ``short_side`` while the block runs (GPU lane: no pane
    job runs meanwhile); its layer and preprocessing are the panes' again afterwards."""
    from ..models import read_default

    encoder = engine.encoder(name, device, resolution)
    read_default(encoder)
    prep = getattr(encoder, "preprocessing", None)
    if short_side and isinstance(prep, Preprocessing):
        encoder.preprocessing = dataclasses.replace(prep, mode="full", short_side=int(short_side))
    try:
        yield encoder
    finally:
        if isinstance(prep, Preprocessing):
            encoder.preprocessing = prep


def load_clips(
    engine: Any, token: CancelToken, name: str, data: DataSpec, mode: str,
    device: str, resolution: int | None, cache: LatentCache | None, short_side: int | None = None,
) -> WorldClips:
    """Encoder ``name``'s latents (``mode``) of ``data``, frames encoded at ``short_side`` (GPU
    lane; the engine's loaded encoder)."""
    with world_encoder(engine, name, device, resolution, short_side) as encoder:
        return _load_clips(engine, token, encoder, data, mode, cache)


def _load_clips(engine: Any, token: CancelToken, encoder: Any, data: DataSpec, mode: str,
                cache: LatentCache | None) -> WorldClips:
    if data.source == "pendulum":
        episodes = pendulum_episodes(data)
        feats = []
        for ep in episodes:
            token.check()
            feats.append(cached_latents(encoder, ep.frames, mode, None, cache))
        return WorldClips(feats, [ep.frames for ep in episodes], [ep.actions for ep in episodes], [None] * len(episodes))
    src = engine.source()  # once: latents and pixels come from the same video
    if src is None:
        raise VideoError("open a video first, or train on the pendulum")
    frames = data.frames(len(src))
    if len(frames) < 2:
        raise UsageError(f"the frame range {data.start}:{data.stop}:{data.step} holds fewer than 2 frames of this video")
    pixels = engine.clip_pixels(frames, source=src)
    token.check()
    feats = cached_latents(encoder, np.asarray(pixels), mode, frames, cache)
    return WorldClips([feats], [pixels], [None], [{f: i for i, f in enumerate(frames)}])
