"""Map kinds: how one clip's patch features become the images an encoder pane shows.

A map kind is one module of this package defining ``KIND`` (a :class:`MapKind`) and one
entry in :data:`KINDS`. The engine renders panes with it, the window's View menu and settings
panel list it, and exports draw through it, so what is exported is what the panes show.
"""

from __future__ import annotations

from . import difference, kmeans, pca, similarity
from ..render.grid import frozen
from .kind import ClipContext, MapContext, MapKind, MapResult, Scale, query_vector, time_step_for, token_at

#: every map kind, in menu order
KINDS: dict[str, MapKind] = {kind.name: kind for kind in (pca.KIND, difference.KIND, similarity.KIND, kmeans.KIND)}


def get(name: str) -> MapKind:
    """The map kind called ``name`` (ValueError naming the known ones otherwise)."""
    try:
        return KINDS[name]
    except KeyError:
        raise ValueError(f"map kind must be one of {tuple(KINDS)}, not {name!r}") from None


__all__ = [
    "KINDS", "ClipContext", "MapContext", "MapKind", "MapResult", "Scale", "frozen", "get",
    "query_vector", "time_step_for", "token_at",
]
