"""What a map kind is: a name, how the window offers it, and how features become its images."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Protocol, Sequence, TypeVar

import numpy as np
import torch

from ..encoders.base import PatchFeatures
from ..errors import UsageError

T = TypeVar("T")


class MapParams(Protocol):
    """The view settings a map kind reads (:class:`jepa_studio.state.ViewSettings` has them all)."""

    map_kind: str
    basis: str
    channels: tuple[int, int, int]
    foreground_threshold: float | None
    query: tuple[float, float, int] | None
    centred: bool
    clusters: int


class MapContext(Protocol):
    """What the caller lends a map kind beyond one clip's features.

    ``memo(key, make)``: a value kept per video, encoder and input settings (e.g. a PCA basis
    shared by every clip of the session), made by ``make()`` the first time.
    ``query_features(frame)``: the same encoder's features of the clip holding source ``frame``.
    """

    def memo(self, key: tuple, make: Callable[[], T]) -> T: ...

    def query_features(self, frame: int) -> PatchFeatures: ...


@dataclass(frozen=True)
class Scale:
    """The colour scale of a scalar map: ``vmin`` and ``vmax`` map to the ends of ``colormap``."""

    vmin: float
    vmax: float
    colormap: str
    unit: str


@dataclass(frozen=True)
class MapResult:
    """One clip's map.

    Attributes
    ----------
    images: uint8 [T', h, w, 3], one image per time step at token resolution (``[0, h, w, 3]``
        when there is nothing to show; ``note`` says why).
    note: a short text for the pane, or "".
    values: float32 [T', h, w] behind a scalar map (hover read-outs), or None.
    scale: the colour scale of a scalar map, or None.
    caption: a line about the whole map (e.g. the explained variance of PCA components), or "".
    """

    images: np.ndarray
    note: str = ""
    values: np.ndarray | None = field(default=None, repr=False)
    scale: Scale | None = None
    caption: str = ""


@dataclass(frozen=True)
class MapKind:
    """One kind of map, registered once in :data:`jepa_studio.maps.KINDS`.

    Attributes
    ----------
    name: the key in view settings, requests and the CLI (``"pca"``).
    label: the name in the settings panel (``"PCA (RGB)"``).
    menu: the View menu's text, with its mnemonic (``"&PCA map"``).
    shortcut: the key that shows it (``"1"``), or "".
    compute: ``compute(features, params, context) -> MapResult``.
    params: the view settings fields that change its pixels (besides ``map_kind``).
    uses_pca: its images follow the PCA settings (basis, channels, foreground).
    needs_query: it shows something only after a click on a patch.
    """

    name: str
    label: str
    menu: str
    shortcut: str
    compute: Callable[[PatchFeatures, Any, MapContext], MapResult]
    params: tuple[str, ...] = ()
    uses_pca: bool = False
    needs_query: bool = False

    def render_key(self, params: Any) -> tuple:
        """What of ``params`` changes this kind's pixels (the key of rendered-map caches)."""
        return (self.name, *(getattr(params, p) for p in self.params))


class ClipContext:
    """A :class:`MapContext` over one clip and nothing else (exports, notebooks, tests).

    ``query_features`` answers for the frames of this clip only.
    """

    def __init__(self, features: PatchFeatures) -> None:
        self.features = features
        self._memo: dict[tuple, Any] = {}

    def memo(self, key: tuple, make: Callable[[], T]) -> T:
        if key not in self._memo:
            self._memo[key] = make()
        return self._memo[key]

    def query_features(self, frame: int) -> PatchFeatures:
        if self.features.time_step_of_frame(frame) is None:
            raise UsageError(f"the query frame {frame} is not in this clip")
        return self.features


def empty(features: PatchFeatures) -> np.ndarray:
    """uint8 [0, h, w, 3]: no image for any time step."""
    _, h, w = features.grid
    return np.zeros((0, h, w, 3), np.uint8)


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


def query_vector(features: PatchFeatures, x: float, y: float, frame: int) -> torch.Tensor | None:
    """The token [D] under pixel (x, y) of source ``frame`` (None outside the crop box)."""
    pos = token_at(features, x, y)
    if pos is None:
        return None
    t = time_step_for(features.frame_indices, frame)
    return features.tokens[t, pos[0], pos[1]]
