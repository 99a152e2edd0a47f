"""Temporal probes: how much of the world's state one time step's latent carries.

A ridge regression (scikit-learn) from one time step's latent to what the simulator knows
at the step's last frame: the pendulum's (sin θ, cos θ, ω), or the garden sample's object
positions and velocities. A single frame cannot show velocity, a tubelet (or a latent that
saw earlier frames) can: the ω / velocity probe shows whether an encoder carries motion.

Two readouts per encoder: ``"mean"`` (the token grid mean-pooled to one D-dim vector) and
``"tokens"`` (the whole grid, average-pooled to at most :data:`MAX_GRID` cells per side).
Features are standardised on the training samples and the ridge penalty is chosen by
leave-one-out cross-validation on them (``RidgeCV``); R² is computed on held-out samples
only: held-out clips (pendulum episodes) or the held-out end of the clip in time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from ..encoders.base import PatchFeatures
from ..errors import UsageError

#: the token grid is average-pooled to at most this many cells per side for the "tokens" probe
MAX_GRID = 8
#: ridge penalties tried (on standardised features)
ALPHAS = tuple(float(a) for a in np.logspace(-1, 6, 15))
#: at most this many training samples are fitted (evenly spaced: neighbouring frames are alike)
MAX_TRAIN = 512
POOLINGS = ("mean", "tokens")


@dataclass(frozen=True)
class ProbeTargets:
    """What a probe predicts, per clip and source frame.

    Attributes
    ----------
    names: the K target names, e.g. ``("sin θ", "cos θ", "ω")``.
    values: per clip, float [T, K]: row ``i`` is the state shown in source frame ``i`` (the
        frame index the clip's latents carry in ``frame_indices``).
    valid: per clip, bool [T, K] (None: all valid), e.g. a point hidden behind the fence.
    summary: name -> indices of ``names`` averaged into one reported R² (e.g. "θ": (0, 1)).
    held_out: ``"clips"`` (the last clips are held out) or ``"time"`` (the end of every clip).
    """

    names: tuple[str, ...]
    values: tuple[np.ndarray, ...]
    summary: dict[str, tuple[int, ...]]
    held_out: str = "clips"
    valid: tuple[np.ndarray, ...] | None = None

    def __post_init__(self) -> None:
        if self.held_out not in ("clips", "time"):
            raise ValueError(f"held_out must be 'clips' or 'time', not {self.held_out!r}")


@dataclass(frozen=True)
class ProbeScore:
    """R² on held-out samples of one target with one readout (NaN where it cannot be told:
    the target does not vary among the held-out samples)."""

    target: str
    pooling: str
    r2: float
    n_train: int
    n_test: int


@dataclass
class ProbeResult:
    """One encoder's probe scores: per target and readout, and the summaries.

    ``summary[(name, pooling)]`` is the mean R² of the targets the summary groups.
    """

    label: str
    split: str
    scores: list[ProbeScore] = field(default_factory=list)
    summary: dict[tuple[str, str], float] = field(default_factory=dict)
    grid: tuple[int, int] = (0, 0)

    def r2(self, name: str, pooling: str = "mean") -> float:
        """The summary R² of ``name`` (e.g. "θ", "ω") with ``pooling``."""
        return self.summary.get((name, pooling), float("nan"))

    def to_json(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "held_out": self.split,
            "token_grid": list(self.grid),
            "summary": [{"target": n, "pooling": p, "r2": v} for (n, p), v in self.summary.items()],
            "scores": [s.__dict__ for s in self.scores],
        }


def pendulum_targets(episodes: Sequence[Any]) -> ProbeTargets:
    """(sin θ, cos θ, ω) per frame of pendulum episodes (anything with ``.states`` [T, 2])."""
    values = []
    for ep in episodes:
        s = np.asarray(ep.states, np.float64)
        values.append(np.stack([np.sin(s[:, 0]), np.cos(s[:, 0]), s[:, 1]], 1))
    return ProbeTargets(("sin θ", "cos θ", "ω"), tuple(values), {"θ": (0, 1), "ω": (2,)}, "clips")


def scene_targets(truth: Any) -> ProbeTargets:
    """Positions (x, y in px) and velocities (px/s) of the garden sample's tracked points.

    ``truth`` is a :class:`~jepa_studio.video.synthetic.SceneTruth` of the video's frames
    ``0..T-1`` (one clip, indexed by source frame); a point counts only where it is
    visible; held out in time. Points that never move give no R² (they do not vary).
    """
    names, cols, valid = [], [], []
    for k, name in enumerate(truth.names):
        for what, arr in (("x", truth.xy[k, :, 0]), ("y", truth.xy[k, :, 1]), ("vx", truth.velocity[k, :, 0]),
                          ("vy", truth.velocity[k, :, 1])):
            names.append(f"{name} {what}")
            cols.append(arr)
            valid.append(truth.visible[k])
    pos = tuple(i for i, n in enumerate(names) if n.split()[-1] in ("x", "y"))
    vel = tuple(i for i, n in enumerate(names) if n.split()[-1] in ("vx", "vy"))
    return ProbeTargets(tuple(names), (np.stack(cols, 1),), {"position": pos, "velocity": vel}, "time",
                        (np.stack(valid, 1),))


def readout(tokens: torch.Tensor, pooling: str) -> np.ndarray:
    """Latents [T', h, w, D] -> probe inputs float32 [T', F] (mean-pooled, or the pooled grid)."""
    x = tokens.detach().float().cpu()
    if pooling == "mean":
        return x.mean(dim=(1, 2)).numpy()
    if pooling != "tokens":
        raise ValueError(f"pooling must be one of {POOLINGS}")
    t, h, w, d = x.shape
    if h > MAX_GRID or w > MAX_GRID:
        x = F.adaptive_avg_pool2d(x.permute(0, 3, 1, 2), (min(h, MAX_GRID), min(w, MAX_GRID))).permute(0, 2, 3, 1)
    return x.reshape(t, -1).numpy()


def _samples(
    features: Sequence[PatchFeatures], targets: ProbeTargets, val_fraction: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, str]:
    """The samples' targets [N, K], validity [N, K] and train flag [N] (one sample per time
    step of every clip), and the split in words."""
    n_clips = len(features)
    if len(targets.values) != n_clips:
        raise ValueError(f"{len(targets.values)} target clips for {n_clips} feature clips")
    if targets.held_out == "clips":
        n_test = max(1, int(round(n_clips * val_fraction)))
        if n_clips - n_test < 1:
            raise UsageError("the probes need at least two clips: one to train on, one held out")
    ys, valid, train = [], [], []
    for c, f in enumerate(features):
        rows = [g[-1] for g in f.frame_indices]  # a step's state is its last frame's
        y = targets.values[c][rows]
        v = np.ones_like(y, bool) if targets.valid is None else targets.valid[c][rows]
        if targets.held_out == "clips":
            is_train = np.full(len(rows), c < n_clips - n_test)
        else:
            first = int(round(len(rows) * (1 - val_fraction)))
            is_train = np.arange(len(rows)) < first
        ys.append(y)
        valid.append(v)
        train.append(is_train)
    if targets.held_out == "clips":
        split = f"fitted on {n_clips - n_test} clips, scored on {n_test} held-out clips"
    else:
        split = f"fitted on the first {1 - val_fraction:.0%} of the time steps, scored on the rest"
    return np.concatenate(ys), np.concatenate(valid), np.concatenate(train), split


def r2_score(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """1 - SS_res / SS_tot of one target (NaN when it does not vary)."""
    ss_tot = float(((y_true - y_true.mean()) ** 2).sum())
    if ss_tot <= 1e-12 * max(1.0, float((y_true**2).sum())):
        return float("nan")
    return 1.0 - float(((y_true - y_pred) ** 2).sum()) / ss_tot


def fit_probe(x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray) -> np.ndarray:
    """Standardise on the training samples, fit ``RidgeCV`` (leave-one-out over
    :data:`ALPHAS`, at most :data:`MAX_TRAIN` samples, evenly spaced), predict the test
    samples. x: [N, F], y: [N] or [N, K]."""
    from sklearn.linear_model import RidgeCV

    if len(x_train) > MAX_TRAIN:
        keep = np.linspace(0, len(x_train) - 1, MAX_TRAIN).round().astype(int)
        x_train, y_train = x_train[keep], y_train[keep]
    mean = x_train.mean(0, dtype=np.float64)
    std = x_train.std(0, dtype=np.float64)
    std[std < 1e-8] = 1.0
    mean, std = mean.astype(np.float32), std.astype(np.float32)
    model = RidgeCV(alphas=ALPHAS, alpha_per_target=y_train.ndim == 2)
    model.fit((x_train - mean) / std, y_train.astype(np.float32))
    return model.predict((x_test - mean) / std).astype(np.float64)


def probe(features: Sequence[PatchFeatures], targets: ProbeTargets, val_fraction: float = 0.25,
          label: str | None = None) -> ProbeResult:
    """Fit the probes of one encoder and score them on held-out samples.

    Parameters
    ----------
    features: per clip, the encoder's latents (one sample per time step; its target is the
        state of the step's last frame).
    targets: see :class:`ProbeTargets`.
    val_fraction: the held-out share of the clips (``held_out="clips"``) or of every clip's
        time steps (``"time"``).

    Returns
    -------
    ProbeResult: R² per target and readout on held-out samples, and the summaries.
    """
    y, valid, train, split = _samples(features, targets, val_fraction)
    first = features[0]
    result = ProbeResult(label or first.label, split, grid=tuple(min(g, MAX_GRID) for g in first.grid[1:]))  # type: ignore[arg-type]
    # targets valid on the same samples are fitted together (one decomposition)
    masks: dict[bytes, list[int]] = {}
    for k in range(len(targets.names)):
        masks.setdefault(valid[:, k].tobytes(), []).append(k)
    for pooling in POOLINGS:
        x = np.concatenate([readout(f.tokens, pooling) for f in features])
        r2 = [float("nan")] * len(targets.names)
        for members in masks.values():
            v = valid[:, members[0]]
            tr, te = train & v, ~train & v
            if tr.sum() < 2 or te.sum() < 2:
                continue
            pred = fit_probe(x[tr], y[tr][:, members], x[te]).reshape(int(te.sum()), len(members))
            for j, k in enumerate(members):
                r2[k] = r2_score(y[te, k], pred[:, j])
                result.scores.append(ProbeScore(targets.names[k], pooling, r2[k], int(tr.sum()), int(te.sum())))
        for name, members in targets.summary.items():
            vals = [r2[i] for i in members if math.isfinite(r2[i])]
            result.summary[(name, pooling)] = float(np.mean(vals)) if vals else float("nan")
    return result
