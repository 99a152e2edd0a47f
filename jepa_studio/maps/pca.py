"""PCA map: three principal components of the patch features as red, green and blue."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..analysis.pca import fit_pca, pca_map
from ..encoders.base import PatchFeatures
from .kind import MapContext, MapKind, MapResult


def n_components_for(channels: tuple[int, ...]) -> int:
    """Components to fit so that ``channels`` exist (at least 3)."""
    return max(3, max(int(c) for c in channels) + 1)


def explained_caption(ratios: np.ndarray, channels: tuple[int, ...]) -> str:
    """``"R 31% · G 12% · B 7% of the variance"`` for components ``channels`` of ``ratios`` [k]."""
    parts = [f"{c} {100 * float(ratios[i]):.0f}%" for c, i in zip("RGB", channels)]
    return " · ".join(parts) + " of the variance"


def compute(features: PatchFeatures, params: Any, context: MapContext) -> MapResult:
    """uint8 [T', h, w, 3]: PCA through one basis per clip, per time step, or per session.

    The session basis is fitted once per video and encoder (on the first clip asked for)
    and kept in ``context``; per-step bases are sign-aligned to the previous step's.
    """
    k = n_components_for(params.channels)
    if params.basis == "session":
        basis = context.memo(
            ("pca-session", k, params.foreground_threshold),
            lambda: fit_pca(features, k, foreground_threshold=params.foreground_threshold),
        )
        images, bases = basis.to_rgb(features, params.channels), [basis]
    else:
        images, bases = pca_map(features, params.basis, k, params.channels, params.foreground_threshold)
    ratios = np.mean([b.explained_variance_ratio.cpu().numpy() for b in bases], axis=0)
    return MapResult(images, caption=explained_caption(ratios, tuple(params.channels)))


KIND = MapKind(
    name="pca",
    label="PCA (RGB)",
    menu="&PCA map",
    shortcut="1",
    compute=compute,
    params=("basis", "channels", "foreground_threshold"),
    uses_pca=True,
)
