"""Point tracking for the studio window, on the engine's GPU lane. No Qt.

:class:`TrackingEngine` answers a :class:`~jepa_studio.state.TrackRequest` with one
:class:`TracksReady` per encoder: :func:`~jepa_studio.analysis.tracking.track_points` on the
features of the clip shown, joined with those of each query's own clip when it was clicked in
another one (features from the feature cache: the panes usually computed them already). The
latest request wins; results for recent requests are kept, so returning to a clip shows its
tracks at once.
"""

from __future__ import annotations

import itertools
import threading
import traceback
from dataclasses import dataclass
from typing import Any, Callable

from ..analysis.tracking import Tracks, track_points
from ..encoders.transformers_base import concat_features
from ..errors import Cancelled
from ..state.requests import TrackRequest
from ..video.frame_cache import LRUCache
from .failures import describe_error
from .lane import CancelToken

Deliver = Callable[[object], None]


@dataclass(frozen=True)
class TracksReady:
    """Encoder ``encoder``'s tracks of request ``request`` (the whole clip shown)."""

    request: int
    encoder: str
    tracks: Tracks


@dataclass(frozen=True)
class TrackError:
    """Tracking with ``encoder`` failed (the message is meant for the user)."""

    request: int
    encoder: str
    message: str


class TrackingEngine:
    """Tracking on a :class:`~jepa_studio.engine.studio.StudioEngine`'s GPU lane.

    ``deliver`` is called on the GPU thread with :class:`TracksReady` and :class:`TrackError`.
    """

    def __init__(self, engine: Any, deliver: Deliver, cache_size: int = 32) -> None:
        self.engine = engine
        self._deliver = deliver
        self._ids = itertools.count(1)
        self._latest = 0
        self._lock = threading.Lock()
        self._results: LRUCache[tuple, Tracks] = LRUCache(cache_size)

    def request(self, req: TrackRequest) -> tuple[int, dict[str, Tracks]]:
        """Ask for the tracks of ``req``: ``(id, ready)`` where ``ready`` holds the encoders
        answered from the cache; the others follow as messages with that id."""
        with self._lock:
            rid = next(self._ids)
            self._latest = rid
        ready = {name: t for name in req.encoders if (t := self._results.get((req, name))) is not None}
        missing = [name for name in req.encoders if name not in ready]
        if missing:
            self.engine.submit_gpu_task(lambda token: self._job(token, rid, req, missing))
        return rid, ready

    def _job(self, token: CancelToken, rid: int, req: TrackRequest, names: list[str]) -> None:
        src = self.engine.source()
        if src is None or src.key != req.video_key:
            return
        holder: list = [None]
        for name in names:
            if token.cancelled or rid != self._latest:
                return
            try:
                parts = [
                    self.engine.clip_features(token, name, frames, req.device, req.resolution,
                                              holder if frames == req.frames else [None], src, req.reading).to("cpu")
                    for frames in req.query_clips()
                ]
                feats = parts[0] if len(parts) == 1 else concat_features(parts)
                tracks = track_points(feats, [list(q) for q in req.queries], temperature=req.temperature,
                                      window=req.window)
            except Cancelled:
                return
            except Exception as error:  # noqa: BLE001 - shown in the pane, nothing is lost
                message, kind = describe_error(error)
                if kind == "internal":
                    traceback.print_exception(error)
                self._deliver(TrackError(rid, name, message))
                continue
            self._results.put((req, name), tracks)
            self._deliver(TracksReady(rid, name, tracks))
