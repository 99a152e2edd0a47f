"""A fair comparison of encoders as world-model features.

For each encoder: encode the same frames, train the same decoder and the same transition
model on its latents (first part of every clip), then roll out on the frames held out in time
(the last ``val_fraction`` of every clip) and report, per rollout horizon, the latent cosine
and normalised MSE, and the PSNR and SSIM of decoded frames against the real ones, each beside
the "nothing moves" baseline (repeat the last latent / the last real frame) and the decoder's
reconstruction ceiling (decode the true latents).

Horizons are counted in steps of ``frameskip`` *source frames* for every encoder (so a
V-JEPA 2 step of one tubelet and a DINO step of two frames both look 2 frames ahead):
``frameskip`` must be a multiple of every encoder's tubelet size.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from ..encoders.base import Encoder, PatchFeatures
from ..encoders.preprocess import Preprocessing, plan_resize
from ..errors import UsageError
from .checkpoints import load_world, safe_name, save_world
from .decoder import resize_frames, to_uint8_frames
from .metrics import latent_cosine, latent_nmse, psnr, ssim
from .model import EncoderInfo, LatentSequence, WorldModel, prepare_sequence, same_architecture
from .rollout import rollout_latents
from .training import TrainSettings, gather_windows, train_decoder, train_transition, transition_windows

#: ``progress(stage, step, total, loss)``; stage is e.g. "pixels: transition"
CompareProgress = Callable[[str, int, int, float], None]

METRICS = ("cosine", "nmse", "psnr", "ssim")


@dataclass(frozen=True)
class CompareSettings:
    """Settings shared by every encoder in a comparison.

    history: H context steps; horizon: k rollout steps; frameskip: source frames per step
    (a multiple of every tubelet size); decoder_steps, transition_steps: optimiser steps;
    batch_size; val_fraction: the held-out last part of every clip; short_side: frames are
    encoded at this short side (full frame); width, depth, heads: the transition ViT;
    decoder_hidden; lr; seed; max_windows: evaluation rollouts per encoder (evenly spaced);
    device.
    """

    history: int = 3
    horizon: int = 4
    frameskip: int = 2
    decoder_steps: int = 300
    transition_steps: int = 300
    batch_size: int = 16
    val_fraction: float = 0.25
    short_side: int = 64
    width: int = 128
    depth: int = 3
    heads: int = 4
    decoder_hidden: int = 64
    lr: float = 1e-3
    seed: int = 0
    max_windows: int = 48
    device: str = "cpu"

    def __post_init__(self) -> None:
        for name in ("history", "horizon", "frameskip", "batch_size", "short_side", "max_windows"):
            if int(getattr(self, name)) < 1:
                raise UsageError(f"{name} must be at least 1, got {getattr(self, name)}")
        for name in ("decoder_steps", "transition_steps"):
            if int(getattr(self, name)) < 0:
                raise UsageError(f"{name} must not be negative")
        if not 0.0 < self.val_fraction < 1.0:
            raise UsageError(f"the held-out fraction must be between 0 and 1, got {self.val_fraction}")

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class Clip:
    """Frames uint8 [T, H, W, 3] and optional per-frame actions float [T, A] (``actions[t]``
    acts between frame t and t+1)."""

    frames: np.ndarray
    actions: np.ndarray | None = None


@dataclass(frozen=True)
class HorizonRow:
    """Metrics at one horizon, averaged over evaluation rollouts.

    model / copy / ceiling: the transition model, the "nothing moves" baseline, the decoder
    applied to the true latents (pixel metrics only).
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


@dataclass
class EncoderResult:
    """One encoder's part of a comparison; ``rollout`` holds uint8 images for the rollout grid:
    ``{"frames": [...], "real": [...], "predicted": [...], "ceiling": [...]}``."""

    info: EncoderInfo
    rows: list[HorizonRow]
    decoder_losses: list[float]
    decoder_val: list[tuple[int, float]]
    transition_losses: list[float]
    transition_val: list[tuple[int, float]]
    n_windows: int
    seconds: float
    rollout: dict[str, list] = field(default_factory=dict, repr=False)
    checkpoint: str | None = None

    @property
    def weights_note(self) -> str:
        """"random weights", "pretrained weights" or "no weights (pixel baseline)"."""
        if self.info.checkpoint == "-":
            return "no weights (pixel baseline)"
        return "pretrained weights" if self.info.pretrained else "random weights"


