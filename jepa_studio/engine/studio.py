"""The studio's background engine: decoding, encoding, PCA and rendering off the GUI thread.

Two worker lanes (see :mod:`jepa_studio.engine.lane`), each one thread with a latest-wins
mailbox:

- ``io``: opens videos and decodes the frame under the playhead (fast, never blocked by a
  model);
- ``gpu``: the single GPU worker: decodes clips, loads and runs encoders, fits PCA, renders
  maps, prefetches the neighbouring clips while idle, and runs exports.

The GUI calls :meth:`StudioEngine.request_frame` and :meth:`StudioEngine.request_view`;
both first look in the caches *synchronously* (dictionary look-ups only) and return what is
ready at once, then post the rest. Results leave through ``deliver(message)``, called on a
worker thread with a message from :mod:`jepa_studio.engine.messages`; the Qt side forwards
it to the GUI thread (a queued signal). No Qt here.
"""

from __future__ import annotations

import itertools
import os
import threading
import time
import traceback
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from ..encoders.base import Encoder, PatchFeatures
from ..errors import Cancelled, JepaStudioError, VideoError
from ..state.view import ViewSettings
from ..video.frame_cache import DEFAULT_FRAME_CACHE_MB, LRUCache, megabytes
from .. import maps
from .feature_cache import FeatureCache, FeatureKey
from .failures import describe_error
from .source import VideoSource, file_key, on_cpu, owned, torch_device_type
from .lane import CancelToken, Lane
from .models import LoadedEncoders, read_at
from .rendered import PaneContext, RenderedClip
from .messages import (
    ErrorReport,
    FrameReady,
    PaneError,
    PaneImage,
    Progress,
    TaskDone,
    TaskKind,
    VideoOpened,
)
from ..state.requests import ViewRequest
from ..state.view import Reading

Deliver = Callable[[object], None]

#: session PCA bases kept (one per video, encoder, device, resolution and PCA settings)
BASIS_CACHE_SIZE = 32


