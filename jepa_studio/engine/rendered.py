"""One encoder's map of one clip, as the engine keeps it, and the context its map kind runs in."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from .. import maps
from ..encoders.base import PatchFeatures
from ..state.requests import ViewRequest
from .lane import CancelToken
from .messages import PaneImage
from .models import resolve_device


@dataclass(frozen=True)
class RenderedClip:
    """One encoder's map of one clip (a :class:`~jepa_studio.maps.MapResult`) plus where it sits."""

    label: str
    result: maps.MapResult
    frame_indices: tuple[tuple[int, ...], ...]
    crop_box: tuple[int, int, int, int]
    tubelet_size: int

    def pane(self, generation: int, encoder: str, playhead: int) -> PaneImage:
        """The pane image for the time step that shows ``playhead``."""
        images = self.result.images
        t = maps.time_step_for(self.frame_indices, playhead)
        n, h, w = images.shape[:3] if images.size else (len(self.frame_indices), 0, 0)
        shown = images.shape[0] > t
        values = self.result.values
        return PaneImage(
            generation=generation,
            encoder=encoder,
            label=self.label,
            image=images[t] if shown else None,
            crop_box=self.crop_box,
            covered=tuple(self.frame_indices[t]) if self.frame_indices else (),
            time_step=t,
            n_steps=len(self.frame_indices),
            tubelet_size=self.tubelet_size,
            grid=(int(h), int(w)),
            note=self.result.note,
            values=values[t] if shown and values is not None else None,
            scale=self.result.scale,
            caption=self.result.caption,
        )


class PaneContext:
    """The :class:`~jepa_studio.maps.MapContext` of one encoder pane: memos kept per video,
    encoder, device and resolution (bounded), query features from the feature cache."""

    def __init__(self, engine: Any, token: CancelToken, src: Any, req: ViewRequest,
                 name: str, features: PatchFeatures, holder: list) -> None:
        self.engine, self.token, self.src, self.req = engine, token, src, req
        self.name, self.features, self.holder = name, features, holder

    def memo(self, key: tuple, make: Callable[[], Any]) -> Any:
        req = self.req
        full = (req.video_key, self.name, resolve_device(req.device), req.resolution, req.reading, *key)
        value = self.engine._bases.get(full)
        if value is None:
            value = make()
            self.engine._bases.put(full, value)
        return value

    def query_features(self, frame: int) -> PatchFeatures:
        req = self.req
        frames = req.clip.frames_around(frame, req.n_frames)
        if frames == req.frames:
            return self.features
        return self.engine._features_for(self.token, self.src, req, self.name, frames, [None])
