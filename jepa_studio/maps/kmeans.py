"""k-means map: each patch coloured by its cluster among the clip's patch features."""

from __future__ import annotations

from typing import Any

from ..analysis.clusters import fit_kmeans, kmeans_rgb
from ..encoders.base import PatchFeatures
from .kind import MapContext, MapKind, MapResult


def compute(features: PatchFeatures, params: Any, context: MapContext) -> MapResult:
    """uint8 [T', h, w, 3]: k-means over the clip's patches (centred, unit-length tokens).

    Colours stay put from clip to clip: each clip's clusters take the colours of the
    clusters they match (by centre) in the first clip fitted for this video and encoder.
    """
    k = int(params.clusters)
    reference = context.memo(("kmeans", k), lambda: fit_kmeans(features, k))
    images, model = kmeans_rgb(features, k, reference=reference)
    sizes = ", ".join(f"{100 * s:.0f}%" for s in model.sizes[:4])
    return MapResult(images, caption=f"{k} clusters (largest {sizes})")


KIND = MapKind(
    name="kmeans",
    label="k-means clusters",
    menu="&k-means clusters",
    shortcut="4",
    compute=compute,
    params=("clusters",),
)
