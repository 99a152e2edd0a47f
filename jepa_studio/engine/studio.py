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
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from ..encoders.base import Encoder, PatchFeatures
from ..errors import Cancelled, EncoderError, JepaStudioError, OutOfMemoryError, VideoError
from ..state.clip import ClipWindow
from ..state.view import ViewSettings
from ..video.frame_cache import LRUCache
from . import maps
from .feature_cache import FeatureCache, FeatureKey
from .lane import CancelToken, Lane
from .messages import (
    ErrorReport,
    FrameReady,
    PaneError,
    PaneImage,
    Progress,
    Status,
    TaskDone,
    VideoOpened,
    ViewRequest,
)

Deliver = Callable[[object], None]


@dataclass(frozen=True)
class RenderedClip:
    """One encoder's maps for one clip: uint8 [T', h, w, 3] plus where they sit."""

    label: str
    maps: np.ndarray
    frame_indices: tuple[tuple[int, ...], ...]
    crop_box: tuple[int, int, int, int]
    tubelet_size: int
    note: str = ""

    def pane(self, generation: int, encoder: str, playhead: int) -> PaneImage:
        """The pane image for the time step that shows ``playhead``."""
        t = maps.time_step_for(self.frame_indices, playhead)
        n, h, w = self.maps.shape[:3] if self.maps.size else (len(self.frame_indices), 0, 0)
        image = self.maps[t] if self.maps.shape[0] > t else None
        return PaneImage(
            generation=generation,
            encoder=encoder,
            label=self.label,
            image=image,
            crop_box=self.crop_box,
            covered=tuple(self.frame_indices[t]) if self.frame_indices else (),
            time_step=t,
            n_steps=len(self.frame_indices),
            tubelet_size=self.tubelet_size,
            grid=(int(h), int(w)),
            note=self.note,
        )


def _video_key(path: Path) -> str:
    try:
        stat = path.stat()
        return f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}"
    except OSError:
        return str(path)


def _is_torch_oom(error: BaseException) -> bool:
    import torch

    if isinstance(error, getattr(torch, "OutOfMemoryError", ())):
        return True
    return isinstance(error, RuntimeError) and "out of memory" in str(error).lower()


