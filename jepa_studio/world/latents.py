"""Latent sequences: per-encoder normalisation, held-out splits, windows and actions.

A *latent sequence* is one encoder's tokens of one clip, float [T', h, w, D], with
``frame_indices[t]`` the source frames time step ``t`` covers (see
:class:`~jepa_studio.encoders.base.PatchFeatures`). Models in :mod:`jepa_studio.world` see
latents normalised per channel with :class:`LatentStats` computed on training frames only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch

from ..errors import UsageError

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
