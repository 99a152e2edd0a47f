"""Temporal probes: how much of the world's state one time step's latent carries.

A ridge regression (scikit-learn) from one time step's latent to what the simulator knows
at the step's last frame: the pendulum's (sin θ, cos θ, ω), or the garden sample's object
positions and velocities. A single frame cannot show velocity, a tubelet (or a latent that
saw earlier frames) can: the ω / velocity probe shows whether an encoder carries motion.

Two readouts per encoder: ``"mean"`` (the token grid mean-pooled to one D-dim vector) and
``"tokens"`` (the whole grid, average-pooled to at most :data:`MAX_GRID` cells per side).
The ridge penalty is chosen by cross-validation over whole clips (or blocks of time) of the
training samples (:func:`fit_probe`); R² is computed on held-out samples only: held-out
clips (pendulum episodes) or held-out blocks of the clip in time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from ..encoders.base import PatchFeatures
from ..errors import UsageError

#: the token grid is average-pooled to at most this many cells per side for the "tokens" probe
MAX_GRID = 8
#: ridge penalties tried (relative to the mean of the kernel's diagonal)
ALPHAS = tuple(float(a) for a in np.logspace(-4, 3, 15))
#: at most this many training samples are fitted (evenly spaced: neighbouring frames are alike)
MAX_TRAIN = 512
#: a clip held out in time is cut into this many blocks (see :func:`held_out_blocks`)
TIME_BLOCKS = 8
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
    summary: name -> indices of ``names`` whose R² is reported together (pooled, see
        :func:`pooled_r2`; e.g. "θ": (0, 1)).
    held_out: ``"clips"`` (the last clips are held out) or ``"time"`` (blocks of every clip,
        see :func:`held_out_blocks`).
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

    ``summary[(name, pooling)]`` is the pooled R² of the targets the summary groups.
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
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, str]:
    """The samples' targets [N, K], validity [N, K], train flag [N] and group [N] (its clip,
    or its block of time; one sample per time step of every clip), and the split in words."""
    n_clips = len(features)
    if len(targets.values) != n_clips:
        raise ValueError(f"{len(targets.values)} target clips for {n_clips} feature clips")
    if targets.held_out == "clips":
        n_test = max(1, int(round(n_clips * val_fraction)))
        if n_clips - n_test < 1:
            raise UsageError("the probes need at least two clips: one to train on, one held out")
    ys, valid, train, groups = [], [], [], []
    for c, f in enumerate(features):
        rows = [g[-1] for g in f.frame_indices]  # a step's state is its last frame's
        y = targets.values[c][rows]
        v = np.ones_like(y, bool) if targets.valid is None else targets.valid[c][rows]
        if targets.held_out == "clips":
            is_train = np.full(len(rows), c < n_clips - n_test)
            groups.append(np.full(len(rows), c))
        else:
            is_train = ~held_out_blocks(len(rows), val_fraction)
            groups.append(c * TIME_BLOCKS + time_blocks(len(rows)))
        ys.append(y)
        valid.append(v)
        train.append(is_train)
    if targets.held_out == "clips":
        split = f"fitted on {n_clips - n_test} clips, scored on {n_test} held-out clips"
    else:
        k = len(_blocks(val_fraction))
        split = f"fitted on {TIME_BLOCKS - k} of {TIME_BLOCKS} blocks of consecutive time steps, scored on the other {k}"
    return np.concatenate(ys), np.concatenate(valid), np.concatenate(train), np.concatenate(groups), split


def time_blocks(n_steps: int) -> np.ndarray:
    """int [n_steps]: the block (0 .. :data:`TIME_BLOCKS` - 1) of each time step of a clip."""
    return np.minimum(np.arange(n_steps) * TIME_BLOCKS // max(1, n_steps), TIME_BLOCKS - 1)


def _blocks(val_fraction: float) -> list[int]:
    k = min(TIME_BLOCKS - 1, max(1, int(round(TIME_BLOCKS * val_fraction))))
    return [int(round((i + 1) * TIME_BLOCKS / k)) - 1 for i in range(k)]


def held_out_blocks(n_steps: int, val_fraction: float) -> np.ndarray:
    """bool [n_steps]: the time steps a probe is scored on when a clip is held out in time.

    The clip is cut into :data:`TIME_BLOCKS` blocks of consecutive steps and about
    ``val_fraction`` of them, evenly spaced and always the last, are held out: held-out
    frames lie between training frames, so a probe is not asked to extrapolate positions
    beyond those it saw (which the end of a short clip would).
    """
    return np.isin(time_blocks(n_steps), _blocks(val_fraction))


def pooled_r2(parts: Sequence[tuple[float, float]]) -> float:
    """R² of several targets at once, ``1 - sum SS_res / sum SS_tot`` (scikit-learn's
    "variance_weighted"): a target that barely varies among the held-out samples cannot
    dominate it. ``parts``: (SS_res, SS_tot) per target; NaN when nothing varies."""
    ss_res = sum(p[0] for p in parts)
    ss_tot = sum(p[1] for p in parts)
    return 1.0 - ss_res / ss_tot if ss_tot > 1e-12 else float("nan")


def r2_score(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """1 - SS_res / SS_tot of one target (NaN when it does not vary)."""
    ss_tot = float(((y_true - y_true.mean()) ** 2).sum())
    if ss_tot <= 1e-12 * max(1.0, float((y_true**2).sum())):
        return float("nan")
    return 1.0 - float(((y_true - y_pred) ** 2).sum()) / ss_tot


def fit_probe(x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """Ridge regression from ``x_train`` [N, F] to ``y_train`` [N, K], predicting ``x_test``
    [M, F] -> [M, K].

    Features are centred and divided by their std, floored at the mean std (large channels
    are tamed, near-constant ones are not blown up into noise); the fit is scikit-learn's
    ``KernelRidge`` on the linear kernel (ridge in its dual form: cheap for N << F) with an
    intercept; the penalty (:data:`ALPHAS`, relative to the kernel's scale) is chosen per
    target by cross-validation over folds of whole ``groups`` (clips, or blocks of time), so
    neighbouring, nearly identical frames never sit on both sides of a fold. At most
    :data:`MAX_TRAIN` training samples, evenly spaced.
    """
    from sklearn.kernel_ridge import KernelRidge
    from sklearn.model_selection import GroupKFold

    if len(x_train) > MAX_TRAIN:
        keep = np.linspace(0, len(x_train) - 1, MAX_TRAIN).round().astype(int)
        x_train, y_train, groups = x_train[keep], y_train[keep], groups[keep]
    mean = x_train.mean(0, dtype=np.float64)
    std = x_train.std(0, dtype=np.float64)
    scale = np.maximum(std, max(float(std.mean()), 1e-12)).astype(np.float32)
    a = (x_train - mean.astype(np.float32)) / scale
    b = (x_test - mean.astype(np.float32)) / scale
    k_train = (a @ a.T).astype(np.float64)
    norm = max(float(np.trace(k_train)) / len(a), 1e-12)
    k_train /= norm
    k_test = (b @ a.T).astype(np.float64) / norm
    y_mean = y_train.mean(0)
    yc = y_train - y_mean
    n_groups = len(np.unique(groups))
    best = np.full(yc.shape[1], 1.0)
    if n_groups >= 2:
        errors = np.zeros((len(ALPHAS), yc.shape[1]))
        for tr, te in GroupKFold(n_splits=min(4, n_groups)).split(a, groups=groups):
            for i, alpha in enumerate(ALPHAS):
                model = KernelRidge(alpha=alpha, kernel="precomputed").fit(k_train[np.ix_(tr, tr)], yc[tr])
                errors[i] += ((model.predict(k_train[np.ix_(te, tr)]) - yc[te]) ** 2).sum(0)
        best = np.asarray(ALPHAS)[errors.argmin(0)]
    out = np.empty((len(x_test), yc.shape[1]))
    for alpha in np.unique(best):
        cols = np.flatnonzero(best == alpha)
        model = KernelRidge(alpha=float(alpha), kernel="precomputed").fit(k_train, yc[:, cols])
        out[:, cols] = model.predict(k_test).reshape(len(x_test), len(cols))
    return out + y_mean


def probe(features: Sequence[PatchFeatures], targets: ProbeTargets, val_fraction: float = 0.25,
          label: str | None = None) -> ProbeResult:
    """Fit the probes of one encoder and score them on held-out samples.

    Parameters
    ----------
    features: per clip, the encoder's latents (one sample per time step; its target is the
        state of the step's last frame).
    targets: see :class:`ProbeTargets`.
    val_fraction: the held-out share of the clips (``held_out="clips"``) or of every clip's
        time steps (``"time"``: in blocks, see :func:`held_out_blocks`).

    Returns
    -------
    ProbeResult: R² per target and readout on held-out samples, and the summaries.
    """
    y, valid, train, groups, split = _samples(features, targets, val_fraction)
    first = features[0]
    result = ProbeResult(label or first.label, split, grid=tuple(min(g, MAX_GRID) for g in first.grid[1:]))  # type: ignore[arg-type]
    # targets valid on the same samples are fitted together (one decomposition)
    masks: dict[bytes, list[int]] = {}
    for k in range(len(targets.names)):
        masks.setdefault(valid[:, k].tobytes(), []).append(k)
    for pooling in POOLINGS:
        x = np.concatenate([readout(f.tokens, pooling) for f in features])
        residual: dict[int, tuple[float, float]] = {}  # target -> (SS_res, SS_tot) held out
        for members in masks.values():
            v = valid[:, members[0]]
            tr, te = train & v, ~train & v
            if tr.sum() < 2 or te.sum() < 2:
                continue
            pred = fit_probe(x[tr], y[tr][:, members], x[te], groups[tr])
            for j, k in enumerate(members):
                truth = y[te, k]
                residual[k] = (float(((truth - pred[:, j]) ** 2).sum()), float(((truth - truth.mean()) ** 2).sum()))
                r2 = r2_score(truth, pred[:, j])
                result.scores.append(ProbeScore(targets.names[k], pooling, r2, int(tr.sum()), int(te.sum())))
        for name, members in targets.summary.items():
            result.summary[(name, pooling)] = pooled_r2([residual[i] for i in members if i in residual])
    return result
