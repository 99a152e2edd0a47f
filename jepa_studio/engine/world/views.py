"""What a window's world model shows (GPU lane): the decoder's reconstruction of a frame, and
a rollout from a context window ending at the playhead decoded beside the real future.

Both read latents in the mode the model was trained on (see :mod:`.data`), so a model
trained on causal latents is never shown latents that saw the future.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ...world.latent_cache import LatentCache, cached_latents
from ..lane import CancelToken
from .checkpoints import StudioWorld
from .data import load_clips, pendulum_episodes, world_encoder
from .messages import Reconstruction, RolloutView, frozen


def reconstruct(
    engine: Any, cache: LatentCache | None, token: CancelToken, entry: StudioWorld, frames: tuple[int, ...],
    frame: int, device: str, resolution: int | None, rid: int = 0,
) -> Reconstruction:
    """The decoder's reconstruction of source ``frame`` from the latents of the clip ``frames``."""
    world = entry.world
    steps = world.state["decoder"].step
    pixels = np.asarray(engine.clip_pixels(frames))
    token.check()
    with world_encoder(engine, entry.encoder, device, resolution, entry.encode_side) as encoder:
        feats = cached_latents(encoder, pixels, entry.latents, frames, cache)
    grid = tuple(feats.grid[1:])
    if grid != tuple(world.encoder.grid) or feats.dim != world.encoder.dim:
        note = (
            f"this decoder was trained on a {world.encoder.grid[0]}x{world.encoder.grid[1]} token grid, "
            f"the panes' resolution gives {grid[0]}x{grid[1]}: set the resolution it was trained at"
        )
        return Reconstruction(rid, entry.encoder, entry.label, frame, None, feats.crop_box, steps, note)
    t = feats.time_step_of_frame(frame)
    if t is None:
        return Reconstruction(rid, entry.encoder, entry.label, frame, None, feats.crop_box, steps, "frame not in the clip")
    decoded = world.decode_tokens(feats.tokens[t : t + 1])  # [tubelet, H, W, 3]
    j = list(feats.frame_indices[t]).index(frame)
    return Reconstruction(rid, entry.encoder, entry.label, frame, frozen(decoded[j]), feats.crop_box, steps)


def _empty(rid: int, entry: StudioWorld, crop_box: tuple[int, int, int, int], source: str, note: str) -> RolloutView:
    return RolloutView(rid, entry.encoder, entry.label, (), None, None, crop_box, (), source, note)


def rollout(
    engine: Any, cache: LatentCache | None, token: CancelToken, entry: StudioWorld, frame: int,
    device: str, resolution: int | None, episode: int = 0, rid: int = 0,
) -> RolloutView:
    """The :class:`RolloutView` from the context ending at source ``frame`` (of the video, or
    of pendulum ``episode``)."""
    from ...world.decoder import to_uint8_frames
    from ...world.model import prepare_sequence
    from ...world.rollout import decode_rollout
    from ...world.rollout import rollout as roll

    world = entry.world
    if world.transition is None:
        return _empty(rid, entry, (0, 0, 0, 0), "", "this world model has no transition model")
    resolution = entry.resolution if entry.resolution is not None else resolution
    if entry.data.source == "pendulum":
        episodes = pendulum_episodes(entry.data)
        i = min(max(0, episode), len(episodes) - 1)
        ep = episodes[i]
        with world_encoder(engine, entry.encoder, device, resolution, entry.encode_side) as encoder:
            feats = cached_latents(encoder, ep.frames, entry.latents, None, cache)
        pixels, actions, rows = ep.frames, ep.actions, None
        source = f"pendulum episode {i + 1}"
    else:
        clips = load_clips(engine, token, entry.encoder, entry.data, entry.latents, device, resolution, cache,
                           entry.encode_side)
        feats, pixels, actions, rows = clips.features[0], clips.frames[0], None, clips.rows[0]
        source = "video"
    if tuple(feats.grid[1:]) != tuple(world.encoder.grid):
        return _empty(rid, entry, feats.crop_box, source,
                      "the token grid differs from the one this model was trained on: set its resolution")
    seq = prepare_sequence(world, feats, None, actions)
    h, f = world.history, world.frameskip
    covering = [t for t, fi in enumerate(feats.frame_indices) if min(fi) <= frame]
    if not covering:
        return _empty(rid, entry, feats.crop_box, source,
                      f"move the playhead into the trained frames ({feats.frame_indices[0][0]}–{feats.frame_indices[-1][-1]})")
    end = covering[-1]
    start = end - (h - 1) * f
    k = min(entry.horizon, (seq.n_steps - 1 - end) // f)
    if start < 0 or k < 1:
        first_ok = feats.frame_indices[min((h - 1) * f, seq.n_steps - 1)][0]
        last_ok = feats.frame_indices[max(0, seq.n_steps - 1 - f)][-1]
        return _empty(rid, entry, feats.crop_box, source,
                      f"a rollout needs {h} context steps before the playhead and 1 step after: "
                      f"move it between frames {first_ok} and {last_ok}")
    token.check()
    ro = roll(world, seq, start, k)
    decoded = decode_rollout(world, ro)  # [k, tubelet, 3, H, W]
    predicted, real, shown = [], [], []
    for j, covered in enumerate(ro.frame_indices):
        last = len(covered) - 1
        predicted.append(to_uint8_frames(decoded[j : j + 1, last : last + 1])[0])
        src = int(covered[last])
        real.append(pixels[src if rows is None else rows[src]])
        shown.append(src)
    note = "" if k == entry.horizon else f"only {k} of {entry.horizon} steps fit before the end of the data"
    context = tuple(int(i) for s in ro.context_steps for i in feats.frame_indices[s])
    return RolloutView(
        rid, entry.encoder, entry.label, tuple(shown), frozen(np.stack(predicted)), frozen(np.stack(real)),
        feats.crop_box, context, source, note,
    )
