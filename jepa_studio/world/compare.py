"""A fair comparison of encoders as world-model features.

For each encoder: encode the same frames once (:func:`~.latents.encode_latents`, by default
causally: no latent sees a frame after its own step), train the same decoder and the same
transition model on its latents (the first part of every clip), roll out on the frames held
out in time (the last ``val_fraction`` of every clip), and report per horizon the latent
cosine and normalised MSE and the PSNR and SSIM of decoded frames, each beside "nothing
moves", "constant velocity" and the decoder's ceiling (:mod:`.evaluation`). Every encoder
gets the same context frames and is scored on the same frames ahead over the same
evaluation windows (:mod:`.plan`). Temporal probes (:mod:`.probes`) read the simulator's
state from one step's latent when the data knows it.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import torch

from ..encoders.base import Encoder, PatchFeatures
from ..encoders.preprocess import Preprocessing, plan_resize
from ..errors import UsageError
from .checkpoints import load_world, safe_name, save_world
from .decoder import resize_frames, to_uint8_frames
from .evaluation import HorizonRow, evaluate_world
from .latent_cache import LatentCache, cached_latents
from .latents import group_steps, latent_mode_label
from .model import EncoderInfo, LatentSequence, PartState, WorldModel, architecture_differences, prepare_sequence
from .plan import StepPlan, make_plan
from .probes import ProbeResult, ProbeTargets, pendulum_targets, probe
from .settings import DEFAULTS, CompareSettings
from .training import train_decoder, train_transition

__all__ = [
    "Clip", "CompareSettings", "ComparisonResult", "EncoderResult", "HorizonRow", "compare_encoders",
    "check_frame_budget", "DEFAULTS",
]

#: ``progress(stage, step, total, loss)``; stage is e.g. "pixels: transition"
CompareProgress = Callable[[str, int, int, float], None]

METRICS = ("cosine", "nmse", "psnr", "ssim")
METRIC_WORDS = {"cosine": "latent cosine", "nmse": "latent nMSE", "psnr": "PSNR", "ssim": "SSIM"}
#: the pixel baselines every probe table shows
PIXEL_BASELINES = ("pixels", "pixels-tubelet")
#: the most bytes of source frames a comparison holds in memory
FRAME_BUDGET_BYTES = 2 << 30


def check_frame_budget(n_frames: int, height: int, width: int, limit: int | None = None) -> None:
    """Refuse (one line) a comparison whose frames would not fit the memory budget
    (``limit`` bytes, default :data:`FRAME_BUDGET_BYTES`).

    A comparison holds its uint8 source frames [T, H, W, 3] in memory (training, decoding
    and scoring all read them); call this before decoding a video.
    """
    limit = FRAME_BUDGET_BYTES if limit is None else int(limit)
    need = int(n_frames) * int(height) * int(width) * 3
    if need > limit:
        raise UsageError(
            f"a comparison holds its frames in memory: {n_frames} frames of {width}x{height} need "
            f"{need / 2**30:.1f} GiB, more than the limit of {limit / 2**30:.1f} GiB; choose fewer frames "
            f"(--frames START:STOP:STEP, at most {limit // max(1, height * width * 3)} of these)"
        )


@dataclass(frozen=True)
class Clip:
    """Frames uint8 [T, H, W, 3], optional per-frame actions float [T, A] (``actions[t]``
    acts between frame t and t+1), frames per second, and the source index of every frame
    (default ``0..T-1``; reports name frames by it)."""

    frames: np.ndarray
    actions: np.ndarray | None = None
    fps: float | None = None
    indices: tuple[int, ...] | None = None

    @property
    def frame_indices(self) -> list[int]:
        return list(range(len(self.frames))) if self.indices is None else [int(i) for i in self.indices]


@dataclass
class EncoderResult:
    """One encoder's part of a comparison.

    ``rows``: the metrics per horizon; ``scored``: per evaluation window, the source frames
    each predicted step was scored on; ``probe``: its temporal probes (or None);
    ``rollout`` holds uint8 images for the rollout grid:
    ``{"frames": [...], "real": [...], "predicted": [...], "ceiling": [...]}``.
    """

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
    scored: list[list[tuple[int, ...]]] = field(default_factory=list, repr=False)
    probe: ProbeResult | None = None

    @property
    def weights_note(self) -> str:
        """"no weights (pixel baseline)", "random weights", "weights from FOLDER" or
        "pretrained (HUB ID)"."""
        info = self.info
        if info.checkpoint == "-":
            return "no weights (pixel baseline)"
        if not info.pretrained:
            return "random weights"
        if Path(info.checkpoint).is_dir():
            return f"weights from {info.checkpoint}"
        return f"pretrained ({info.checkpoint})"

    @property
    def name(self) -> str:
        """The encoder's label, and for latents that saw the future, how many frames
        ("vjepa2 [window: sees up to 14 future frames]"): every table, plot and image row."""
        if self.info.future_frames > 0:
            return f"{self.info.label} [window: sees up to {self.info.future_frames} future frames]"
        return self.info.label

    @property
    def latents(self) -> str:
        """How the latents were encoded, in words (a mode that saw the future says so)."""
        return latent_mode_label(self.info.latents, self.info.future_frames)

    def losing(self) -> dict[str, list[int]]:
        """Horizons where the world model does *not* beat a baseline, per "metric baseline"
        (``{"ssim copy": [1, 2], ...}``; only entries with horizons)."""
        out: dict[str, list[int]] = {}
        for metric in METRICS:
            higher = metric != "nmse"
            for base in ("copy", "velocity"):
                bad = []
                for r in self.rows:
                    m, b = getattr(r, f"{metric}_model"), getattr(r, f"{metric}_{base}")
                    if math.isfinite(b) and not (m > b if higher else m < b):
                        bad.append(r.horizon)
                if bad:
                    out[f"{metric} {base}"] = bad
        return out

    def verdict(self) -> str:
        """In words: where the world model beats "nothing moves" and "constant velocity", and
        where it does not."""
        losing = self.losing()
        parts = []
        for base, words in (("copy", '"nothing moves"'), ("velocity", '"constant velocity"')):
            bad = {m: losing[f"{m} {base}"] for m in METRICS if f"{m} {base}" in losing}
            good = [METRIC_WORDS[m] for m in METRICS if m not in bad]
            where = "; ".join(f"{METRIC_WORDS[m]} at horizon(s) {', '.join(map(str, hs))}" for m, hs in bad.items())
            if not bad:
                parts.append(f"beats {words} at every horizon in {', '.join(good)}")
            elif good:
                parts.append(f"beats {words} at every horizon in {', '.join(good)}, but does NOT beat it in {where}")
            else:
                parts.append(f"does NOT beat {words} in {where}")
        return f"{self.name}: the world model " + "; it ".join(parts) + "."


@dataclass
class ComparisonResult:
    """Everything a report needs: settings, source description, one result per encoder,
    the step plan every encoder shared, and the probes of pixel baselines not compared."""

    settings: CompareSettings
    source: str
    n_clips: int
    n_frames: int
    has_actions: bool
    encoders: list[EncoderResult]
    cancelled: bool = False
    plan: StepPlan | None = None
    baseline_probes: list[ProbeResult] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def table(self) -> list[dict[str, Any]]:
        """One flat dict per (encoder, horizon): the row's fields, the encoder's label and
        ``"frames"``, the frames ahead the step covers in words ("3-4")."""
        return [
            {"encoder": e.name, **dataclasses.asdict(r), "frames": _span(r.first_frame_ahead, r.frames_ahead)}
            for e in self.encoders
            for r in e.rows
        ]

    def probes(self) -> list[tuple[ProbeResult, bool]]:
        """Every probe result with whether it is a baseline outside the compared encoders."""
        return [(e.probe, False) for e in self.encoders if e.probe is not None] + [
            (p, True) for p in self.baseline_probes
        ]


def _say(notify: Callable[[str], None] | None, line: str) -> None:
    if notify is not None:
        notify(line)


def _span(first: int, last: int) -> str:
    return str(last) if first >= last or first <= 0 else f"{first}-{last}"


def _as_clips(data: Any) -> list[Clip]:
    if isinstance(data, np.ndarray):
        return [Clip(data)]
    if isinstance(data, Clip):
        return [data]
    if hasattr(data, "frames") and not isinstance(data, (list, tuple)):
        return [Clip(np.asarray(data.frames), getattr(data, "actions", None), getattr(data, "fps", None))]
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


def _pendulum_targets(data: Any) -> ProbeTargets | None:
    """The probe targets of pendulum episodes (anything with ``.states``), else None."""
    items = [data] if hasattr(data, "states") else list(data) if isinstance(data, (list, tuple)) else []
    if items and all(hasattr(i, "states") for i in items):
        return pendulum_targets(items)
    return None


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


class _Encoded:
    """One encoder's latents of every clip (native steps, and grouped to the plan's steps)."""

    def __init__(self, name: str, label: str, latents: list[PatchFeatures], seconds: float) -> None:
        self.name = name
        self.label = label
        self.latents = latents
        self.grouped: list[PatchFeatures] = []
        self.seconds = seconds


def _encode_all(
    name: str | Encoder,
    clips: Sequence[Clip],
    settings: CompareSettings,
    cache: LatentCache | None,
    report: Callable[..., None],
) -> _Encoded:
    """Encode every clip with one encoder (from ``cache`` when it has them)."""
    t0 = time.perf_counter()
    encoder = _load(name, settings)
    label = str(getattr(encoder, "name", name))
    step = 1 if settings.latents == "per-frame" else int(encoder.tubelet_size)
    if settings.frameskip % step:
        raise UsageError(
            f"frameskip {settings.frameskip} is not a multiple of {label}'s tubelet size {step}: use an even "
            "frameskip (or --latents per-frame)"
        )
    out = []
    for i, clip in enumerate(clips):
        report(f"{label}: encoding", i, len(clips))
        out.append(cached_latents(encoder, clip.frames, settings.latents, clip.frame_indices, cache))
    report(f"{label}: encoding", len(clips), len(clips))
    return _Encoded(name if isinstance(name, str) else label, out[0].label, out, time.perf_counter() - t0)


def _given(name: str, latents: Sequence[PatchFeatures], clips: Sequence[Clip], settings: CompareSettings) -> _Encoded:
    """Precomputed latents of an encoder: one per clip, covering the clip's frames."""
    if len(latents) != len(clips):
        raise UsageError(f"{name}: {len(latents)} precomputed latents for {len(clips)} clips")
    for f, c in zip(latents, clips):
        covered = sorted(i for g in f.frame_indices for i in g)
        if covered != sorted(set(c.frame_indices)):
            raise UsageError(f"{name}: the precomputed latents do not cover the clip's frames")
    return _Encoded(name, latents[0].label, list(latents), 0.0)


