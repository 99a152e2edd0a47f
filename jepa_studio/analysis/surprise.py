"""The surprise timeline: how badly the next steps of a video are predicted, step by step.

**V-JEPA 2 with its predictor** (``method="predictor"``): for every time step ``s`` of
the selection (a tubelet of two frames), the clip of the ``context`` steps before it and
the ``k`` steps from it on is taken; the ``k`` last steps are hidden completely with true
masking (the "future" preset: their tokens never enter the encoder), the predictor
predicts them from the context, and each prediction is compared with the layer-normed
encoding of the full clip (what the predictor was trained to match): per hidden token
``1 - cosine`` and the L1 distance (mean over D). Step ``s``'s *surprise* is the mean over
all hidden tokens; its per-patch map is ``1 - cosine`` of step ``s``'s own tokens.

**Baselines without a trained predictor** (``method="copy"`` or ``"velocity"``), for any
encoder (the pixel tubelet baseline in particular): the next steps are predicted as a copy
of the last step's layer-normed tokens, or extrapolated at constant velocity from the last
two, and scored the same way. Each step is encoded from its own frames only, so no
prediction sees the future.

**The control**: the pixel temporal difference of each step, the mean absolute change
(0..1) of its frames from the frame selected before each. A surprise curve that only
follows it says nothing beyond "pixels changed".

Everything streams: frames are read in order, a window of ``context + k`` steps is kept,
and only scalars and ``[h, w]`` maps are stored per step, so memory does not grow with
the video's length beyond ``S * h * w`` floats.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Sequence

import numpy as np
import torch

from ..encoders.base import encoder_label, group_frame_indices
from ..encoders.predictor import has_predictor
from ..errors import Cancelled, UsageError
from .clip_stream import check_selection, encoding_window, iter_selected
from .maps import layer_norm_tokens
from ..video.timing import frame_times

PREDICTOR = "predictor"
COPY = "copy"
VELOCITY = "velocity"
METHODS: tuple[str, ...] = (PREDICTOR, COPY, VELOCITY)
METHOD_TITLES = {
    PREDICTOR: "V-JEPA 2 predictor, true masking",
    COPY: "copy the last step",
    VELOCITY: "constant velocity from the last two steps",
}

Progress = Callable[[int, int], None]
Cancel = Callable[[], bool]


@dataclass(frozen=True, eq=False)
class SurpriseCurve:
    """Surprise of every time step of a selection, with the pixel control beside it.

    Attributes
    ----------
    method: :data:`PREDICTOR`, :data:`COPY` or :data:`VELOCITY`.
    label: the encoder's name (flags random weights); pretrained: False for random weights.
    frame_indices: length S; the source frames of each time step.
    cosine: float64 [S], mean ``1 - cos`` over the hidden tokens of the prediction that
        starts at the step (NaN where not scored: the first steps, which lack context,
        and steps skipped by ``stride``).
    l1: float64 [S], mean L1 distance (over D, then tokens), NaN likewise.
    patch: float32 [S, h, w], ``1 - cos`` of each patch of the step, NaN likewise.
    pixel_difference: float64 [S], mean |frame - previous selected frame| in [0, 1] over
        the step's frames (NaN for the first step).
    k: steps predicted at once; context: steps of context.
    fps: frames per second of the source (0 when unknown).
    crop_box, patch_size: where the patch maps lie on the source frame.
    step_times: float64 [S], the source's timestamp of each step's first frame in seconds
        (None for a source without timestamps: then ``frame / fps``).
    """

    method: str
    label: str
    pretrained: bool
    frame_indices: tuple[tuple[int, ...], ...]
    cosine: np.ndarray
    l1: np.ndarray
    patch: np.ndarray
    pixel_difference: np.ndarray
    k: int
    context: int
    fps: float
    crop_box: tuple[int, int, int, int]
    patch_size: int
    step_times: np.ndarray | None = None

    @property
    def n_steps(self) -> int:
        """S, the number of time steps."""
        return len(self.frame_indices)

    @property
    def frames(self) -> np.ndarray:
        """int64 [S]: the first source frame of each step."""
        return np.array([s[0] for s in self.frame_indices], dtype=np.int64)

    @property
    def seconds(self) -> np.ndarray:
        """float64 [S]: the time of each step's first frame in seconds (frame indices when the
        source has neither timestamps nor a frame rate)."""
        if self.step_times is not None:
            return np.asarray(self.step_times, dtype=np.float64)
        return self.frames / self.fps if self.fps > 0 else self.frames.astype(np.float64)

    @property
    def timed(self) -> bool:
        """Whether :attr:`seconds` are seconds (not frame indices)."""
        return self.step_times is not None or self.fps > 0

    def step_of_frame(self, frame: int) -> int | None:
        """The step covering source ``frame``, or None."""
        for s, covered in enumerate(self.frame_indices):
            if int(frame) in covered:
                return s
        return None

    def peaks(self, n: int = 5, separation: int = 2) -> list[int]:
        """Up to ``n`` steps of highest surprise, at least ``separation`` steps apart, highest first."""
        order = [int(s) for s in np.argsort(-np.nan_to_num(self.cosine, nan=-np.inf)) if np.isfinite(self.cosine[s])]
        chosen: list[int] = []
        for s in order:
            if all(abs(s - c) >= separation for c in chosen):
                chosen.append(s)
            if len(chosen) == n:
                break
        return chosen

    @property
    def title(self) -> str:
        """What the curve measures, for plots and files."""
        return f"{self.label}: {METHOD_TITLES[self.method]}, k={self.k}" + (
            f", context {self.context} steps" if self.method == PREDICTOR else ""
        )


# ---------------------------------------------------------------- streaming steps


def iter_steps(
    source: Any, frames: Sequence[int], tubelet: int
) -> Iterator[tuple[int, list[int], np.ndarray, float]]:
    """Yield each time step of a selection as it is read.

    Yields
    ------
    (step, its source frame indices, uint8 frames [n, H, W, 3], pixel difference): the
    difference is the mean |frame - previous frame| / 255 over the step's frames (NaN for
    the selection's first frame).
    """
    groups = group_frame_indices(frames, tubelet)
    it = iter_selected(source, frames)
    previous: np.ndarray | None = None
    for s, group in enumerate(groups):
        images, diffs = [], []
        for _ in group:
            _, image = next(it)
            if previous is not None:
                diffs.append(float(np.abs(image.astype(np.int16) - previous.astype(np.int16)).mean()) / 255.0)
            previous = image
            images.append(image)
        yield s, list(group), np.stack(images), float(np.mean(diffs)) if diffs else float("nan")


class _Recorder:
    """Collects per-step scores into the arrays of a :class:`SurpriseCurve`."""

    def __init__(self, n_steps: int) -> None:
        self.cosine = np.full(n_steps, np.nan)
        self.l1 = np.full(n_steps, np.nan)
        self.pixel = np.full(n_steps, np.nan)
        self.patch: np.ndarray | None = None
        self.n = n_steps

    def record(self, step: int, surprise: torch.Tensor, l1: torch.Tensor) -> None:
        """surprise, l1: float [k, h, w] per hidden token; the map is of the first hidden step."""
        if self.patch is None:
            self.patch = np.full((self.n, *surprise.shape[1:]), np.nan, dtype=np.float32)
        self.cosine[step] = float(surprise.float().mean())
        self.l1[step] = float(l1.float().mean())
        self.patch[step] = surprise[0].float().cpu().numpy()


def _check_common(k: int, stride: int) -> None:
    if k < 1:
        raise UsageError(f"k (steps predicted at once) must be at least 1, not {k}")
    if stride < 1:
        raise UsageError(f"the stride must be at least 1 step, not {stride}")


def _tick(cancel: Cancel | None, progress: Progress | None, done: int, total: int) -> None:
    if cancel is not None and cancel():
        raise Cancelled("surprise cancelled")
    if progress is not None:
        progress(done, total)


# ---------------------------------------------------------------- the V-JEPA 2 predictor


def future_prediction(encoder: Any, frames: np.ndarray, frame_indices: Sequence[int], k: int) -> Any:
    """The predictor's guess of the last ``k`` steps of a clip from the steps before them.

    This is the one place the surprise timeline calls masked prediction: the "future"
    preset hides the last ``k`` time steps whole, with true masking.

    Parameters
    ----------
    encoder: a V-JEPA 2 encoder with its predictor.
    frames: uint8 [T, H, W, 3]; frame_indices: their T source indices.
    k: hidden steps (at least one step must stay visible).

    Returns
    -------
    :class:`~jepa_studio.analysis.masked_prediction.MaskedPrediction` (true masking):
    ``cosine`` and ``l1`` [T', h, w] are set on the hidden (last k) steps.
    """
    from .masked_prediction import encoder_masked_prediction
    from .masking import preset_mask

    mask = preset_mask(
        "future", frames.shape[1:3], frame_indices, future_steps=k, tubelet_size=int(encoder.tubelet_size)
    )
    return encoder_masked_prediction(encoder, frames, mask, frame_indices, include_leaky=False).true


def predictor_surprise(
    encoder: Any,
    source: Any,
    frames: Sequence[int],
    *,
    k: int = 1,
    context: int = 7,
    stride: int = 1,
    progress: Progress | None = None,
    cancel: Cancel | None = None,
) -> SurpriseCurve:
    """V-JEPA 2's surprise at every step of ``frames`` of ``source`` (a Video or uint8 [T, H, W, 3]).

    Step ``s`` is scored from a clip of steps ``s - context .. s + k - 1`` whose last ``k``
    steps are hidden (true masking); steps before ``context`` are not scored, and with
    ``stride`` > 1 only every ``stride``-th step is (each costs one full and one context
    encoder pass and one predictor pass).

    Returns
    -------
    :class:`SurpriseCurve` with ``patch`` [S, h, w].
    """
    if not has_predictor(encoder):
        raise UsageError(
            f"{encoder_label(encoder)} has no predictor: the predictor's surprise needs a V-JEPA 2 checkpoint "
            "with its predictor; use the copy or velocity baseline for other encoders"
        )
    _check_common(k, stride)
    if context < 1:
        raise UsageError(f"the context must be at least 1 step, not {context}")
    frames = check_selection(source, frames)
    tub = int(encoder.tubelet_size)
    n_steps = len(group_frame_indices(frames, tub))
    if n_steps < context + k:
        raise UsageError(
            f"{len(frames)} frames make {n_steps} steps of {tub} frames; the surprise needs at least "
            f"{context + k} (context {context} + k {k}): select more frames or lower the context"
        )
    rec = _Recorder(n_steps)
    window: deque[tuple[list[int], np.ndarray]] = deque(maxlen=context + k)
    meta: dict[str, Any] = {}
    for s, idx, clip, diff in iter_steps(source, frames, tub):
        rec.pixel[s] = diff
        window.append((idx, clip))
        first_hidden = s - k + 1
        if len(window) == context + k and (first_hidden - context) % stride == 0:
            indices = [f for group, _ in window for f in group]
            pred = future_prediction(encoder, np.concatenate([c for _, c in window]), indices, k)
            rec.record(first_hidden, 1.0 - pred.cosine[-k:], pred.l1[-k:])
            meta = {"crop_box": pred.crop_box, "patch_size": pred.patch_size}
        _tick(cancel, progress, s + 1, n_steps)
    return _curve(encoder, PREDICTOR, frames, tub, rec, k, context, source, **meta)


# ---------------------------------------------------------------- baselines


def _steps_per_call(encoder: Any) -> int:
    """Steps encoded per call so that each step's tokens still see only its own frames.

    A video model (V-JEPA 2) attends across its whole input: one step per call. Image
    encoders and the pixel baselines encode steps independently: whole windows.
    """
    tub = int(encoder.tubelet_size)
    if tub > 1 and hasattr(encoder, "model"):
        return 1
    return max(1, encoding_window(encoder) // tub)


def _encoded_steps(
    encoder: Any, steps: Iterator[tuple[int, list[int], np.ndarray, float]]
) -> Iterator[tuple[int, float, Any]]:
    """(step, pixel difference, PatchFeatures of the batch holding it, index in that batch)."""
    per_call = _steps_per_call(encoder)
    batch: list[tuple[int, list[int], np.ndarray, float]] = []

    def flush() -> Iterator[tuple[int, float, Any]]:
        feats = encoder.encode(np.concatenate([b[2] for b in batch]), [f for b in batch for f in b[1]])
        for j, (s, _, _, diff) in enumerate(batch):
            yield s, diff, (feats, j)

    for item in steps:
        batch.append(item)
        if len(batch) == per_call:
            yield from flush()
            batch = []
    if batch:
        yield from flush()


def baseline_surprise(
    encoder: Any,
    source: Any,
    frames: Sequence[int],
    *,
    method: str = COPY,
    k: int = 1,
    progress: Progress | None = None,
    cancel: Cancel | None = None,
) -> SurpriseCurve:
    """Surprise of a predictor that needs no training, on any encoder's tokens.

    ``method="copy"``: every next step is predicted as the last step's layer-normed tokens;
    ``"velocity"``: extrapolated from the last two, ``z[s-1] + j (z[s-1] - z[s-2])`` for
    the j-th step ahead. Scored as the V-JEPA 2 predictor is: ``1 - cos`` and L1 against
    the layer-normed tokens of the hidden steps.

    Returns
    -------
    :class:`SurpriseCurve` (steps without enough history are NaN).
    """
    from .masked_prediction import score_predictions

    if method not in (COPY, VELOCITY):
        raise UsageError(f"the baseline is 'copy' or 'velocity', not {method!r}")
    _check_common(k, 1)
    frames = check_selection(source, frames)
    tub = int(encoder.tubelet_size)
    n_steps = len(group_frame_indices(frames, tub))
    history = 1 if method == COPY else 2
    if n_steps < history + k:
        raise UsageError(f"{len(frames)} frames make {n_steps} steps; the {method} baseline needs at least {history + k}")
    rec = _Recorder(n_steps)
    recent: deque[torch.Tensor] = deque(maxlen=history + k)
    meta: dict[str, Any] = {}
    for s, diff, (feats, j) in _encoded_steps(encoder, iter_steps(source, frames, tub)):
        rec.pixel[s] = diff
        meta = {"crop_box": feats.crop_box, "patch_size": feats.patch_size}
        recent.append(layer_norm_tokens(feats.tokens[j].to(torch.float32)))
        if len(recent) == history + k:
            past, future = list(recent)[:history], torch.stack(list(recent)[history:])  # future [k, h, w, D]
            last = past[-1]
            ahead = torch.arange(1, k + 1, dtype=torch.float32).view(k, 1, 1, 1)
            guess = last.expand_as(future) if method == COPY else last + ahead * (last - past[0])
            d = future.shape[-1]
            cos, l1 = score_predictions(guess.reshape(-1, d), future.reshape(-1, d))
            shape = future.shape[:-1]
            rec.record(s - k + 1, 1.0 - cos.reshape(shape), l1.reshape(shape))
        _tick(cancel, progress, s + 1, n_steps)
    return _curve(encoder, method, frames, tub, rec, k, history, source, **meta)


def _curve(
    encoder: Any,
    method: str,
    frames: Sequence[int],
    tub: int,
    rec: _Recorder,
    k: int,
    context: int,
    source: Any,
    crop_box: tuple[int, int, int, int] = (0, 0, 0, 0),
    patch_size: int = 16,
) -> SurpriseCurve:
    patch = rec.patch if rec.patch is not None else np.full((rec.n, 0, 0), np.nan, dtype=np.float32)
    return SurpriseCurve(
        method=method,
        label=encoder_label(encoder),
        pretrained=bool(getattr(encoder, "pretrained", True)),
        frame_indices=group_frame_indices(frames, tub),
        cosine=rec.cosine,
        l1=rec.l1,
        patch=patch,
        pixel_difference=rec.pixel,
        k=int(k),
        context=int(context),
        fps=float(getattr(source, "fps", 0.0) or 0.0),
        crop_box=tuple(int(v) for v in crop_box),  # type: ignore[arg-type]
        patch_size=int(patch_size),
        step_times=_step_times(source, frames, tub),
    )


def _step_times(source: Any, frames: Sequence[int], tubelet: int) -> np.ndarray | None:
    """float64 [S]: the timestamp of each step's first frame, or None without timestamps."""
    if getattr(source, "timestamps", None) is None:
        return None
    return frame_times(source, [group[0] for group in group_frame_indices(frames, tubelet)])


def surprise_curve(
    encoder: Any,
    source: Any,
    frames: Sequence[int],
    *,
    method: str | None = None,
    k: int = 1,
    context: int = 7,
    stride: int = 1,
    progress: Progress | None = None,
    cancel: Cancel | None = None,
) -> SurpriseCurve:
    """The surprise timeline of ``frames`` of ``source`` for one encoder.

    ``method`` defaults to the predictor for V-JEPA 2 (with its predictor) and to the copy
    baseline otherwise; see :func:`predictor_surprise` and :func:`baseline_surprise`.
    """
    method = method or (PREDICTOR if has_predictor(encoder) else COPY)
    if method not in METHODS:
        raise UsageError(f"unknown surprise method {method!r}; choose one of {', '.join(METHODS)}")
    if method == PREDICTOR:
        return predictor_surprise(
            encoder, source, frames, k=k, context=context, stride=stride, progress=progress, cancel=cancel
        )
    return baseline_surprise(encoder, source, frames, method=method, k=k, progress=progress, cancel=cancel)
