"""Temporal difference map: how much each patch's feature changes to the next time step."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ..analysis.maps import temporal_difference
from ..encoders.base import PatchFeatures
from ..render.colormap import apply_colormap, robust_range
from .kind import MapContext, MapKind, MapResult, Scale, empty

COLORMAP = "magma"


def compute(features: PatchFeatures, params: Any, context: MapContext) -> MapResult:
    """``||z[t+1] - z[t]||`` per patch, coloured on the clip's robust range.

    Step ``t`` shows the change from ``t`` to ``t + 1``; the last step repeats the change into
    it. Fewer than two time steps give no image.
    """
    diff = temporal_difference(features)  # [T'-1, h, w]
    if diff.shape[0] == 0:
        return MapResult(empty(features), "temporal difference needs 2 time steps: use more frames per clip")
    values = diff.to(torch.float32).cpu().numpy()
    values = np.concatenate([values, values[-1:]], axis=0)
    low, high = robust_range(values, vmin=0.0)
    rgb = apply_colormap(values, vmin=low, vmax=high, name=COLORMAP)
    return MapResult(rgb, values=values, scale=Scale(low, high, COLORMAP, "feature change ‖z(t+1) − z(t)‖"))


KIND = MapKind(name="difference", label="Temporal difference", menu="Temporal &difference", shortcut="2", compute=compute)