class StudioEngine:
    """Background work for the studio window, testable without Qt.

    Parameters
    ----------
    deliver:
        called on a worker thread with every message (see :mod:`~.messages`).
    video_opener:
        ``open_video(path) -> Video`` (default :func:`jepa_studio.video.open_video`).
    encoder_loader:
        ``load_encoder(name, device=None) -> Encoder`` (default
        :func:`jepa_studio.encoders.load_encoder`).
    feature_cache:
        a :class:`~jepa_studio.engine.feature_cache.FeatureCache` (default: a new one,
        bounded at its default size in bytes).
    frame_cache_size, frame_cache_mb, render_cache_size, render_cache_mb:
        the most decoded frames and rendered clips kept, by count and by size.
    prefetch:
        compute the neighbouring clips' maps while the GPU lane is idle.
    """

    def __init__(
        self,
        deliver: Deliver,
        *,
        video_opener: Callable[[Path], Any] | None = None,
        encoder_loader: Callable[..., Encoder] | None = None,
        feature_cache: Any = None,
        frame_cache_size: int = 96,
        render_cache_size: int = 1024,
        frame_cache_mb: float = DEFAULT_FRAME_CACHE_MB,
        render_cache_mb: float = 256.0,
        prefetch: bool = True,
    ) -> None:
        self._deliver = deliver
        self._open = video_opener
        self._features = feature_cache if feature_cache is not None else FeatureCache()
        # bounded in bytes as well as entries: a few seconds of 4K frames are gigabytes
        self._frames: LRUCache[tuple[str, int], np.ndarray] = LRUCache(frame_cache_size, max_bytes=megabytes(frame_cache_mb))
        self._renders: LRUCache[tuple, RenderedClip] = LRUCache(render_cache_size, max_bytes=megabytes(render_cache_mb))
        self._bases: LRUCache[tuple, Any] = LRUCache(BASIS_CACHE_SIZE)
        self._models = LoadedEncoders(deliver, encoder_loader)
        self._lock = threading.RLock()
        self._ids = itertools.count(1)
        self._video: Any = None
        self.video_key = ""
        self.video_path: Path | None = None
        self._last_view: ViewRequest | None = None
        #: the generation of view results (the GUI drops older ones), and the work of the view
        #: job that runs or waits: a request for the same work lets it finish
        self._view_generation = 0
        self._inflight: tuple | None = None
        self._inflight_req: ViewRequest | None = None
        #: 1 while playing forward, -1 backward, 0 when not playing (what to prefetch first)
        self.playback_direction = 0
        #: seconds the last view jobs took to compute a clip (a running mean)
        self._clip_seconds = 0.0
        self.encode_count = 0  # encoder forward passes run (tests, benchmarks)
        self._deferred: list[Callable[[CancelToken], None]] = []
        #: called (on the calling thread) by :meth:`cancel`: long jobs of other features stop
        self.cancel_listeners: list[Callable[[], None]] = []
        self._io = Lane("jepa-studio-io", on_error=self._lane_error)
        self._gpu = Lane(
            "jepa-studio-gpu",
            on_error=self._lane_error,
            on_idle=self._prefetch if prefetch else None,
        )

    # -- lifecycle ------------------------------------------------------------------------
    def close(self) -> None:
        """Stop both workers and close the video."""
        self._gpu.close()
        self._io.close()
        with self._lock:
            video, self._video = self._video, None
        if video is not None:
            video.close()

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """Block until both lanes are idle (tests and benchmarks only; never on the GUI thread)."""
        return self._io.wait_idle(timeout) and self._gpu.wait_idle(timeout)

    @property
    def video(self) -> Any:
        """The open :class:`~jepa_studio.video.Video`, or None."""
        return self._video

    def source(self) -> VideoSource | None:
        """The open video, its key and path, taken together (None when no video is open).

        A job takes this once at its start and passes it on, so everything it caches is
        filed under the video it really read."""
        with self._lock:
            if self._video is None:
                return None
            return VideoSource(self._video, self.video_key, self.video_path)

    def _require_source(self, source: VideoSource | None) -> VideoSource:
        src = source if source is not None else self.source()
        if src is None:
            raise VideoError("open a video first")
        return src

    def _lane_error(self, error: BaseException, generation: int) -> None:
        message, kind = describe_error(error)
        if kind == "internal":
            traceback.print_exception(error)
        self._deliver(ErrorReport(message, kind))

    # -- video ----------------------------------------------------------------------------
    def open_video(self, path: str | os.PathLike) -> int:
        """Open ``path`` in the background; returns a request id.

        Delivers :class:`VideoOpened` (the new video replaces the old one) or
        :class:`ErrorReport` ``kind="video"`` with the request id (the old video stays open).
        """
        request = next(self._ids)
        path = Path(path)

        def job(token: CancelToken) -> None:
            opener = self._open
            if opener is None:
                from ..video import open_video as opener
            try:
                video = opener(path)
            except JepaStudioError as error:
                self._deliver(ErrorReport(str(error), "video", request))
                return
            except Exception as error:  # noqa: BLE001 - a file we cannot read is a user error
                self._deliver(ErrorReport(f"cannot open {path.name}: {error}", "video", request))
                return
            key = file_key(path)
            with self._lock:
                # views and prefetch of the old video stop at their next stage; a request
                # for the new key can only come after the swap, so after this bump
                self._gpu.supersede()
                old, self._video = self._video, video
                self.video_path = path
                self.video_key = key
                self._last_view = None
            if old is not None:
                # The GPU lane may still be reading the old video: close it after its queue.
                self._gpu.submit_task(lambda _t: self._io.submit_task(lambda _u: old.close()))
            width, height = video.size
            stamps = getattr(video, "timestamps", None)
            self._deliver(VideoOpened(request, path, len(video), float(video.fps), (int(width), int(height)), key, stamps))

        self._io.submit_task(job)
        return request

    def cached_frame(self, frame: int) -> np.ndarray | None:
        """The decoded frame if it is in the cache (never decodes)."""
        return self._frames.get((self.video_key, int(frame)))

    def request_frame(self, frame: int) -> np.ndarray | None:
        """The frame at once if cached; else None and :class:`FrameReady` follows (latest wins).

        A frame outside the open video (the GUI asking with the previous video's playhead
        just after another one opened) is quietly ignored: None, nothing follows."""
        frame = int(frame)
        image = self.cached_frame(frame)
        if image is not None:
            return image
        src = self.source()
        if src is None or not 0 <= frame < len(src):
            return None
        key = src.key

        def job(token: CancelToken) -> None:
            if key != self.video_key:
                return
            image = self._frames.get((key, frame))
            if image is None:
                image = owned(src.video[frame])
                self._frames.put((key, frame), image)
            token.check()
            self._deliver(FrameReady(key, frame, image))

        self._io.submit(job)
        return None

    # -- views ----------------------------------------------------------------------------
    def _render_key(self, req: ViewRequest, encoder: str, frames: tuple[int, ...]) -> tuple:
        return (req.video_key, encoder, req.device, req.resolution, req.reading, frames, req.view.render_key())

    def cached_panes(self, req: ViewRequest, generation: int = 0) -> dict[str, PaneImage]:
        """Pane images for ``req`` that are already rendered (dictionary look-ups only)."""
        out: dict[str, PaneImage] = {}
        frames = req.frames
        for name in req.encoders:
            rendered = self._renders.get(self._render_key(req, name, frames))
            if rendered is not None:
                out[name] = rendered.pane(generation, name, req.playhead)
        return out

    def request_view(self, req: ViewRequest) -> tuple[int, dict[str, PaneImage]]:
        """Ask for the encoder panes of ``req``.

        Returns ``(generation, ready)``: the request's generation and the pane images that
        were already in the cache. The others follow as :class:`PaneImage` (or
        :class:`PaneError`) messages carrying that generation. A request for other work
        cancels the running view job at its next stage (playback drops the clips it passed);
        one for the same work (the playhead moved inside the clip being computed) lets it
        finish and answer the newest request; one with everything cached cancels nothing, so
        prefetching ahead goes on.
        """
        frames = req.frames
        renders = {n: self._renders.get(self._render_key(req, n, frames)) for n in req.encoders}
        missing = [n for n, r in renders.items() if r is None]
        job_req = self._ahead_of_playback(req) if missing else req
        job_missing = [n for n in job_req.encoders if self._renders.get(self._render_key(job_req, n, job_req.frames)) is None]
        work = self._view_work(job_req, job_missing)
        with self._lock:
            self._last_view = req
            self._view_generation += 1
            generation = self._view_generation
            if not job_missing:
                self._gpu.poke_idle()  # what to prefetch may have changed
            elif work != self._inflight and not self._still_ahead(req):
                self._inflight, self._inflight_req = work, job_req
                self._gpu.submit(lambda token: self._view_job_then_deferred(token, job_req, job_missing))
        ready = {name: r.pane(generation, name, req.playhead) for name, r in renders.items() if r is not None}
        return generation, ready

    def _view_work(self, req: ViewRequest, missing: Sequence[str]) -> tuple:
        """What a view job computes: the same tuple means the same maps."""
        return (req.video_key, req.device, req.resolution, req.reading, req.frames, req.view.render_key(), tuple(missing))

    def _answer(self, req: ViewRequest, missing: Sequence[str]) -> tuple[int, ViewRequest]:
        """(generation, request) a finished view result answers: the newest request when it
        asks for the same work, else the job's own (the GUI drops it as stale)."""
        with self._lock:
            latest = self._last_view
            if latest is not None and self._view_work(latest, missing) == self._view_work(req, missing):
                return self._view_generation, latest
            return -1, req

    def _still_ahead(self, req: ViewRequest) -> bool:
        """During forward playback: the running view job computes a clip at or ahead of the
        playhead's for the same view: let it finish (cancelling it would restart the work
        every clip and finish none)."""
        job = self._inflight_req
        if self.playback_direction <= 0 or self._inflight is None or job is None:
            return False
        same = (job.video_key, job.device, job.resolution, job.reading, job.clip, job.view.render_key(), job.encoders) == (
            req.video_key, req.device, req.resolution, req.reading, req.clip, req.view.render_key(), req.encoders)
        return same and job.clip.clip_index(job.playhead) >= req.clip.clip_index(req.playhead)

    def _ahead_of_playback(self, req: ViewRequest) -> ViewRequest:
        """During forward playback, the request for the clip the playhead will be in when a clip
        computed now is ready (the last clips' compute time against a clip's playing time), so
        panes are on the playhead's own step from there on instead of always a clip behind."""
        src = self.source()
        fps = float(getattr(src.video, "fps", 0.0) or 0.0) if src is not None else 0.0
        if self.playback_direction <= 0 or self._clip_seconds <= 0 or fps <= 0:
            return req
        lead = min(8, int(np.ceil(self._clip_seconds / (req.clip.span / fps))))
        target = (req.clip.clip_index(req.playhead) + lead) * req.clip.span
        return replace(req, playhead=target) if lead > 0 and target < req.n_frames else req

    def set_playback(self, direction: int) -> None:
        """Playing forward (1), backward (-1) or not (0): prefetch in the direction of play."""
        self.playback_direction = (direction > 0) - (direction < 0)

    def cancel(self) -> None:
        """Cancel the GPU lane's current work (view, prefetch, export, training)."""
        self._gpu.cancel()
        for listener in list(self.cancel_listeners):
            listener()
        self._flush_deferred()
        self._deliver(Progress("work", 1, 1, cancelled=True))

    def _view_job_then_deferred(self, token: CancelToken, req: ViewRequest, missing: Sequence[str]) -> None:
        start = time.perf_counter()
        try:
            self._view_job(token, req, missing)
        finally:
            took = time.perf_counter() - start
            if not token.cancelled:
                self._clip_seconds = took if self._clip_seconds <= 0 else 0.5 * (self._clip_seconds + took)
            elif took > self._clip_seconds:  # stopped unfinished: a clip takes at least that long
                self._clip_seconds = took
            with self._lock:
                if self._inflight == self._view_work(req, missing):
                    self._inflight = None  # done (or stopped): the same work may be asked again
            self._flush_deferred()

    def _flush_deferred(self) -> None:
        with self._lock:
            jobs, self._deferred = self._deferred, []
        for job in jobs:
            self._gpu.submit_task(job)

    def _view_job(self, token: CancelToken, req: ViewRequest, missing: Sequence[str]) -> None:
        src = self.source()
        if not missing or src is None or req.video_key != src.key or req.n_frames != len(src):
            return  # nothing to do, or a request for a video that is no longer open
        frames = req.frames
        clip_frames: list[np.ndarray | None] = [None]
        started: list[bool] = [False]  # a busy Progress went out: end it, however the job ends
        try:
            for i, name in enumerate(missing):
                token.check()
                try:
                    rendered = self._render_clip(
                        token, src, req, name, frames, clip_frames, progress=(i, len(missing)), started=started
                    )
                except Cancelled:
                    raise
                except Exception as error:  # noqa: BLE001 - shown in the pane, the others go on
                    message, kind = describe_error(error)
                    if kind == "internal":
                        traceback.print_exception(error)
                    self._deliver(PaneError(self._answer(req, missing)[0], name, message, kind))
                    continue
                token.check()
                generation, latest = self._answer(req, missing)
                self._deliver(rendered.pane(generation, name, latest.playhead))
        finally:
            if started[0]:
                self._deliver(Progress("ready", 1, 1))

    def encoder(
        self, name: str, device: str = "auto", resolution: int | None = None, *, load: bool = True
    ) -> Encoder | None:
        """The loaded encoder ``name`` on ``device`` (loads it when ``load``; GPU lane only;
        see :class:`~.models.LoadedEncoders`)."""
        return self._models.get(name, device, resolution, load=load)

    def loaded_models(self) -> tuple[str, ...]:
        """Names of the loaded encoders (once each)."""
        return self._models.names()

    def forget_encoders(self, keep: Sequence[str]) -> None:
        """Drop loaded encoders not in ``keep`` (frees their memory; runs on the GPU lane)."""
        self._gpu.submit_task(lambda _token: self._models.keep_only(keep))

    def _clip_pixels(self, src: VideoSource, frames: tuple[int, ...], holder: list) -> np.ndarray:
        if holder[0] is None:
            key = src.key
            images = [self._frames.get((key, f)) for f in frames]
            if any(im is None for im in images):
                stride = frames[1] - frames[0] if len(frames) > 1 else 1
                clip = src.video.clip(frames[0], len(frames), stride)
                images = []
                for f, im in zip(frames, clip):
                    im = owned(im)  # a copy: a row of the clip would pin the whole clip
                    self._frames.put((key, f), im)
                    images.append(im)
            holder[0] = np.stack(images)
        return holder[0]

    def _features_for(
        self, token: CancelToken, src: VideoSource, req: ViewRequest, name: str, frames: tuple[int, ...], holder: list
    ) -> PatchFeatures:
        return self._encode_clip(token, src, name, frames, req.device, req.resolution, holder, req.reading)

    def _encode_clip(
        self,
        token: CancelToken,
        src: VideoSource,
        name: str,
        frames: tuple[int, ...],
        device: str,
        resolution: int | None,
        holder: list,
        reading: Reading = Reading(),
    ) -> PatchFeatures:
        """Features of ``frames`` of ``src`` at ``reading`` (CPU tensors, as the feature cache
        keeps them)."""
        enc = self.encoder(name, device, resolution)
        assert enc is not None
        token.check()  # loading may take long: another video or request may have come
        read_at(enc, reading)  # one worker thread: the shared encoder is set for this pass
        key = FeatureKey.create(src.path or src.key, enc, frames)
        feats = self._features.get(key)
        if feats is None:
            pixels = self._clip_pixels(src, frames, holder)
            token.check()
            feats = on_cpu(enc.encode(pixels, list(frames)))
            self.encode_count += 1
            self._features.put(key, feats)
        return feats

    # -- for other features' jobs on the GPU lane (masking, ...) ---------------------------
    def submit_gpu_task(self, job: Callable[[CancelToken], None]) -> None:
        """Queue ``job(token)`` on the GPU lane (never replaced; :meth:`cancel` cancels it).

        Errors other than :class:`Cancelled` are delivered as :class:`ErrorReport`.
        """
        self._gpu.submit_task(job)

    def gpu_busy_elsewhere(self) -> bool:
        """True when a view request or a task waits on the GPU lane (a long job should yield)."""
        return self._gpu.has_pending()

    def defer_gpu_task(self, job: Callable[[CancelToken], None]) -> None:
        """Queue ``job`` on the GPU lane *after* the view request waiting now, if one waits
        (else like :meth:`submit_gpu_task`): a long job (training) that yields in slices lets
        the panes update between slices while keeping the single GPU worker."""
        with self._lock:
            if self._gpu.request_waiting():
                self._deferred.append(job)
                return
        self._gpu.submit_task(job)

    def clip_pixels(
        self, frames: Sequence[int], holder: list | None = None, source: VideoSource | None = None
    ) -> np.ndarray:
        """uint8 [T, H, W, 3]: source ``frames`` of ``source`` (default: the open video; GPU
        lane only; uses the frame cache). A job that reads several things passes the one
        :meth:`source` it took at its start."""
        src = self._require_source(source)
        return self._clip_pixels(src, tuple(int(f) for f in frames), holder if holder is not None else [None])

    def clip_features(
        self,
        token: CancelToken,
        name: str,
        frames: Sequence[int],
        device: str = "auto",
        resolution: int | None = None,
        holder: list | None = None,
        source: VideoSource | None = None,
        reading: Reading = Reading(),
    ) -> PatchFeatures:
        """Encoder ``name``'s features of source ``frames`` of ``source`` (default: the open
        video) at ``reading``, from the feature cache when the panes already computed them (GPU
        lane only; loads the encoder if needed). The tokens are on the encoder's device (the
        cache keeps a CPU copy)."""
        src = self._require_source(source)
        frames = tuple(int(f) for f in frames)
        feats = self._encode_clip(token, src, name, frames, device, resolution,
                                  holder if holder is not None else [None], reading)
        enc = self.encoder(name, device, resolution, load=False)
        target = getattr(enc, "device", None)
        return feats if target is None or torch_device_type(target) == "cpu" else feats.to(target)

    def _render_clip(
        self,
        token: CancelToken,
        src: VideoSource,
        req: ViewRequest,
        name: str,
        frames: tuple[int, ...],
        holder: list,
        progress: tuple[int, int] | None = None,
        started: list[bool] | None = None,
    ) -> RenderedClip:
        if progress is not None:
            self.encoder(name, req.device, req.resolution)  # "loading" ends before "encoding" starts
            token.check()
            if started is not None:
                started[0] = True
            self._deliver(Progress(f"encoding {name}", progress[0], progress[1]))
        feats = self._features_for(token, src, req, name, frames, holder)
        token.check()
        context = PaneContext(self, token, src, req, name, feats, holder)
        result = maps.get(req.view.map_kind).compute(feats, req.view, context)
        result = replace(result, images=maps.frozen(result.images))
        rendered = RenderedClip(feats.label, result, feats.frame_indices, feats.crop_box, feats.tubelet_size)
        self._renders.put(self._render_key(req, name, frames), rendered)
        return rendered

    # -- prefetch -------------------------------------------------------------------------
    def _prefetch(self, token: CancelToken) -> None:
        req = self._last_view
        src = self.source()
        if req is None or src is None or req.video_key != src.key or req.n_frames != len(src):
            return
        index = req.clip.clip_index(req.playhead)
        ahead = {1: (index + 1, index + 2), -1: (index - 1, index - 2)}.get(self.playback_direction, (index + 1, index - 1))
        for neighbour in ahead:
            frames = req.clip.frames_of_clip(neighbour, req.n_frames)
            if not frames:
                continue
            holder: list = [None]
            for name in req.encoders:
                if token.cancelled or self._gpu.has_pending():
                    return
                if self.encoder(name, req.device, req.resolution, load=False) is None:
                    continue  # never load a model just to prefetch
                if self._renders.get(self._render_key(req, name, frames)) is not None:
                    continue
                try:
                    self._render_clip(token, src, req, name, frames, holder)
                except Cancelled:
                    return
                except Exception:  # noqa: BLE001 - the error shows when the user gets there
                    continue

    # -- tasks ----------------------------------------------------------------------------
    def run_task(
        self,
        name: str,
        fn: Callable[[Callable[[int, int], None], Callable[[], bool]], object],
        kind: TaskKind = "export",
    ) -> int:
        """Run ``fn(progress, cancel)`` on the GPU lane after the current work; returns an id.

        Delivers :class:`Progress` as ``fn`` reports it, then :class:`TaskDone` with its
        result, or :class:`ErrorReport` (nothing is delivered when it was cancelled).
        """
        request = next(self._ids)

        def job(token: CancelToken) -> None:
            def progress(done: int, total: int) -> None:
                self._deliver(Progress(name, int(done), int(total)))

            if token.cancelled:  # cancelled while it waited in the queue
                self._deliver(Progress(name, 1, 1, cancelled=True))
                return
            try:
                result = fn(progress, lambda: token.cancelled)
            except Cancelled:
                self._deliver(Progress(name, 1, 1, cancelled=True))
                return
            except Exception as error:  # noqa: BLE001 - reported to the user
                message, error_kind = describe_error(error)
                if error_kind == "internal":
                    traceback.print_exception(error)
                self._deliver(Progress(name, 1, 1))
                self._deliver(ErrorReport(message, "export" if error_kind == "usage" else error_kind, request))
                return
            self._deliver(Progress(name, 1, 1))
            self._deliver(TaskDone(request, name, result, kind))

        self._gpu.submit_task(job)
        return request

    def export(self, out: str | os.PathLike, encoders: Sequence[str], frames: Sequence[int], view: ViewSettings,
               device: str = "auto", resolution: int | None = None, reading: Reading = Reading()) -> int:
        """Export a labelled comparison (PNG) or a side-by-side video over ``frames`` on the
        GPU lane (see :func:`.exports.export_task`); returns the task id."""
        from .exports import export_task

        return export_task(self, out, encoders, frames, view, device, resolution, reading)