@dataclass
class ComparisonResult:
    """Everything a report needs: settings, source description, one result per encoder."""

    settings: CompareSettings
    source: str
    n_clips: int
    n_frames: int
    has_actions: bool
    encoders: list[EncoderResult]
    cancelled: bool = False

    def table(self) -> list[dict[str, Any]]:
        """One flat dict per (encoder, horizon)."""
        return [
            {"encoder": e.info.label, **dataclasses.asdict(r)} for e in self.encoders for r in e.rows
        ]


def _as_clips(data: Any) -> list[Clip]:
    if isinstance(data, np.ndarray):
        return [Clip(data)]
    if isinstance(data, Clip):
        return [data]
    if hasattr(data, "frames") and not isinstance(data, (list, tuple)):
        return [Clip(np.asarray(data.frames), getattr(data, "actions", None))]
    clips = []
    for item in data:
        clips += _as_clips(item)
    if not clips:
        raise UsageError("nothing to compare on: no frames were given")
    for c in clips:
        if c.frames.ndim != 4 or c.frames.shape[-1] != 3 or c.frames.dtype != np.uint8:
            raise UsageError(f"frames must be uint8 [T, H, W, 3], got {c.frames.dtype} {c.frames.shape}")
    if len({c.actions is None for c in clips}) > 1:
        raise UsageError("either every clip has actions or none has")
    return clips


def _load(name: str | Encoder, settings: CompareSettings) -> Encoder:
    if not isinstance(name, str):
        return name
    from ..encoders.registry import load_encoder

    encoder = load_encoder(name, device=settings.device)
    prep = getattr(encoder, "preprocessing", None)
    if isinstance(prep, Preprocessing):
        encoder.preprocessing = dataclasses.replace(prep, mode="full", short_side=settings.short_side)  # type: ignore[attr-defined]
    return encoder




def _eval_size(features: PatchFeatures, short_side: int) -> tuple[int, int]:
    x0, y0, x1, y1 = features.crop_box
    _, size, _ = plan_resize(y1 - y0, x1 - x0, 1, Preprocessing(short_side=short_side))
    return size


def _pick_windows(pairs: list[tuple[int, int]], n: int) -> list[tuple[int, int]]:
    if len(pairs) <= n:
        return pairs
    return [pairs[j] for j in np.linspace(0, len(pairs) - 1, n).round().astype(int)]


