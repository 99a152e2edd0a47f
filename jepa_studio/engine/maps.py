"""Features -> the uint8 images the encoder panes show (Qt-free, pure functions).

Every function here takes one clip's :class:`PatchFeatures` and returns uint8 RGB at
token resolution, [T', h, w, 3], one image per time step; the panes place it over the
features' ``crop_box`` of the source frame.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch

from ..analysis.maps import temporal_difference
from ..analysis.pca import PatchPCA, fit_pca
from ..encoders.base import PatchFeatures
from ..render.colormap import apply_colormap
from ..state.view import ViewSettings

SIMILARITY_COLORMAP = "coolwarm"
DIFFERENCE_COLORMAP = "magma"


def time_step_for(frame_indices: Sequence[Sequence[int]], frame: int) -> int:
    """The time step that shows source ``frame``.

    The step whose frames include ``frame``; otherwise (a stride skipped it) the last step
    that starts at or before it; otherwise step 0.
    """
    best = 0
    for t, covered in enumerate(frame_indices):
        if frame in covered:
            return t
        if covered and covered[0] <= frame:
            best = t
    return best


def token_at(features: PatchFeatures, x: float, y: float) -> tuple[int, int] | None:
    """(row, col) of the token under source-frame pixel (x, y), or None outside the crop box."""
    x0, y0, x1, y1 = features.crop_box
    _, h, w = features.grid
    if not (x0 <= x < x1 and y0 <= y < y1):
        return None
    col = int((x - x0) / (x1 - x0) * w)
    row = int((y - y0) / (y1 - y0) * h)
    return min(row, h - 1), min(col, w - 1)


def n_components_for(channels: Sequence[int]) -> int:
    """Components to fit so that ``channels`` exist (at least 3)."""
    return max(3, max(int(c) for c in channels) + 1)


def pca_maps(
    features: PatchFeatures,
    view: ViewSettings,
    session_basis: PatchPCA | None = None,
) -> np.ndarray:
    """PCA of the clip's tokens as RGB.

    ``view.basis`` ``"clip"`` fits one basis on the whole clip; ``"frame"`` fits one per
    time step (signs aligned to the previous step so colours do not flicker);
    ``"session"`` uses ``session_basis`` (fitted once per encoder, see
    :func:`fit_session_basis`).

    Returns
    -------
    uint8 [T', h, w, 3].
    """
    k = n_components_for(view.channels)
    if view.basis == "session":
        if session_basis is None:
            raise ValueError("the session basis is missing")
        return session_basis.to_rgb(features, view.channels)
    if view.basis == "clip":
        pca = fit_pca(features, k, foreground_threshold=view.foreground_threshold)
        return pca.to_rgb(features, view.channels)
    out = []
    previous: PatchPCA | None = None
    for t in range(features.tokens.shape[0]):
        step = features.tokens[t]
        pca = fit_pca(step, k, foreground_threshold=view.foreground_threshold, align_to=previous)
        out.append(pca.to_rgb(step, view.channels))
        previous = pca
    return np.ascontiguousarray(np.stack(out))


def fit_session_basis(features: PatchFeatures, view: ViewSettings) -> PatchPCA:
    """The basis shared by every clip of the session for one encoder (fitted on ``features``)."""
    return fit_pca(features, n_components_for(view.channels), foreground_threshold=view.foreground_threshold)


def difference_maps(features: PatchFeatures) -> np.ndarray:
    """Temporal difference ``||z[t+1] - z[t]||`` coloured per clip (robust percentiles).

    Step ``t`` shows the change from ``t`` to ``t + 1``; the last step repeats the change
    into it. Returns uint8 [T', h, w, 3], or None-like empty [0, h, w, 3] when T' < 2.
    """
    diff = temporal_difference(features)  # [T'-1, h, w]
    if diff.shape[0] == 0:
        _, h, w = features.grid
        return np.zeros((0, h, w, 3), np.uint8)
    rgb = apply_colormap(diff, vmin=0.0, vmax=None, name=DIFFERENCE_COLORMAP)
    return np.ascontiguousarray(np.concatenate([rgb, rgb[-1:]], axis=0))


def query_vector(features: PatchFeatures, x: float, y: float, frame: int) -> torch.Tensor | None:
    """The token [D] under pixel (x, y) of source ``frame`` (None outside the crop box)."""
    pos = token_at(features, x, y)
    if pos is None:
        return None
    t = time_step_for(features.frame_indices, frame)
    return features.tokens[t, pos[0], pos[1]]


def similarity_maps(features: PatchFeatures, query: torch.Tensor) -> np.ndarray:
    """Cosine similarity of every token of the clip to ``query`` [D], coloured on [-1, 1].

    Returns uint8 [T', h, w, 3].
    """
    z = features.tokens.to(torch.float32)
    q = query.to(z.device, torch.float32)
    sim = torch.nn.functional.cosine_similarity(z, q.expand_as(z), dim=-1, eps=1e-8)
    return np.ascontiguousarray(apply_colormap(sim, vmin=-1.0, vmax=1.0, name=SIMILARITY_COLORMAP))
