"""The surprise timeline for the studio window, on the engine's GPU lane. No Qt.

:class:`SurpriseEngine` computes :func:`~jepa_studio.analysis.surprise.surprise_curve` over
the whole open video for a :class:`~jepa_studio.state.SurpriseRequest`, with progress and
cancel, and keeps recent curves: asking again for one shows it at once.
"""

from __future__ import annotations

import itertools
import traceback
from dataclasses import dataclass
from typing import Any, Callable

from ..analysis.surprise import SurpriseCurve, surprise_curve
from ..errors import Cancelled
from ..state.requests import SurpriseRequest
from ..video.frame_cache import LRUCache
from .failures import describe_error
from .lane import CancelToken
from .messages import Progress
from .models import read_default

Deliver = Callable[[object], None]


@dataclass(frozen=True)
class SurpriseReady:
    """The curve of request ``request``."""

    request: int
    curve: SurpriseCurve


@dataclass(frozen=True)
class SurpriseFailed:
    """The curve of request ``request`` could not be computed (``message`` is for the user)."""

    request: int
    message: str


class SurpriseEngine:
    """Surprise timelines on a :class:`~jepa_studio.engine.studio.StudioEngine`'s GPU lane."""

    def __init__(self, engine: Any, deliver: Deliver, cache_size: int = 8) -> None:
        self.engine = engine
        self._deliver = deliver
        self._ids = itertools.count(1)
        self._curves: LRUCache[SurpriseRequest, SurpriseCurve] = LRUCache(cache_size)

    def cached(self, req: SurpriseRequest) -> SurpriseCurve | None:
        return self._curves.get(req)

    def compute(self, req: SurpriseRequest) -> tuple[int, SurpriseCurve | None]:
        """``(id, curve)``: the curve at once when computed before, else None and a
        :class:`SurpriseReady` (or :class:`SurpriseFailed`) with that id follows."""
        rid = next(self._ids)
        curve = self._curves.get(req)
        if curve is None:
            self.engine.submit_gpu_task(lambda token: self._job(token, rid, req))
        return rid, curve

    def _job(self, token: CancelToken, rid: int, req: SurpriseRequest) -> None:
        src = self.engine.source()
        if src is None or src.key != req.video_key:
            return
        name = f"surprise ({req.encoder})"

        def progress(done: int, total: int) -> None:
            self._deliver(Progress(name, int(done), int(total)))

        self._deliver(Progress(name, 0, 0))
        try:
            encoder = self.engine.encoder(req.encoder, req.device, req.resolution)
            read_default(encoder)
            curve = surprise_curve(encoder, src.video, range(len(src.video)), method=req.method, k=req.k,
                                   context=req.context, stride=req.stride, progress=progress,
                                   cancel=lambda: token.cancelled)
        except Cancelled:
            self._deliver(Progress(name, 1, 1, cancelled=True))
            return
        except Exception as error:  # noqa: BLE001 - shown in the window, nothing is lost
            message, kind = describe_error(error)
            if kind == "internal":
                traceback.print_exception(error)
            self._deliver(Progress(name, 1, 1))
            self._deliver(SurpriseFailed(rid, message))
            return
        self._curves.put(req, curve)
        self._deliver(Progress(name, 1, 1))
        self._deliver(SurpriseReady(rid, curve))