@torch.no_grad()
def evaluate_world(
    world: WorldModel,
    sequences: Sequence[LatentSequence],
    real: Sequence[torch.Tensor],
    horizon: int,
    max_windows: int,
    frames_per_step: int,
    eval_size: tuple[int, int],
) -> tuple[list[HorizonRow], list[tuple[int, int]], dict[str, torch.Tensor]]:
    """Roll out on every held-out window (at most ``max_windows``) and average the metrics.

    Parameters
    ----------
    real: per sequence, float [T, 3, He, We] source frames in [0, 1] at ``eval_size``.
    frames_per_step: source frames per horizon step (the settings' frameskip).

    Returns
    -------
    (rows, windows, tensors) where tensors holds "predicted", "ceiling" (decoded,
    [B, k, tubelet, 3, He, We]) and "real" ([B, k, tubelet, 3, He, We]) for the windows.
    """
    model = world.transition
    assert model is not None
    h, f = model.config.history, world.frameskip
    windows = transition_windows(sequences, h + horizon, f, held_out=True, n_context=h)
    if not windows:
        raise UsageError(
            f"the held-out frames are too few for a rollout of {horizon} steps after {h} context steps "
            f"(frameskip {frames_per_step}): use more frames, a larger held-out fraction, a shorter horizon or history"
        )
    windows = _pick_windows(windows, max_windows)
    z, a = gather_windows(sequences, windows, h + horizon, f)
    device = world.device
    acts = a[:, : h + horizon - 1].to(device) if a is not None and model.config.action_dim else None
    pred = rollout_latents(model, z[:, :h].to(device), horizon, acts).cpu()
    true = z[:, h:]
    copy = z[:, h - 1 : h].expand_as(true)
    b, k = true.shape[:2]
    tub = world.encoder.tubelet_size

    def decode(latents: torch.Tensor) -> torch.Tensor:
        x = world.decoder.decode(latents.reshape(b * k, *latents.shape[2:]).to(device)).cpu()
        x = x.reshape(b * k * tub, 3, *x.shape[-2:])
        if tuple(x.shape[-2:]) != tuple(eval_size):
            x = F.interpolate(x, size=eval_size, mode="bilinear", align_corners=False, antialias=True).clamp(0, 1)
        return x.reshape(b, k, tub, 3, *eval_size)

    dec_pred, dec_true = decode(pred), decode(true)
    real_x = torch.empty_like(dec_pred)
    copy_x = torch.empty_like(dec_pred)
    for wi, (si, start) in enumerate(windows):
        seq = sequences[si]
        last = max(seq.frame_indices[start + (h - 1) * f])
        for j in range(k):
            covered = list(seq.frame_indices[start + (h + j) * f])
            covered += [covered[-1]] * (tub - len(covered))
            real_x[wi, j] = real[si][covered]
            copy_x[wi, j] = real[si][last]
    rows = []
    stats = world.stats
    for j in range(k):
        rows.append(
            HorizonRow(
                horizon=j + 1,
                frames_ahead=(j + 1) * frames_per_step,
                cosine_model=float(latent_cosine(pred[:, j], true[:, j], stats).mean()),
                cosine_copy=float(latent_cosine(copy[:, j], true[:, j], stats).mean()),
                nmse_model=float(latent_nmse(pred[:, j], true[:, j], stats).mean()),
                nmse_copy=float(latent_nmse(copy[:, j], true[:, j], stats).mean()),
                psnr_model=float(psnr(dec_pred[:, j], real_x[:, j]).mean()),
                psnr_copy=float(psnr(copy_x[:, j], real_x[:, j]).mean()),
                psnr_ceiling=float(psnr(dec_true[:, j], real_x[:, j]).mean()),
                ssim_model=float(ssim(dec_pred[:, j], real_x[:, j]).mean()),
                ssim_copy=float(ssim(copy_x[:, j], real_x[:, j]).mean()),
                ssim_ceiling=float(ssim(dec_true[:, j], real_x[:, j]).mean()),
            )
        )
    return rows, windows, {"predicted": dec_pred, "ceiling": dec_true, "real": real_x}


