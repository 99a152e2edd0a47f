"""Scoring a world model's rollouts on a comparison's evaluation windows, beside baselines.

Per horizon step, averaged over the plan's windows and over every frame a step covers:

- ``model``: the transition model's rollout (its latents, and their decoding);
- ``copy``: "nothing moves": the last context latent, and the last context *frame*;
- ``velocity``: "constant velocity" in latent space, ``z_c + j (z_c - z_{c-1})`` for
  horizon ``j`` (its decoding for the pixel metrics; needs two context steps);
- ``ceiling``: the decoder applied to the true latents (pixel metrics only).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import torch
import torch.nn.functional as F

from .metrics import latent_cosine, latent_nmse, psnr, ssim
from .model import LatentSequence, WorldModel
from .plan import StepPlan
from .rollout import rollout_latents
from .training import gather_windows

#: the predictions every row scores (and the ceiling, for pixel metrics)
PREDICTORS = ("model", "copy", "velocity")


@dataclass(frozen=True)
class HorizonRow:
    """Metrics at one horizon, averaged over the evaluation rollouts and the frames each
    predicted step covers.

    horizon: the rollout step (1-based); first_frame_ahead .. frames_ahead: the frames it
    covers, counted from the last context frame; seconds_ahead: ``frames_ahead / fps``
    (NaN when the frame rate is unknown). ``*_model`` / ``*_copy`` / ``*_velocity``: the
    transition model, "nothing moves" and "constant velocity"; ``*_ceiling``: the decoder on
    the true latents.
    """

    horizon: int
    frames_ahead: int
    cosine_model: float
    cosine_copy: float
    nmse_model: float
    nmse_copy: float
    psnr_model: float
    psnr_copy: float
    psnr_ceiling: float
    ssim_model: float
    ssim_copy: float
    ssim_ceiling: float
    first_frame_ahead: int = 0
    seconds_ahead: float = float("nan")
    cosine_velocity: float = float("nan")
    nmse_velocity: float = float("nan")
    psnr_velocity: float = float("nan")
    ssim_velocity: float = float("nan")


def constant_velocity(context: torch.Tensor, horizon: int) -> torch.Tensor:
    """``z_c + j (z_c - z_{c-1})`` for j = 1..horizon from context [B, H, ...] (H >= 2).

    Returns [B, horizon, ...]. Per-channel normalisation is affine, so extrapolating
    normalised latents equals extrapolating raw ones.
    """
    last, prev = context[:, -1:], context[:, -2:-1]
    j = torch.arange(1, horizon + 1, dtype=context.dtype).view(1, horizon, *([1] * (context.ndim - 2)))
    return last + j * (last - prev)


@torch.no_grad()
def evaluate_world(
    world: WorldModel,
    sequences: Sequence[LatentSequence],
    plan: StepPlan,
    real: Sequence[torch.Tensor],
    rows: Sequence[dict[int, int]] | None = None,
) -> tuple[list[HorizonRow], list[list[tuple[int, ...]]], dict[str, torch.Tensor]]:
    """Roll out on every window of ``plan`` and score the rollouts and the baselines.

    Parameters
    ----------
    sequences: this encoder's prepared clips (steps as in ``plan``).
    real: per clip, uint8 [T, 3, He, We] source frames at the evaluation size.
    rows: per clip, source frame index -> row of ``real`` (default: the index itself).

    Returns
    -------
    (rows, scored, images): one :class:`HorizonRow` per horizon; per window, the source frames
    this encoder was scored on (its own steps' frames, for the alignment check); decoded
    images "predicted", "ceiling", "velocity" and the "real" frames, float
    [B, k, group, 3, He, We] in [0, 1].
    """
    model = world.transition
    if model is None:
        raise ValueError("this world model has no transition model")
    h, k, f = plan.history, plan.horizon, plan.skip
    pairs = [(w.clip, w.start) for w in plan.windows]
    z, a = gather_windows(sequences, pairs, h + k, f)
    device = world.device
    acts = a[:, : h + k - 1].to(device) if a is not None and model.config.action_dim else None
    predicted = {
        "model": rollout_latents(model, z[:, :h].to(device), k, acts).cpu(),
        "copy": z[:, h - 1 : h].expand(-1, k, *z.shape[2:]),
        "velocity": constant_velocity(z[:, :h], k) if h >= 2 else None,
    }
    true = z[:, h:]
    b, g = len(pairs), plan.group
    size = tuple(real[0].shape[-2:])

    def decode(latents: torch.Tensor) -> torch.Tensor:
        x = world.decoder.decode(latents.reshape(b * k, *latents.shape[2:]).to(device)).cpu()
        x = x.reshape(b * k * g, 3, *x.shape[-2:])
        if tuple(x.shape[-2:]) != size:
            x = F.interpolate(x, size=size, mode="bilinear", align_corners=False, antialias=True).clamp(0, 1)
        return x.reshape(b, k, g, 3, *size)

    real_x = torch.empty(b, k, g, 3, *size)
    copy_x = torch.empty(b, k, g, 3, *size)
    scored: list[list[tuple[int, ...]]] = []
    for wi, (ci, start) in enumerate(pairs):
        seq = sequences[ci]
        row = (lambda i: i) if rows is None else rows[ci].__getitem__
        last = seq.frame_indices[start + (h - 1) * f][-1]
        covered = [tuple(seq.frame_indices[start + (h + j) * f]) for j in range(k)]
        scored.append(covered)
        for j, frames in enumerate(covered):
            real_x[wi, j] = real[ci][[row(i) for i in frames]].float() / 255.0
            copy_x[wi, j] = real[ci][row(last)].float() / 255.0
    images = {"real": real_x, "ceiling": decode(true), "predicted": decode(predicted["model"])}
    pixels = {"model": images["predicted"], "copy": copy_x}
    if predicted["velocity"] is not None:
        images["velocity"] = pixels["velocity"] = decode(predicted["velocity"])
    stats = world.stats
    out = []
    for j in range(k):
        first, last_ahead = plan.frames_ahead(j + 1)
        values: dict[str, float] = {}
        for name in PREDICTORS:
            lat = predicted[name]
            if lat is None:
                continue
            values[f"cosine_{name}"] = float(latent_cosine(lat[:, j], true[:, j], stats).mean())
            values[f"nmse_{name}"] = float(latent_nmse(lat[:, j], true[:, j], stats).mean())
            values[f"psnr_{name}"] = float(psnr(pixels[name][:, j], real_x[:, j]).mean())
            values[f"ssim_{name}"] = float(ssim(pixels[name][:, j], real_x[:, j]).mean())
        values["psnr_ceiling"] = float(psnr(images["ceiling"][:, j], real_x[:, j]).mean())
        values["ssim_ceiling"] = float(ssim(images["ceiling"][:, j], real_x[:, j]).mean())
        seconds = last_ahead / plan.fps if plan.fps else math.nan
        out.append(HorizonRow(horizon=j + 1, frames_ahead=last_ahead, first_frame_ahead=first, seconds_ahead=seconds, **values))
    return out, scored, images