def describe_error(error: BaseException) -> tuple[str, str]:
    """(message, kind) for a failure: the user's message for our errors, a short one else."""
    if isinstance(error, OutOfMemoryError) or _is_torch_oom(error):
        message = str(error) if isinstance(error, OutOfMemoryError) else (
            "out of memory on the device: use a shorter clip, a lower resolution or a smaller model"
        )
        return message, "memory"
    if isinstance(error, VideoError):
        return str(error), "video"
    if isinstance(error, EncoderError):
        return str(error), "encoder"
    if isinstance(error, JepaStudioError):
        return str(error), "usage"
    return f"internal error ({type(error).__name__}: {error}); please report it", "internal"


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
        prefetch: bool = True,
    ) -> None:
        self._deliver = deliver
        self._open = video_opener
        self._load = encoder_loader
        self._features = feature_cache if feature_cache is not None else FeatureCache()
        self._frames: LRUCache[tuple[str, int], np.ndarray] = LRUCache(frame_cache_size)
        self._renders: LRUCache[tuple, RenderedClip] = LRUCache(render_cache_size)
        self._bases: dict[tuple, Any] = {}
        self._encoders: dict[tuple[str, str], Encoder] = {}
        self._lock = threading.RLock()
        self._ids = itertools.count(1)
        self._video: Any = None
        self.video_key = ""
        self.video_path: Path | None = None
        self._last_view: ViewRequest | None = None
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
            with self._lock:
                old, self._video = self._video, video
                self.video_path = path
                self.video_key = _video_key(path)
                self._last_view = None
            if old is not None:
                # The GPU lane may still be reading the old video: close it after its queue.
                self._gpu.submit_task(lambda _t: self._io.submit_task(lambda _u: old.close()))
            width, height = video.size
            self._deliver(VideoOpened(request, path, len(video), float(video.fps), (int(width), int(height))))

        self._io.submit_task(job)
        return request

    def cached_frame(self, frame: int) -> np.ndarray | None:
        """The decoded frame if it is in the cache (never decodes)."""
        return self._frames.get((self.video_key, int(frame)))

    def request_frame(self, frame: int) -> np.ndarray | None:
        """The frame at once if cached; else None and :class:`FrameReady` follows (latest wins)."""
        image = self.cached_frame(frame)
        if image is not None:
            return image
        video, key = self._video, self.video_key
        if video is None:
            return None

        def job(token: CancelToken) -> None:
            if key != self.video_key:
                return
            image = self._frames.get((key, frame))
            if image is None:
                image = np.ascontiguousarray(video[frame])
                image.setflags(write=False)
                self._frames.put((key, frame), image)
            token.check()
            self._deliver(FrameReady(key, frame, image))

        self._io.submit(job)
        return None

    # -- views ----------------------------------------------------------------------------
    def _render_key(self, req: ViewRequest, encoder: str, frames: tuple[int, ...]) -> tuple:
        return (req.video_key, encoder, req.device, req.resolution, frames, req.view.render_key())

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
        :class:`PaneError`) messages carrying that generation; a newer request cancels this
        one between stages.
        """
        with self._lock:
            self._last_view = req
        missing: list[str] = []
        ready: dict[str, PaneImage] = {}
        frames = req.frames
        renders = {n: self._renders.get(self._render_key(req, n, frames)) for n in req.encoders}
        missing = [n for n, r in renders.items() if r is None]
        generation = self._gpu.submit(lambda token: self._view_job_then_deferred(token, req, missing))
        for name, rendered in renders.items():
            if rendered is not None:
                ready[name] = rendered.pane(generation, name, req.playhead)
        return generation, ready

    def cancel(self) -> None:
        """Cancel the GPU lane's current work (view, prefetch, export, training)."""
        self._gpu.cancel()
        for listener in list(self.cancel_listeners):
            listener()
        self._flush_deferred()
        self._deliver(Progress("cancelled", 1, 1))

    def _view_job_then_deferred(self, token: CancelToken, req: ViewRequest, missing: Sequence[str]) -> None:
        try:
            self._view_job(token, req, missing)
        finally:
            self._flush_deferred()

    def _flush_deferred(self) -> None:
        with self._lock:
            jobs, self._deferred = self._deferred, []
        for job in jobs:
            self._gpu.submit_task(job)

    def _view_job(self, token: CancelToken, req: ViewRequest, missing: Sequence[str]) -> None:
        if not missing or req.video_key != self.video_key:
            return
        video = self._video
        frames = req.frames
        clip_frames: list[np.ndarray | None] = [None]
        for i, name in enumerate(missing):
            token.check()
            try:
                rendered = self._render_clip(
                    token, video, req, name, frames, clip_frames, progress=(i, len(missing))
                )
            except Cancelled:
                raise
            except Exception as error:  # noqa: BLE001 - shown in the pane, the others go on
                message, kind = describe_error(error)
                if kind == "internal":
                    traceback.print_exception(error)
                self._deliver(PaneError(token.generation, name, message, kind))
                continue
            token.check()
            self._deliver(rendered.pane(token.generation, name, req.playhead))
        self._deliver(Progress("ready", 1, 1))

    def _device_key(self, device: str) -> str:
        return device or "auto"

    def encoder(
        self, name: str, device: str = "auto", resolution: int | None = None, *, load: bool = True
    ) -> Encoder | None:
        """The loaded encoder ``name`` on ``device`` (loads it when ``load``; GPU lane only)."""
        key = (name, self._device_key(device), resolution)
        enc = self._encoders.get(key)
        if enc is not None or not load:
            return enc
        self._deliver(Progress(f"loading {name}", 0, 0))
        loader = self._load
        if loader is None:
            from ..encoders import load_encoder as loader
        kwargs = {} if resolution is None else {"resolution": int(resolution)}
        enc = loader(name, device=None if device in ("", "auto") else device, **kwargs)
        self._encoders[key] = enc
        self._deliver(Status(str(enc.device), self.loaded_models()))
        return enc

    def loaded_models(self) -> tuple[str, ...]:
        """Names of the loaded encoders (once each)."""
        return tuple(dict.fromkeys(k[0] for k in self._encoders))

    def forget_encoders(self, keep: Sequence[str]) -> None:
        """Drop loaded encoders not in ``keep`` (frees their memory; runs on the GPU lane)."""
        keep_set = set(keep)

        def job(_token: CancelToken) -> None:
            for key in [k for k in self._encoders if k[0] not in keep_set]:
                del self._encoders[key]
            self._deliver(Status(self._status_device(), self.loaded_models()))

        self._gpu.submit_task(job)

    def _status_device(self) -> str:
        for enc in self._encoders.values():
            return str(enc.device)
        return "-"

    def _clip_pixels(self, video: Any, frames: tuple[int, ...], holder: list) -> np.ndarray:
        if holder[0] is None:
            key = self.video_key
            images = [self._frames.get((key, f)) for f in frames]
            if any(im is None for im in images):
                stride = frames[1] - frames[0] if len(frames) > 1 else 1
                clip = video.clip(frames[0], len(frames), stride)
                images = []
                for f, im in zip(frames, clip):
                    im = np.ascontiguousarray(im)
                    im.setflags(write=False)
                    self._frames.put((key, f), im)
                    images.append(im)
            holder[0] = np.stack(images)
        return holder[0]

    def _features_for(
        self, token: CancelToken, video: Any, req: ViewRequest, name: str, frames: tuple[int, ...], holder: list
    ) -> PatchFeatures:
        return self._encode_clip(token, video, name, frames, req.device, req.resolution, holder)

    def _encode_clip(
        self,
        token: CancelToken,
        video: Any,
        name: str,
        frames: tuple[int, ...],
        device: str,
        resolution: int | None,
        holder: list,
    ) -> PatchFeatures:
        enc = self.encoder(name, device, resolution)
        assert enc is not None
        key = FeatureKey.create(self.video_path or self.video_key, enc, frames)
        feats = self._features.get(key)
        if feats is None:
            pixels = self._clip_pixels(video, frames, holder)
            token.check()
            feats = enc.encode(pixels, list(frames))
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
            if self._gpu._latest is not None:
                self._deferred.append(job)
                return
        self._gpu.submit_task(job)

    def clip_pixels(self, frames: Sequence[int], holder: list | None = None) -> np.ndarray:
        """uint8 [T, H, W, 3]: source ``frames`` of the open video (GPU lane only; uses the frame cache)."""
        if self._video is None:
            raise VideoError("open a video first")
        return self._clip_pixels(self._video, tuple(int(f) for f in frames), holder if holder is not None else [None])

    def clip_features(
        self,
        token: CancelToken,
        name: str,
        frames: Sequence[int],
        device: str = "auto",
        resolution: int | None = None,
        holder: list | None = None,
    ) -> PatchFeatures:
        """Encoder ``name``'s features of source ``frames``, from the feature cache when the
        panes already computed them (GPU lane only; loads the encoder if needed)."""
        if self._video is None:
            raise VideoError("open a video first")
        frames = tuple(int(f) for f in frames)
        return self._encode_clip(token, self._video, name, frames, device, resolution, holder if holder is not None else [None])

    def _render_clip(
        self,
        token: CancelToken,
        video: Any,
        req: ViewRequest,
        name: str,
        frames: tuple[int, ...],
        holder: list,
        progress: tuple[int, int] | None = None,
    ) -> RenderedClip:
        if progress is not None:
            self._deliver(Progress(f"encoding {name}", progress[0], progress[1]))
        feats = self._features_for(token, video, req, name, frames, holder)
        token.check()
        view = req.view
        note = ""
        if view.map_kind == "pca":
            basis = None
            if view.basis == "session":
                bkey = (req.video_key, name, req.device, maps.n_components_for(view.channels), view.foreground_threshold)
                basis = self._bases.get(bkey)
                if basis is None:
                    basis = self._bases[bkey] = maps.fit_session_basis(feats, view)
            images = maps.pca_maps(feats, view, basis)
        elif view.map_kind == "difference":
            images = maps.difference_maps(feats)
            if images.shape[0] == 0:
                note = "temporal difference needs 2 time steps: use more frames per clip"
        else:
            images, note = self._similarity(token, video, req, name, feats, holder)
        images = np.ascontiguousarray(images)
        images.setflags(write=False)
        rendered = RenderedClip(feats.label, images, feats.frame_indices, feats.crop_box, feats.tubelet_size, note)
        self._renders.put(self._render_key(req, name, frames), rendered)
        return rendered

    def _similarity(
        self, token: CancelToken, video: Any, req: ViewRequest, name: str, feats: PatchFeatures, holder: list
    ) -> tuple[np.ndarray, str]:
        query = req.view.query
        _, h, w = feats.grid
        if query is None:
            return np.zeros((0, h, w, 3), np.uint8), "click a patch to see its similarity"
        x, y, qframe = query
        qframes = req.clip.frames_around(qframe, req.n_frames)
        if qframes == req.frames:
            qfeats = feats
        else:
            qfeats = self._features_for(token, video, req, name, qframes, [None])
        vector = maps.query_vector(qfeats, x, y, qframe)
        if vector is None:
            return np.zeros((0, h, w, 3), np.uint8), "the clicked point is outside this encoder's crop"
        return maps.similarity_maps(feats, vector), ""

    # -- prefetch -------------------------------------------------------------------------
    def _prefetch(self, token: CancelToken) -> None:
        req = self._last_view
        if req is None or req.video_key != self.video_key or self._video is None:
            return
        index = req.clip.clip_index(req.playhead)
        for neighbour in (index + 1, index - 1):
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
                    self._render_clip(token, self._video, req, name, frames, holder)
                except Cancelled:
                    return
                except Exception:  # noqa: BLE001 - the error shows when the user gets there
                    continue

    # -- tasks ----------------------------------------------------------------------------
    def run_task(self, name: str, fn: Callable[[Callable[[int, int], None], Callable[[], bool]], object]) -> int:
        """Run ``fn(progress, cancel)`` on the GPU lane after the current work; returns an id.

        Delivers :class:`Progress` as ``fn`` reports it, then :class:`TaskDone` with its
        result, or :class:`ErrorReport` (nothing is delivered when it was cancelled).
        """
        request = next(self._ids)

        def job(token: CancelToken) -> None:
            def progress(done: int, total: int) -> None:
                self._deliver(Progress(name, int(done), int(total)))

            try:
                result = fn(progress, lambda: token.cancelled)
            except Cancelled:
                self._deliver(Progress(f"{name} cancelled", 1, 1))
                return
            except Exception as error:  # noqa: BLE001 - reported to the user
                message, kind = describe_error(error)
                if kind == "internal":
                    traceback.print_exception(error)
                self._deliver(Progress(name, 1, 1))
                self._deliver(ErrorReport(message, "export" if kind == "usage" else kind, request))
                return
            self._deliver(Progress(name, 1, 1))
            self._deliver(TaskDone(request, name, result))

        self._gpu.submit_task(job)
        return request

    def export(
        self,
        out: str | os.PathLike,
        encoders: Sequence[str],
        frames: Sequence[int],
        view: ViewSettings,
        device: str = "auto",
        resolution: int | None = None,
    ) -> int:
        """Export a labelled comparison (PNG) or a side-by-side video over ``frames``.

        Runs :func:`jepa_studio.export.export_comparison` on the GPU lane with the already
        loaded encoders; returns the task id (see :meth:`run_task`).
        """
        from ..export import PcaView, export_comparison

        basis = view.basis if view.basis in ("clip", "frame") else "clip"
        pca_view = PcaView(basis=basis, channels=view.channels, foreground_threshold=view.foreground_threshold)
        video = self._video
        if video is None:
            raise VideoError("open a video before exporting")

        def fn(progress: Callable[[int, int], None], cancel: Callable[[], bool]) -> object:
            encs = [self.encoder(name, device, resolution) for name in encoders]
            return export_comparison(video, encs, list(frames), Path(out), pca_view, progress=progress, cancel=cancel)

        return self.run_task(f"exporting {Path(out).name}", fn)


def make_request(
    video_key: str,
    playhead: int,
    clip: ClipWindow,
    n_frames: int,
    encoders: Sequence[str],
    view: ViewSettings,
    device: str = "auto",
    resolution: int | None = None,
) -> ViewRequest:
    """A :class:`ViewRequest` (convenience for callers that hold the pieces)."""
    return ViewRequest(video_key, int(playhead), clip, int(n_frames), tuple(encoders), view, device, resolution)
