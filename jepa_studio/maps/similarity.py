"""Patch similarity map: cosine similarity of every patch to the one a user clicked."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from ..encoders.base import PatchFeatures
from ..render.colormap import apply_colormap
from .kind import MapContext, MapKind, MapResult, Scale, empty, query_vector

COLORMAP = "coolwarm"


def similarity(features: PatchFeatures, query: torch.Tensor, centred: bool = False) -> torch.Tensor:
    """float32 [T', h, w]: cosine similarity of each token to ``query`` [D].

    ``centred`` subtracts the clip's mean token from both first, so features that all share
    one large common component (raw pixel patches on texture, cosine ~0.99 everywhere) still
    show which patches are alike.
    """
    z = features.tokens.to(torch.float32)
    q = query.to(z.device, torch.float32)
    if centred:
        mean = z.reshape(-1, z.shape[-1]).mean(0)
        z, q = z - mean, q - mean
    return F.cosine_similarity(z, q.expand_as(z), dim=-1, eps=1e-8)


def compute(features: PatchFeatures, params: Any, context: MapContext) -> MapResult:
    """Similarity to the token under ``params.query`` = (x, y, source frame), on [-1, 1]."""
    if params.query is None:
        return MapResult(empty(features), "click a patch to see its similarity")
    x, y, frame = params.query
    vector = query_vector(context.query_features(int(frame)), x, y, int(frame))
    if vector is None:
        return MapResult(empty(features), "the clicked point is outside this encoder's crop")
    values = similarity(features, vector, bool(params.centred)).cpu().numpy()
    unit = "cosine similarity" + (" (centred)" if params.centred else "")
    return MapResult(
        apply_colormap(values, vmin=-1.0, vmax=1.0, name=COLORMAP),
        values=values,
        scale=Scale(-1.0, 1.0, COLORMAP, unit),
    )


KIND = MapKind(
    name="similarity",
    label="Patch similarity",
    menu="Patch &similarity",
    shortcut="3",
    compute=compute,
    params=("query", "centred"),
    needs_query=True,
)
