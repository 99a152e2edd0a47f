"""World-model latents: how they are encoded (without seeing the future), per-encoder
normalisation, held-out splits, windows and actions.

A *latent sequence* is one encoder's tokens of one clip, float [T', h, w, D], with
``frame_indices[t]`` the source frames time step ``t`` covers (see
:class:`~jepa_studio.encoders.base.PatchFeatures`). :func:`encode_latents` is the one way
to get them: a video encoder's attention runs both ways inside its window, so anything that
predicts the future must use latents that saw no later frame (``"causal"`` or
``"per-frame"``); the bidirectional ``"window"`` mode is kept as a labelled reference.
Models in :mod:`jepa_studio.world` see latents normalised per channel with
:class:`LatentStats` computed on training frames only.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any, Sequence

import numpy as np
import torch

from ..encoders.base import PatchFeatures
from ..errors import UsageError

#: how :func:`encode_latents` may encode a clip
LATENT_MODES = ("causal", "per-frame", "window")
#: frames per pass of a video encoder that does not say (V-JEPA 2's default window)
DEFAULT_WINDOW = 16

#: the std floor, as a fraction of the mean channel variance, so constant channels
#: (a flat background patch of the pixel baseline) do not blow up
STD_FLOOR = 0.01


@dataclass(frozen=True)
class LatentStats:
    """Per-channel mean and std of one encoder's latents (training frames only).

    Attributes
    ----------
    mean, std: float32 tensors [D].
    variance: float, the mean per-channel variance of the raw latents (the denominator of
        the normalised MSE).
    """

    mean: torch.Tensor
    std: torch.Tensor
    variance: float

    @classmethod
    def fit(cls, latents: Sequence[torch.Tensor]) -> "LatentStats":
        """Fit on tensors [..., D] (e.g. several [T', h, w, D] sequences)."""
        flat = torch.cat([z.reshape(-1, z.shape[-1]).double() for z in latents], dim=0)
        mean = flat.mean(0)
        var = flat.var(0, unbiased=False)
        avg = float(var.mean())
        std = torch.sqrt(var + STD_FLOOR * max(avg, 1e-12))
        return cls(mean.float(), std.float(), avg)

    def normalize(self, z: torch.Tensor) -> torch.Tensor:
        """Raw latents [..., D] -> normalised (zero mean, about unit std per channel)."""
        return (z - self.mean.to(z)) / self.std.to(z)

    def denormalize(self, z: torch.Tensor) -> torch.Tensor:
        """Normalised latents [..., D] -> raw."""
        return z * self.std.to(z) + self.mean.to(z)

    @property
    def dim(self) -> int:
        return int(self.mean.shape[0])


def split_point(n_steps: int, val_fraction: float) -> int:
    """Index of the first held-out time step: the last ``val_fraction`` of ``n_steps`` are held out."""
    if not 0.0 <= val_fraction < 1.0:
        raise UsageError(f"the held-out fraction must be in [0, 1), not {val_fraction}")
    n_val = int(round(n_steps * val_fraction))
    return n_steps - n_val


def window_starts(
    n_steps: int,
    length: int,
    frameskip: int,
    n_context: int = 1,
    first_target: int = 0,
    last_target: int | None = None,
) -> list[int]:
    """Start steps ``s`` of windows ``s, s+f, ..., s+(length-1)f`` inside ``[0, n_steps)``.

    Only windows whose predicted steps (window positions ``>= n_context``) all lie in
    ``[first_target, last_target)`` are kept (``last_target`` defaults to ``n_steps``); the
    context may lie before ``first_target``.
    """
    last_target = n_steps if last_target is None else last_target
    span = (length - 1) * frameskip
    return [
        s
        for s in range(0, n_steps - span)
        if s + n_context * frameskip >= first_target and s + span < last_target
    ]


def step_actions(
    actions: np.ndarray | torch.Tensor,
    frame_indices: Sequence[Sequence[int]],
    frameskip: int,
) -> torch.Tensor:
    """Actions per latent transition ``t -> t + frameskip``.

    The transition's action is the actions of the source frames from the last frame of
    step ``t`` (inclusive) to the last frame of step ``t + frameskip`` (exclusive),
    concatenated: ``frameskip * tubelet`` frames for a full step. ``actions[i]`` is the
    action applied between frame ``i`` and frame ``i + 1``.

    Parameters
    ----------
    actions: float [T, A], one action per source frame (indexed by source frame index).
    frame_indices: per latent step, the source frames it covers.
    frameskip: latent steps per transition.

    Returns
    -------
    float32 tensor [T', frameskip * tubelet * A]; rows for the last ``frameskip`` steps
    (which have no successor) repeat the final available actions.
    """
    a = torch.as_tensor(np.asarray(actions), dtype=torch.float32)
    if a.ndim == 1:
        a = a[:, None]
    n = len(frame_indices)
    tubelet = max(len(f) for f in frame_indices)
    width = frameskip * tubelet
    last = [max(f) for f in frame_indices]
    rows = []
    for t in range(n):
        start = last[t]
        stop = last[t + frameskip] if t + frameskip < n else start + width
        idx = list(range(start, stop))[:width]
        idx += [idx[-1] if idx else start] * (width - len(idx))
        idx = [min(max(i, 0), a.shape[0] - 1) for i in idx]
        rows.append(a[idx].reshape(-1))
    return torch.stack(rows)


# ---------------------------------------------------------------- encoding without the future


@dataclass(frozen=True)
class LatentFeatures(PatchFeatures):
    """:class:`PatchFeatures` of world-model latents, with how they were encoded.

    Attributes
    ----------
    mode: ``"causal"``, ``"per-frame"`` or ``"window"`` (see :func:`encode_latents`).
    future_frames: the most source frames *after* the last frame of its own time step that
        any step's tokens have seen (0 for causal and per-frame latents).
    context_frames: the most source frames one pass saw (the causal window's length).
    """

    mode: str = "causal"
    future_frames: int = 0
    context_frames: int = 1

    @property
    def mode_label(self) -> str:
        """``"causal"``, ``"per-frame"`` or ``"window (sees up to N future frames)"``."""
        return latent_mode_label(self.mode, self.future_frames)


def latent_mode_label(mode: str, future_frames: int) -> str:
    """How a report names a latent mode: a mode that saw the future says how far."""
    if future_frames > 0:
        return f"{mode} (sees up to {future_frames} future frames)"
    if mode == "window":  # an encoder that never mixes frames: its windows are causal anyway
        return "window (no future frames: this encoder does not mix frames)"
    return mode


def mixes_time(encoder: Any) -> bool:
    """True when one time step's tokens can depend on frames of other steps (a video
    encoder's attention over its window). Image encoders (one token grid per frame) and
    the pixel baselines do not; an encoder may say so with a ``mixes_time`` attribute."""
    explicit = getattr(encoder, "mixes_time", None)
    if explicit is not None:
        return bool(explicit)
    from ..encoders.pixels import PixelEncoder

    if isinstance(encoder, PixelEncoder):
        return False
    return int(encoder.tubelet_size) > 1


def _window(encoder: Any) -> int:
    """Frames per causal pass: the encoder's window (a multiple of its tubelet size)."""
    k = int(encoder.tubelet_size)
    window = int(getattr(encoder, "window", DEFAULT_WINDOW) or DEFAULT_WINDOW)
    return max(k, window // k * k)


def _latent(features: PatchFeatures, **extra: Any) -> LatentFeatures:
    base = {f.name: getattr(features, f.name) for f in fields(PatchFeatures)}
    return LatentFeatures(**{**base, **extra})


class _Passes:
    """Encode many short clips of one video, each in its own pass.

    Uses the encoder's batched forward (``prepare`` + ``forward_windows``, as V-JEPA 2 has)
    when it has one: frames are preprocessed once and clips of equal length go through the
    model ``batch_size`` at a time. Otherwise each clip is one ``encoder.encode`` call.
    """

    def __init__(self, encoder: Any, frames: np.ndarray, batch_size: int) -> None:
        self.encoder = encoder
        self.frames = frames
        self.batch_size = max(1, int(batch_size))
        self.batched = hasattr(encoder, "forward_windows") and hasattr(encoder, "prepare")
        self.prepared = encoder.prepare(frames) if self.batched else None
        self.meta: PatchFeatures | None = None

    def last_steps(self, clips: Sequence[Sequence[int]]) -> torch.Tensor:
        """Tokens of the last time step of each clip (rows of ``frames``), float [N, h, w, D].

        A clip's length is padded to a multiple of the tubelet size by repeating its last
        frame (as the encoders pad an odd end).
        """
        k = int(self.encoder.tubelet_size)
        out: list[torch.Tensor | None] = [None] * len(clips)
        if not self.batched:
            for i, rows in enumerate(clips):
                feats = self.encoder.encode(self.frames[list(rows)], list(range(len(rows))))
                self.meta = self.meta or feats
                out[i] = feats.tokens[-1].float().cpu()
            return torch.stack(out)  # type: ignore[arg-type]
        pixels = self.prepared.pixels  # type: ignore[union-attr]
        by_length: dict[int, list[int]] = {}
        padded = [list(r) + [r[-1]] * ((-len(r)) % k) for r in clips]
        for i, rows in enumerate(padded):
            by_length.setdefault(len(rows), []).append(i)
        for members in by_length.values():
            for j in range(0, len(members), self.batch_size):
                chunk = members[j : j + self.batch_size]
                x = torch.stack([pixels[padded[i]] for i in chunk])
                tokens = self.encoder.forward_windows(x)[:, -1].float().cpu()
                for i, t in zip(chunk, tokens):
                    out[i] = t
        return torch.stack(out)  # type: ignore[arg-type]

    def features(self, tokens: torch.Tensor, frame_indices: Sequence[Sequence[int]], tubelet: int) -> PatchFeatures:
        """PatchFeatures around ``tokens`` [T', h, w, D] with this video's metadata."""
        enc = self.encoder
        if self.prepared is not None:
            pixels = self.prepared.pixels
            input_size, crop_box = (int(pixels.shape[2]), int(pixels.shape[3])), self.prepared.crop_box
        else:
            assert self.meta is not None
            input_size, crop_box = self.meta.input_size, self.meta.crop_box
        return PatchFeatures(
            tokens=tokens,
            frame_indices=tuple(tuple(int(i) for i in g) for g in frame_indices),
            encoder=enc.name,
            checkpoint=enc.checkpoint,
            pretrained=enc.pretrained,
            patch_size=int(enc.patch_size),
            tubelet_size=tubelet,
            input_size=input_size,
            crop_box=crop_box,
        )


def encode_latents(
    encoder: Any,
    frames: np.ndarray,
    mode: str = "causal",
    frame_indices: Sequence[int] | None = None,
    batch_size: int = 8,
) -> LatentFeatures:
    """Encode a clip for a world model, so that (except in ``"window"`` mode) no time step's
    tokens have seen a frame after that step.

    Parameters
    ----------
    encoder: any :class:`~jepa_studio.encoders.base.Encoder` (``encode``, ``tubelet_size``;
        the window length is ``getattr(encoder, "window", 16)``).
    frames: uint8 [T, H, W, 3].
    mode:
        ``"causal"``: every time step's tokens come from a pass over a window of frames
        that *ends* at that step (the encoder's window length, shorter at the start of the
        clip), so a step of a video encoder sees its own and earlier frames only; passes are
        batched. ``"per-frame"``: each frame on its own, repeated to fill a tubelet (as
        V-JEPA 2-AC feeds its encoder): one time step per frame. ``"window"``: the encoder's
        own bidirectional windows, where a step sees up to ``window - tubelet`` later
        frames (a reference only). Image encoders and the pixel baselines never mix frames,
        so ``causal`` and ``window`` give their plain encoding.
    frame_indices: source index per frame (default ``0..T-1``).
    batch_size: clips per forward pass in the batched modes.

    Returns
    -------
    LatentFeatures: tokens float32 [T', h, w, D] (T' = ceil(T / tubelet), or T in
    ``per-frame`` mode, whose steps cover one frame: ``tubelet_size`` 1), with ``mode``,
    ``future_frames`` and ``context_frames`` recorded.
    """
    if mode not in LATENT_MODES:
        raise UsageError(f"unknown latent mode {mode!r}: use one of {', '.join(LATENT_MODES)}")
    frames = np.asarray(frames)
    n = len(frames)
    if n == 0:
        raise UsageError("no frames to encode")
    idx = [int(i) for i in (range(n) if frame_indices is None else frame_indices)]
    if len(idx) != n:
        raise ValueError("frame_indices must have one index per frame")
    k = int(encoder.tubelet_size)
    mixes = mixes_time(encoder)
    if mode == "per-frame" and k > 1:
        if not mixes:  # every tubelet is encoded on its own anyway: one pass over repeated frames
            feats = encoder.encode(np.repeat(frames, k, axis=0), [i for i in idx for _ in range(k)])
            feats = replace(feats, frame_indices=tuple((i,) for i in idx), tubelet_size=1)
            return _latent(feats, mode=mode, future_frames=0, context_frames=1)
        passes = _Passes(encoder, frames, batch_size)
        tokens = passes.last_steps([[i] * k for i in range(n)])
        return _latent(passes.features(tokens, [(i,) for i in idx], 1), mode=mode, context_frames=1)
    if not mixes or (mode == "per-frame" and k == 1):
        feats = encoder.encode(frames, idx)
        return _latent(feats, mode=mode, future_frames=0, context_frames=k)
    window = _window(encoder)
    if mode == "window":
        feats = encoder.encode(frames, idx)
        padded = n + (-n) % k
        return _latent(feats, mode=mode, future_frames=min(window, padded) - k, context_frames=min(window, padded))
    steps = [list(range(s, min(s + k, n))) for s in range(0, n, k)]
    clips = [list(range(max(0, g[0] + k - window), g[-1] + 1)) for g in steps]
    passes = _Passes(encoder, frames, batch_size)
    tokens = passes.last_steps(clips)
    groups = [[idx[i] for i in g] for g in steps]
    return _latent(passes.features(tokens, groups, k), mode=mode, context_frames=min(window, n + (-n) % k))


def group_steps(features: PatchFeatures, group: int) -> PatchFeatures:
    """Stack consecutive time steps so that each step covers ``group`` source frames.

    Tokens of ``group / tubelet`` consecutive steps are concatenated along D (a per-frame
    encoder compared with a tubelet encoder sees, and is scored on, the same frames per
    step). Trailing steps that would not fill a whole group, and steps that cover fewer
    frames than their tubelet (a padded odd end), are dropped.

    Returns features with tokens [T' // m, h, w, m * D] (m = group / tubelet) and
    ``tubelet_size == group``; the same object when m == 1 and every step is whole.
    """
    k = int(features.tubelet_size)
    if group % k:
        raise UsageError(f"a step of {group} frames cannot hold whole {k}-frame time steps of {features.label}")
    m = group // k
    whole = 0
    while whole < len(features.frame_indices) and len(features.frame_indices[whole]) == k:
        whole += 1
    n = whole // m * m
    if m == 1 and n == len(features.frame_indices):
        return features
    t, h, w, d = features.tokens.shape
    tokens = features.tokens[:n].reshape(n // m, m, h, w, d).permute(0, 2, 3, 1, 4).reshape(n // m, h, w, m * d)
    frame_indices = tuple(
        tuple(i for g in features.frame_indices[s : s + m] for i in g) for s in range(0, n, m)
    )
    return replace(features, tokens=tokens, frame_indices=frame_indices, tubelet_size=group)