def compare_encoders(
    data: Any,
    encoders: Sequence[str | Encoder],
    settings: CompareSettings = CompareSettings(),
    progress: CompareProgress | None = None,
    cancel: threading.Event | None = None,
    checkpoint_dir: str | Path | None = None,
    source: str = "frames",
    resume: bool = False,
) -> ComparisonResult:
    """Train and evaluate the same world model on each encoder's features of the same frames.

    Parameters
    ----------
    data: uint8 frames [T, H, W, 3], a :class:`Clip`, anything with ``.frames`` (and
        ``.actions``) such as a ``PendulumEpisode``, or a list of those.
    encoders: registry names (or loaded encoders).
    settings: see :class:`CompareSettings`.
    progress: ``progress(stage, step, total, loss)`` during encoding, training, evaluation.
    cancel: when set, training stops at the next step and the encoders finished so far are
        returned with ``cancelled=True``.
    checkpoint_dir: if given, each encoder's world model is checkpointed to
        ``checkpoint_dir/<encoder>`` during training and at the end.
    resume: continue from an existing checkpoint there when its encoder, architecture,
        frameskip and seed match (training runs up to the settings' step counts).
    source: a description of the frames for the report.
    """
    clips = _as_clips(data)
    if not encoders:
        raise UsageError("name at least one encoder to compare")
    has_actions = clips[0].actions is not None
    action_dim = int(np.asarray(clips[0].actions).reshape(len(clips[0].frames), -1).shape[1]) if has_actions else 0
    result = ComparisonResult(settings, source, len(clips), sum(len(c.frames) for c in clips), has_actions, [])

    def report(stage: str, step: int, total: int, loss: float = float("nan")) -> None:
        if progress is not None:
            progress(stage, step, total, loss)

    for name in encoders:
        if cancel is not None and cancel.is_set():
            result.cancelled = True
            break
        t0 = time.perf_counter()
        encoder = _load(name, settings)
        label = getattr(encoder, "name", str(name))
        if settings.frameskip % encoder.tubelet_size:
            raise UsageError(
                f"frameskip {settings.frameskip} is not a multiple of {label}'s tubelet size "
                f"{encoder.tubelet_size}: use an even frameskip"
            )
        feats = []
        for i, clip in enumerate(clips):
            report(f"{label}: encoding", i, len(clips))
            feats.append(encoder.encode(clip.frames, list(range(len(clip.frames)))))
        report(f"{label}: encoding", len(clips), len(clips))
        lat_skip = settings.frameskip // encoder.tubelet_size
        world = WorldModel.create(
            feats,
            history=settings.history,
            frameskip=lat_skip,
            action_dim=action_dim,
            val_fraction=settings.val_fraction,
            seed=settings.seed,
            decoder_hidden=settings.decoder_hidden,
            width=settings.width,
            depth=settings.depth,
            heads=settings.heads,
        )
        ckpt = None
        if checkpoint_dir is not None:
            ckpt = Path(checkpoint_dir) / safe_name(label)
            if resume and (ckpt / "config.json").is_file():
                old = load_world(ckpt, settings.device)
                if same_architecture(old, world):
                    world = old
        seqs = [
            prepare_sequence(world, f, c.frames, c.actions, settings.val_fraction) for f, c in zip(feats, clips)
        ]
        common = dict(batch_size=settings.batch_size, lr=settings.lr, seed=settings.seed, device=settings.device)
        train_decoder(
            world,
            seqs,
            TrainSettings(steps=settings.decoder_steps, **common),  # type: ignore[arg-type]
            lambda s, t, l: report(f"{label}: decoder", s, t, l),
            cancel,
            ckpt,
        )
        train_transition(
            world,
            seqs,
            TrainSettings(steps=settings.transition_steps, **common),  # type: ignore[arg-type]
            lambda s, t, l: report(f"{label}: transition", s, t, l),
            cancel,
            ckpt,
        )
        if cancel is not None and cancel.is_set():
            result.cancelled = True
            break
        report(f"{label}: evaluating", 0, 1)
        size = _eval_size(feats[0], settings.short_side)
        real = [resize_frames(c.frames, f.crop_box, size) for f, c in zip(feats, clips)]
        rows, windows, images = evaluate_world(
            world, seqs, real, settings.horizon, settings.max_windows, settings.frameskip, size
        )
        report(f"{label}: evaluating", 1, 1)
        dstate, tstate = world.state["decoder"], world.state["transition"]
        res = EncoderResult(
            info=world.encoder,
            rows=rows,
            decoder_losses=list(dstate.losses),
            decoder_val=list(dstate.val_losses),
            transition_losses=list(tstate.losses),
            transition_val=list(tstate.val_losses),
            n_windows=len(windows),
            seconds=time.perf_counter() - t0,
            checkpoint=None if ckpt is None else str(ckpt),
        )
        res.rollout = _rollout_images(seqs, windows, images, world.history, world.frameskip)
        result.encoders.append(res)
        if ckpt is not None:
            save_world(world, ckpt)
    return result


def _rollout_images(
    seqs: Sequence[LatentSequence],
    windows: Sequence[tuple[int, int]],
    images: dict[str, torch.Tensor],
    history: int,
    frameskip: int,
) -> dict[str, list]:
    """uint8 frames of the first evaluation window (of the first clip): real, predicted, ceiling."""
    si, start = windows[0]
    k = images["predicted"].shape[1]
    out: dict[str, list] = {"frames": [], "real": [], "predicted": [], "ceiling": [], "clip": int(si)}
    for j in range(k):
        covered = seqs[si].frame_indices[start + (history + j) * frameskip]
        out["frames"] += [int(c) for c in covered]
        for key in ("real", "predicted", "ceiling"):
            out[key] += list(to_uint8_frames(images[key][0, j, : len(covered)]))
    return out
