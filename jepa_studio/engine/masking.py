"""Masked prediction for the studio window, computed on the engine's GPU lane. No Qt.

:class:`MaskingEngine` answers :class:`MaskRequest` s (a painted
:class:`~jepa_studio.analysis.masking.PixelMask`, the clip around the playhead and one
encoder) with a :class:`MaskedView`: uint8 maps for every time step of the clip, ready for
panes, and the scores:

- V-JEPA 2 (an encoder with a predictor): true masking and, optionally, the leaky variant
  (:mod:`jepa_studio.analysis.masked_prediction`), reusing the clip's full encoding from
  the feature cache when the panes already computed it;
- every other encoder (DINOv2, DINOv3, the pixel baselines): inpainting
  (:mod:`jepa_studio.analysis.inpaint`), the masked pixels filled (mean, blur or noise) and
  the frames re-encoded; for the pixel baselines this measures the fill itself, a floor
  that learned encoders should beat.

Requests go to the GPU lane's task queue after the work already there; the latest request
wins: an older one stops at its next stage and its result is never delivered. Results for
recent masks are kept, so undo and redo show at once.
"""

from __future__ import annotations

import itertools
import threading
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable


from ..analysis.masked_view import MaskedView, compute_masked_view
from ..analysis.masking import TokenGrid
from ..errors import Cancelled, UsageError, VideoError
from ..state.requests import MaskRequest
from ..video.frame_cache import LRUCache
from ..video.timing import video_timing
from .lane import CancelToken
from .messages import Progress

Deliver = Callable[[object], None]

@dataclass(frozen=True)
class MaskGridReady:
    """The encoder's token grid for the clip (sent before the prediction, for the painter)."""

    request: int
    encoder: str
    grid: TokenGrid
    tubelet_size: int


@dataclass(frozen=True)
class MaskError:
    """Masked prediction failed (the message is meant for the user)."""

    request: int
    encoder: str
    message: str
    kind: str


class MaskingEngine:
    """Masked prediction on a :class:`~jepa_studio.engine.studio.StudioEngine`'s GPU lane.

    Parameters
    ----------
    engine: the studio engine (its GPU lane, loaded encoders, frame and feature caches).
    deliver: called on the GPU thread with :class:`MaskGridReady`, :class:`MaskedView`,
        :class:`MaskError` and :class:`~.messages.Progress` messages.
    cache_size: masked views kept (undo and redo show at once).
    """

    def __init__(self, engine: Any, deliver: Deliver, cache_size: int = 16) -> None:
        self.engine = engine
        self._deliver = deliver
        self._ids = itertools.count(1)
        self._latest = 0
        self._lock = threading.Lock()
        self._views: LRUCache[tuple, MaskedView] = LRUCache(cache_size)
        self.compute_count = 0  # masked predictions computed (tests)
        self.last_thread: str = ""  # the thread that computed the last one (tests)

    def cached(self, request: MaskRequest) -> MaskedView | None:
        """The view for ``request`` if it was computed (a dictionary look-up)."""
        return self._views.get(request.key())

    def request(self, request: MaskRequest) -> tuple[int, MaskedView | None]:
        """Ask for the masked view of ``request``.

        Returns ``(id, view)``: ``view`` at once when cached (nothing is queued), else None
        and a :class:`MaskedView` (or :class:`MaskError`) with that id follows. A newer
        request makes this one stale: it stops at its next stage.
        """
        with self._lock:
            rid = next(self._ids)
            self._latest = rid
        cached = self._views.get(request.key())
        if cached is not None:
            from dataclasses import replace

            return rid, replace(cached, request=rid)
        self.engine.submit_gpu_task(lambda token: self._job(token, rid, request))
        return rid, None

    def _stale(self, token: CancelToken, rid: int) -> bool:
        return token.cancelled or rid != self._latest

    def _job(self, token: CancelToken, rid: int, req: MaskRequest) -> None:
        def check() -> None:
            if self._stale(token, rid):
                raise Cancelled("a newer mask request")

        check()
        src = self.engine.source()  # once: features and pixels come from the same video
        if src is None or req.video_key != src.key:
            return
        self._deliver(Progress(f"masked prediction ({req.encoder})", 0, 0))
        try:
            holder: list = [None]
            encoder = self.engine.encoder(req.encoder, req.device, req.resolution)
            check()
            features = self.engine.clip_features(
                token, req.encoder, req.frames, req.device, req.resolution, holder, source=src
            )
            check()
            grid = TokenGrid.from_features(features)
            self._deliver(MaskGridReady(rid, req.encoder, grid, int(features.tubelet_size)))
            pixels = self.engine.clip_pixels(req.frames, holder, source=src)
            check()
            view = compute_masked_view(encoder, pixels, req, features, rid, check)
            self.compute_count += 1
            self.last_thread = threading.current_thread().name
            self._views.put(req.key(), view)
            check()
            self._deliver(view)
        except Cancelled:
            raise
        except Exception as error:  # noqa: BLE001 - shown in the window, nothing is lost
            from .failures import describe_error

            message, kind = describe_error(error)
            if kind == "internal":
                traceback.print_exception(error)
            if not self._stale(token, rid):
                self._deliver(MaskError(rid, req.encoder, message, kind))
        finally:
            self._deliver(Progress(f"masked prediction ({req.encoder})", 1, 1))

    def export(
        self,
        out: str | Path,
        request: MaskRequest,
        columns: int = 8,
    ) -> int:
        """Export the masked-prediction comparison of ``request``'s clip (PNG/JPEG image or
        mp4/gif/webm video) through the ``jepa-studio mask`` functions; returns the task id
        (:class:`~.messages.TaskDone` carries the path)."""
        from ..export import IMAGE_SUFFIXES, VIDEO_SUFFIXES
        from ..export.masked import MaskSettings, mask_comparison_frames, mask_comparison_image
        from ..video import save_image, write_video

        out = Path(out)
        suffix = out.suffix.lower()
        if suffix not in IMAGE_SUFFIXES + VIDEO_SUFFIXES:
            raise UsageError(f"cannot write {out.name!r}: use .png or .jpg for an image, .mp4, .gif or .webm for a video")
        video = self.engine.video
        if video is None:
            raise VideoError("open a video before exporting")
        settings = MaskSettings(fill=request.fill, threshold=request.threshold, leaky=request.leaky,
                                mask=request.mask, channels=tuple(request.channels))  # the panes' colours
        frames = list(request.frames)

        def fn(progress: Callable[[int, int], None], cancel: Callable[[], bool]) -> object:
            encoder = self.engine.encoder(request.encoder, request.device, request.resolution)
            if suffix in IMAGE_SUFFIXES:
                progress(0, 1)
                image = mask_comparison_image(video, [encoder], frames, settings, columns=columns)
                if cancel():
                    raise Cancelled("export cancelled")
                save_image(out, image)
            else:
                window = max(2, len(frames) + len(frames) % 2)
                fps, times = video_timing(video, frames)
                clip = mask_comparison_frames(video, [encoder], frames, settings, window, progress, cancel=cancel)
                write_video(out, clip, fps, timestamps=times)
            return out

        return self.engine.run_task(f"exporting {out.name}", fn)


__all__ = ["MaskError", "MaskGridReady", "MaskingEngine"]