def _estimate_seconds(world: WorldModel, seqs: Sequence[LatentSequence], settings: CompareSettings) -> float:
    """Seconds the training left to ``world`` takes, timed on 3 steps (after one that warms
    up) of a throwaway copy."""
    trial = copy.deepcopy(world)
    total = 0.0
    for part, fn, steps in (
        ("decoder", train_decoder, settings.decoder_steps),
        ("transition", train_transition, settings.transition_steps),
    ):
        left = max(0, steps - world.state[part].step)
        if not left:
            continue
        trial.state[part] = PartState(step=1)  # past the decoder's closed-form start
        ts = settings.train_settings(part, 100, val_every=10**9, checkpoint_every=10**9)
        marks: list[float] = []
        stop = threading.Event()

        def mark(step: int, _total: int, _loss: float) -> None:
            marks.append(time.perf_counter())
            if len(marks) == 4:
                stop.set()

        fn(trial, seqs, ts, mark, stop)
        total += (marks[-1] - marks[0]) / (len(marks) - 1) * left
    return total


def compare_encoders(
    data: Any,
    encoders: Sequence[str | Encoder],
    settings: CompareSettings = DEFAULTS,
    progress: CompareProgress | None = None,
    cancel: threading.Event | None = None,
    checkpoint_dir: str | Path | None = None,
    source: str = "frames",
    resume: bool = False,
    *,
    latents: Mapping[str, Sequence[PatchFeatures]] | None = None,
    cache: LatentCache | None = None,
    probe_targets: ProbeTargets | None = None,
    on_result: Callable[["ComparisonResult"], None] | None = None,
    notify: Callable[[str], None] | None = None,
) -> ComparisonResult:
    """Train and evaluate the same world model on each encoder's latents of the same frames.

    Parameters
    ----------
    data: uint8 frames [T, H, W, 3], a :class:`Clip`, anything with ``.frames`` (and
        ``.actions``, ``.fps``, ``.states``) such as a ``PendulumEpisode``, or a list of those.
    encoders: registry names, or already loaded encoders (the window passes its own: no
        second copy of a model). Names of ``latents`` need no encoder at all.
    settings: see :class:`~.settings.CompareSettings`.
    progress: ``progress(stage, step, total, loss)`` during encoding, training, evaluation.
    cancel: when set, training stops at the next step (its checkpoint is saved) and the
        encoders finished so far are returned with ``cancelled=True``.
    checkpoint_dir: if given, each encoder's world model is checkpointed to
        ``checkpoint_dir/<encoder>`` during training and at the end.
    resume: continue from an existing checkpoint there when its encoder, latent mode,
        architecture, frameskip and seed match (training runs up to the settings' steps).
    source: a description of the frames for the report.
    latents: precomputed latents per encoder name (one :class:`PatchFeatures` per clip, e.g.
        from :func:`~.latents.encode_latents`), used instead of encoding.
    cache: a :class:`~.latent_cache.LatentCache` to read and fill (latents are computed once).
    probe_targets: what the temporal probes read (default: the pendulum's state when the
        data are pendulum episodes; no probes otherwise).
    on_result: called with the result so far after each encoder (write the report there).
    notify: called with one-line messages (the time estimate).
    """
    clips = _as_clips(data)
    if not encoders:
        raise UsageError("name at least one encoder to compare")
    has_actions = clips[0].actions is not None
    action_dim = int(np.asarray(clips[0].actions).reshape(len(clips[0].frames), -1).shape[1]) if has_actions else 0
    result = ComparisonResult(settings, source, len(clips), sum(len(c.frames) for c in clips), has_actions, [])
    targets = probe_targets if probe_targets is not None else _pendulum_targets(data)
    if not settings.probes:
        targets = None
    latents = dict(latents or {})

    def report(stage: str, step: int, total: int, loss: float = float("nan")) -> None:
        if progress is not None:
            progress(stage, step, total, loss)

    def cancelled() -> bool:
        return cancel is not None and cancel.is_set()

    # 1. every encoder's latents, computed once
    encoded: list[_Encoded] = []
    for name in encoders:
        if cancelled():
            result.cancelled = True
            return result
        if isinstance(name, str) and name in latents:
            encoded.append(_given(name, latents[name], clips, settings))
        else:
            encoded.append(_encode_all(name, clips, settings, cache, report))
    # 2. one plan of steps and evaluation windows for all of them
    group = max(int(f.tubelet_size) for e in encoded for f in e.latents)
    for e in encoded:
        e.grouped = [group_steps(f, group) for f in e.latents]
    fps = clips[0].fps
    plan = make_plan(
        [f.frame_indices for f in encoded[0].grouped], group, settings.frameskip, settings.history,
        settings.horizon, settings.val_fraction, settings.max_windows, fps,
    )
    for e in encoded:
        for ci, f in enumerate(e.grouped):
            try:
                plan.check(f, ci)
            except ValueError as error:
                raise UsageError(str(error)) from error
    result.plan = plan
    if group > 1 and any(int(f.tubelet_size) < group for e in encoded for f in e.latents):
        result.notes.append(
            f"Encoders with one time step per frame see their latents stacked {group} frames at a time, "
            f"so that every encoder gets and predicts the same frames."
        )
    rows_of = [{int(i): r for r, i in enumerate(c.frame_indices)} for c in clips]
    real_size = _eval_size(encoded[0].grouped[0], settings.short_side)
    real = [
        (resize_frames(c.frames, encoded[0].grouped[0].crop_box, real_size) * 255).round().to(torch.uint8)
        for c in clips
    ]
    if targets is not None:
        compared = {e.latents[0].encoder for e in encoded}
        for base in PIXEL_BASELINES:
            if base not in compared and not cancelled():
                extra = _encode_all(base, clips, settings, cache, report)
                result.baseline_probes.append(probe(extra.latents, targets, settings.val_fraction, extra.label))
    # 3. train and evaluate each encoder's world model on the plan
    for index, e in enumerate(encoded):
        if cancelled():
            result.cancelled = True
            break
        t0 = time.perf_counter()
        world = settings.new_world(e.grouped, plan.skip, action_dim)
        ckpt = None
        if checkpoint_dir is not None:
            ckpt = Path(checkpoint_dir) / safe_name(e.name)
            if resume and (ckpt / "config.json").is_file():
                old = load_world(ckpt, settings.device)
                differs = architecture_differences(old, world)
                if not differs:
                    world = old
                    steps = f"{old.state['decoder'].step} decoder and {old.state['transition'].step} transition steps"
                    _say(notify, f"{e.label}: resuming {ckpt} from {steps}")
                else:
                    _say(notify, f"{e.label}: not resuming {ckpt}: it differs in {'; '.join(differs)}; "
                                 "training from scratch (the checkpoint is overwritten)")
            elif resume:
                _say(notify, f"{e.label}: no checkpoint to resume in {ckpt}; training from scratch")
        seqs = [
            prepare_sequence(world, f, c.frames, c.actions, settings.val_fraction, rows)
            for f, c, rows in zip(e.grouped, clips, rows_of)
        ]
        if index == 0 and notify is not None:
            each = _estimate_seconds(world, seqs, settings)
            notify(
                f"about {len(encoded) * each / 60:.1f} min of training for {len(encoded)} encoder(s) "
                f"({settings.budget}; measured on {e.label})"
            )
        label = e.label
        for part, fn in (("decoder", train_decoder), ("transition", train_transition)):
            fn(
                world, seqs, settings.train_settings(part),
                lambda s, t, l, part=part: report(f"{label}: {part}", s, t, l), cancel, ckpt,
            )
        if cancelled():
            result.cancelled = True
            break
        report(f"{label}: evaluating", 0, 1)
        rows, scored, images = evaluate_world(world, seqs, plan, real, rows_of)
        res = EncoderResult(
            info=world.encoder,
            rows=rows,
            decoder_losses=list(world.state["decoder"].losses),
            decoder_val=list(world.state["decoder"].val_losses),
            transition_losses=list(world.state["transition"].losses),
            transition_val=list(world.state["transition"].val_losses),
            n_windows=len(plan.windows),
            seconds=e.seconds + time.perf_counter() - t0,
            checkpoint=None if ckpt is None else str(ckpt),
            scored=scored,
        )
        if targets is not None:
            report(f"{label}: probes", 0, 1)
            res.probe = probe(e.latents, targets, settings.val_fraction, res.name)
        report(f"{label}: evaluating", 1, 1)
        res.rollout = _rollout_images(plan, scored, images)
        result.encoders.append(res)
        if ckpt is not None:
            save_world(world, ckpt)
        if on_result is not None:
            on_result(result)
    return result


def _rollout_images(plan: StepPlan, scored: Sequence[Sequence[tuple[int, ...]]], images: dict[str, torch.Tensor]) -> dict[str, list]:
    """uint8 frames of the first evaluation window: real, predicted, decoded truth."""
    out: dict[str, list] = {"frames": [], "real": [], "predicted": [], "ceiling": [], "clip": int(plan.windows[0].clip)}
    for j, covered in enumerate(scored[0]):
        out["frames"] += [int(c) for c in covered]
        for key in ("real", "predicted", "ceiling"):
            out[key] += list(to_uint8_frames(images[key][0, j, : len(covered)]))
    return out
