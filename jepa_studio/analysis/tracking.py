"""Point tracking by nothing but feature similarity (the protocol of "Exploring
Temporally-Aware Features for Point Tracking", Kim et al., CVPR 2025, refiner-free).

For each query point (a source frame and an (x, y) pixel in it):

1. the query's feature is sampled bilinearly from the token grid of the time step that
   covers its frame, at the point's position on that grid;
2. its cosine similarity to every patch of every time step is computed; tokens are
   *centred* first (the clip's mean token removed), because raw-pixel patches are all
   alike on texture (cosine ~0.99 on grass) and the raw cosine then says little;
3. per time step, the arg-max patch is found, then a soft-argmax over a small window
   around it (weights ``softmax(similarity / temperature)``) gives a sub-patch position;
4. that position goes back to source-frame pixels through the crop box and the resize,
   exactly as :mod:`jepa_studio.encoders.preprocess` mapped the frame to the grid.

Positions are per *time step*: a V-JEPA 2 step (a tubelet of two frames) has one
position for both of its frames. The confidence of a step is the cosine similarity at the
arg-max.

Coordinates: x = 0 is the left edge of the source frame, y = 0 its top edge; a token of
grid column ``c`` covers source x in ``[x0 + c * sx, x0 + (c + 1) * sx)`` with ``sx =
(x1 - x0) / w`` and its centre is at ``x0 + (c + 0.5) * sx``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from ..encoders.base import PatchFeatures
from ..errors import UsageError

#: similarity maps are computed this many time steps at a time (bounds the [N, c, h*w] block)
_STEP_CHUNK = 64


@dataclass(frozen=True, eq=False)
class Tracks:
    """Where one encoder's features put each query point at every time step of a clip.

    Attributes
    ----------
    xy:
        float32 [N, T', 2]: (x, y) in source-frame pixels per point and time step.
    confidence:
        float32 [N, T']: cosine similarity (of centred features, when ``centred``) between
        the query's feature and the arg-max patch of each step, in [-1, 1].
    frame_indices:
        length T'; the source frames each time step covers (as in :class:`PatchFeatures`).
    queries:
        float64 [N, 3]: (source frame, x, y) of each query.
    query_steps:
        int64 [N]: the time step each query's feature was sampled from.
    names:
        N point names ("" when the queries were not named).
    label:
        the encoder's name for panes and exports (flags random weights).
    pretrained:
        False when the encoder's weights are random.
    temperature, window, centred:
        the settings used (see :func:`track_points`).
    crop_box, grid, patch_size:
        the features' crop box (x0, y0, x1, y1), token grid (h, w) and patch size.
    """

    xy: np.ndarray
    confidence: np.ndarray
    frame_indices: tuple[tuple[int, ...], ...]
    queries: np.ndarray
    query_steps: np.ndarray
    names: tuple[str, ...]
    label: str
    pretrained: bool
    temperature: float
    window: int
    centred: bool
    crop_box: tuple[int, int, int, int]
    grid: tuple[int, int]
    patch_size: int

    @property
    def n_points(self) -> int:
        """N, the number of tracked points."""
        return int(self.xy.shape[0])

    @property
    def n_steps(self) -> int:
        """T', the number of time steps."""
        return int(self.xy.shape[1])

    def step_of_frame(self, frame: int) -> int | None:
        """The time step covering source ``frame``, or None when no step does."""
        for t, covered in enumerate(self.frame_indices):
            if int(frame) in covered:
                return t
        return None

    def positions_at(self, frame: int) -> np.ndarray | None:
        """float32 [N, 2]: every point's (x, y) at source ``frame`` (None if no step covers it)."""
        t = self.step_of_frame(frame)
        return None if t is None else self.xy[:, t]

    def trail(self, frame: int, tail: int | None = None) -> np.ndarray:
        """float32 [N, K, 2]: the positions of the steps that start at or before source ``frame``
        (the last ``tail`` of them), oldest first: a trail that follows the playhead."""
        steps = [t for t, covered in enumerate(self.frame_indices) if covered and covered[0] <= int(frame)]
        if tail is not None:
            steps = steps[-int(tail):] if tail > 0 else []
        return self.xy[:, steps]

    def frame_positions(self) -> tuple[np.ndarray, np.ndarray]:
        """Positions per source frame rather than per time step.

        Returns
        -------
        frames: int64 [F], every frame the steps cover, in step order.
        xy: float32 [N, F, 2]: each frame gets the position of the step covering it.
        """
        steps = [t for t, covered in enumerate(self.frame_indices) for _ in covered]
        frames = np.array([f for covered in self.frame_indices for f in covered], dtype=np.int64)
        return frames, self.xy[:, steps]

    def to_json(self) -> dict[str, Any]:
        """A JSON-able dict: settings, and per point its query and per-step positions."""
        points = []
        for n in range(self.n_points):
            f, x, y = (float(v) for v in self.queries[n])
            points.append(
                {
                    "name": self.names[n],
                    "query": {"frame": int(f), "x": round(x, 3), "y": round(y, 3)},
                    "steps": [
                        {
                            "frames": list(self.frame_indices[t]),
                            "x": round(float(self.xy[n, t, 0]), 3),
                            "y": round(float(self.xy[n, t, 1]), 3),
                            "confidence": round(float(self.confidence[n, t]), 4),
                        }
                        for t in range(self.n_steps)
                    ],
                }
            )
        return {
            "encoder": self.label,
            "pretrained": self.pretrained,
            "settings": {"temperature": self.temperature, "window": self.window, "centred": self.centred},
            "grid": list(self.grid),
            "patch_size": self.patch_size,
            "crop_box": list(self.crop_box),
            "points": points,
        }


# ---------------------------------------------------------------- coordinates


def source_to_grid(features: PatchFeatures, xy: np.ndarray) -> np.ndarray:
    """Source-frame pixels -> continuous token-grid coordinates.

    Parameters
    ----------
    features: gives the crop box and the grid.
    xy: float [..., 2], (x, y) in source pixels.

    Returns
    -------
    float64 [..., 2]: (column, row) with token centres at integers (so the left edge of
    the crop box is column -0.5).
    """
    x0, y0, x1, y1 = features.crop_box
    _, h, w = features.grid
    xy = np.asarray(xy, dtype=np.float64)
    col = (xy[..., 0] - x0) / (x1 - x0) * w - 0.5
    row = (xy[..., 1] - y0) / (y1 - y0) * h - 0.5
    return np.stack([col, row], axis=-1)


def grid_to_source(crop_box: Sequence[int], grid: tuple[int, int], cr: np.ndarray) -> np.ndarray:
    """Continuous token-grid (column, row) [..., 2] -> (x, y) in source pixels (float64).

    The inverse of :func:`source_to_grid` for a crop box (x0, y0, x1, y1) and grid (h, w).
    """
    x0, y0, x1, y1 = (float(v) for v in crop_box)
    h, w = grid
    cr = np.asarray(cr, dtype=np.float64)
    x = x0 + (cr[..., 0] + 0.5) * (x1 - x0) / w
    y = y0 + (cr[..., 1] + 0.5) * (y1 - y0) / h
    return np.stack([x, y], axis=-1)


def _check_queries(features: PatchFeatures, queries: np.ndarray | Sequence[Sequence[float]]) -> tuple[np.ndarray, np.ndarray]:
    """Validated queries float64 [N, 3] and the time step of each, int64 [N]."""
    q = np.asarray(queries, dtype=np.float64)
    if q.ndim == 1 and q.shape[0] == 3:
        q = q[None]
    if q.ndim != 2 or q.shape[1] != 3:
        raise UsageError(f"queries must be rows of (frame, x, y), shape [N, 3], not {tuple(q.shape)}")
    if q.shape[0] == 0:
        raise UsageError("give at least one query point to track")
    if not np.isfinite(q).all():
        raise UsageError("query points must be finite numbers")
    x0, y0, x1, y1 = features.crop_box
    steps = np.zeros(len(q), dtype=np.int64)
    for n, (f, x, y) in enumerate(q):
        if f != round(f):
            raise UsageError(f"query {n + 1}: frame {f:g} is not a whole frame index")
        t = features.time_step_of_frame(int(f))
        if t is None:
            covered = [g for step in features.frame_indices for g in step]
            raise UsageError(
                f"query {n + 1}: frame {int(f)} is not one of the clip's frames "
                f"({_describe_frames(covered)}); click on a frame of the clip"
            )
        if not (x0 <= x < x1 and y0 <= y < y1):
            raise UsageError(
                f"query {n + 1}: point ({x:g}, {y:g}) lies outside the region the encoder read, "
                f"x in [{x0}, {x1}) and y in [{y0}, {y1}) of the frame"
            )
        steps[n] = t
    return q, steps


def _describe_frames(frames: Sequence[int]) -> str:
    if len(frames) <= 6:
        return ", ".join(map(str, frames))
    return f"{frames[0]}, {frames[1]}, ..., {frames[-1]}"


# ---------------------------------------------------------------- the tracker


def _unit_tokens(tokens: torch.Tensor, mean: torch.Tensor | None) -> torch.Tensor:
    """[..., D] -> float32 [..., D]: centred (when ``mean`` is given) and L2-normalised."""
    z = tokens.to(torch.float32)
    if mean is not None:
        z = z - mean
    return F.normalize(z, dim=-1, eps=1e-12)


def _bilinear(step: torch.Tensor, cr: np.ndarray) -> torch.Tensor:
    """Sample [h, w, D] at continuous (column, row) [2] (clamped to the grid) -> [D]."""
    h, w, _ = step.shape
    c = float(np.clip(cr[0], 0.0, w - 1))
    r = float(np.clip(cr[1], 0.0, h - 1))
    c0, r0 = int(np.floor(c)), int(np.floor(r))
    c1, r1 = min(c0 + 1, w - 1), min(r0 + 1, h - 1)
    fc, fr = c - c0, r - r0
    top = step[r0, c0] * (1 - fc) + step[r0, c1] * fc
    bottom = step[r1, c0] * (1 - fc) + step[r1, c1] * fc
    return top * (1 - fr) + bottom * fr


def local_soft_argmax(
    sim: torch.Tensor, radius: int, temperature: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """Arg-max, then a soft-argmax in a (2 radius + 1)^2 window around it.

    Parameters
    ----------
    sim: float [B, h, w] similarity maps.
    radius: window half-size in tokens (0: the arg-max token's centre).
    temperature: softmax temperature on the similarities.

    Returns
    -------
    cr: float32 [B, 2], (column, row) on the grid, token centres at integers.
    peak: float32 [B], the similarity at the arg-max.
    """
    b, h, w = sim.shape
    flat = sim.reshape(b, h * w)
    peak, idx = flat.max(dim=1)
    row, col = idx // w, idx % w
    offsets = torch.arange(-radius, radius + 1, device=sim.device)
    rows = row[:, None, None] + offsets[None, :, None]  # [B, k, 1]
    cols = col[:, None, None] + offsets[None, None, :]  # [B, 1, k]
    valid = (rows >= 0) & (rows < h) & (cols >= 0) & (cols < w)  # [B, k, k]
    gather = (rows.clamp(0, h - 1) * w + cols.clamp(0, w - 1)).reshape(b, -1)
    values = flat.gather(1, gather).reshape(valid.shape)
    logits = torch.where(valid, (values - peak[:, None, None]) / temperature, torch.full_like(values, -torch.inf))
    weights = torch.softmax(logits.reshape(b, -1), dim=1).reshape(valid.shape)
    r = (weights * rows.to(weights.dtype)).sum(dim=(1, 2))
    c = (weights * cols.to(weights.dtype)).sum(dim=(1, 2))
    return torch.stack([c, r], dim=1).to(torch.float32), peak.to(torch.float32)


def track_points(
    features: PatchFeatures,
    queries: np.ndarray | Sequence[Sequence[float]],
    *,
    temperature: float = 0.05,
    window: int = 5,
    centre: bool = True,
    names: Sequence[str] | None = None,
) -> Tracks:
    """Track query points through a clip by feature similarity alone.

    Parameters
    ----------
    features:
        one clip's PatchFeatures (tokens [T', h, w, D]).
    queries:
        float [N, 3]: (source frame index, x, y) per point, x and y in source-frame pixels;
        the frame must be one the features cover and the point must lie inside their
        ``crop_box``.
    temperature:
        soft-argmax temperature on cosine similarities (lower: closer to the arg-max).
    window:
        side, in tokens, of the soft-argmax window around the arg-max (odd; 1 gives the
        arg-max patch's centre).
    centre:
        remove the clip's mean token before comparing (recommended: raw-pixel and many
        learned features share a large common component).
    names:
        optional N point names, carried into the result.

    Returns
    -------
    :class:`Tracks` with ``xy`` float32 [N, T', 2] in source-frame pixels and
    ``confidence`` float32 [N, T'].
    """
    if not temperature > 0:
        raise UsageError(f"the tracking temperature must be positive, not {temperature}")
    if window < 1 or window % 2 == 0:
        raise UsageError(f"the soft-argmax window must be an odd number of tokens (1, 3, 5 ...), not {window}")
    q, steps = _check_queries(features, queries)
    if names is None:
        names = [""] * len(q)
    names = tuple(str(n) for n in names)
    if len(names) != len(q):
        raise UsageError(f"{len(names)} names for {len(q)} query points")
    tokens = features.tokens
    t_count, h, w = features.grid
    mean = tokens.reshape(-1, tokens.shape[-1]).to(torch.float32).mean(dim=0) if centre else None

    grid_q = source_to_grid(features, q[:, 1:])
    query_vecs = torch.stack(
        [_bilinear(_unit_tokens(tokens[int(steps[n])], mean), grid_q[n]) for n in range(len(q))]
    )
    query_vecs = F.normalize(query_vecs, dim=-1, eps=1e-12)  # [N, D]

    radius = window // 2
    cr = torch.zeros(len(q), t_count, 2)
    conf = torch.zeros(len(q), t_count)
    for start in range(0, t_count, _STEP_CHUNK):
        z = _unit_tokens(tokens[start : start + _STEP_CHUNK], mean)  # [c, h, w, D]
        c = z.shape[0]
        sim = torch.einsum("nd,thwd->nthw", query_vecs.to(z.device), z).reshape(len(q) * c, h, w)
        pos, peak = local_soft_argmax(sim, radius, float(temperature))
        cr[:, start : start + c] = pos.reshape(len(q), c, 2).cpu()
        conf[:, start : start + c] = peak.reshape(len(q), c).cpu()
    xy = grid_to_source(features.crop_box, (h, w), cr.numpy()).astype(np.float32)
    return Tracks(
        xy=xy,
        confidence=conf.numpy().astype(np.float32),
        frame_indices=tuple(tuple(int(f) for f in s) for s in features.frame_indices),
        queries=q,
        query_steps=steps,
        names=names,
        label=features.label,
        pretrained=bool(features.pretrained),
        temperature=float(temperature),
        window=int(window),
        centred=bool(centre),
        crop_box=tuple(int(v) for v in features.crop_box),  # type: ignore[arg-type]
        grid=(h, w),
        patch_size=int(features.patch_size),
    )
