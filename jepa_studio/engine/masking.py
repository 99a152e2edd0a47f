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

import hashlib
import itertools
import threading
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from ..analysis.masking import PixelMask, TokenGrid, token_mask
from ..errors import Cancelled, UsageError, VideoError
from ..video.frame_cache import LRUCache
from .lane import CancelToken
from .messages import Progress
from ..encoders.predictor import has_predictor  # re-exported: the one "has a predictor" check

Deliver = Callable[[object], None]

#: colour of visible tokens on the error map
VISIBLE_GREY = (58, 60, 64)


@dataclass(frozen=True)
class MaskRequest:
    """What the masked-prediction panes should show.

    Attributes
    ----------
    video_key: the open video (:attr:`StudioEngine.video_key`).
    frames: source frame indices of the clip (the clip around the playhead).
    encoder: the encoder name (registry name, hub id or folder).
    mask: the pixel mask (source-frame pixels, and the frames it applies to).
    device, resolution: as in :class:`~jepa_studio.engine.messages.ViewRequest`.
    fill: how encoders without a predictor fill hidden pixels: ``"mean"``, ``"blur"``, ``"noise"``.
    threshold: a token is hidden when more than this fraction of its pixels is masked.
    leaky: also compute V-JEPA 2's leaky variant.
    channels: principal components shown as R, G, B (0-based).
    """

    video_key: str
    frames: tuple[int, ...]
    encoder: str
    mask: PixelMask = field(compare=False)
    device: str = "auto"
    resolution: int | None = None
    fill: str = "blur"
    threshold: float = 0.0
    leaky: bool = True
    channels: tuple[int, int, int] = (0, 1, 2)

    def key(self) -> tuple:
        """Everything that changes the result (the mask by a digest of its pixels and frames)."""
        return (
            self.video_key, self.frames, self.encoder, mask_digest(self.mask), self.device,
            self.resolution, self.fill, float(self.threshold), bool(self.leaky), tuple(self.channels),
        )


def mask_digest(mask: PixelMask) -> str:
    """A short digest of a mask's pixels, size and frames."""
    h = hashlib.sha1()
    h.update(np.asarray(mask.size, dtype=np.int64).tobytes())
    h.update(np.packbits(mask.pixels).tobytes())
    h.update(b"all" if mask.frames is None else ",".join(str(f) for f in sorted(mask.frames)).encode())
    return h.hexdigest()


@dataclass(frozen=True)
class MaskedVariant:
    """One way of recovering the hidden tokens (true masking, leaky, or an inpainting fill).

    Attributes
    ----------
    variant: the analysis' variant name (``"true masking"``, ``"leaky (...)"``, ``"inpaint (blur)"``).
    leaky: True when the hidden region reached the encoder (show a warning).
    predicted: uint8 [T', h, w, 3], PCA of context + predicted tokens (the full encoding's basis).
    error: uint8 [T', h, w, 3], cosine similarity of each hidden token (viridis, 0 to 1), visible grey.
    cosine, l1: float32 [T', h, w], per hidden token; NaN at visible tokens.
    mean_cosine, mean_l1: over every hidden token of the clip (NaN when nothing is hidden).
    n_hidden: hidden tokens in the clip.
    summary: one line, as :meth:`MaskedPrediction.summary` writes it.
    tokens: float16 torch [T', h, w, D], the layer-normed context + predicted tokens (kept for
        non-leaky variants, so a decoder trained on layer-normed tokens can decode them), or None.
    """

    variant: str
    leaky: bool
    predicted: np.ndarray
    error: np.ndarray
    cosine: np.ndarray
    l1: np.ndarray
    mean_cosine: float
    mean_l1: float
    n_hidden: int
    summary: str
    tokens: Any = field(default=None, repr=False, compare=False)

    def step_scores(self, t: int) -> tuple[float, float, int]:
        """(mean cosine, mean L1, hidden tokens) of time step ``t``."""
        hidden = ~np.isnan(self.cosine[t])
        n = int(hidden.sum())
        if n == 0:
            return float("nan"), float("nan"), 0
        return float(self.cosine[t][hidden].mean()), float(self.l1[t][hidden].mean()), n


@dataclass(frozen=True)
class MaskedView:
    """Everything the masked-prediction panes show for one request.

    Attributes
    ----------
    request: the id :meth:`MaskingEngine.request` returned (stale ones are dropped).
    encoder: the encoder name as requested; ``label`` its label ("[random weights]" when random).
    method: ``"predictor"`` (V-JEPA 2) or ``"inpaint"`` (encoders without a predictor).
    grid: the encoder's token grid for this clip (also drawn while painting).
    full: uint8 [T', h, w, 3], PCA of the layer-normed full encoding.
    hidden: bool [T', h, w], the hidden tokens.
    variants: true masking first, then the leaky variant (V-JEPA 2), or the inpainting.
    tubelet_size: source frames per time step.
    note: why there is nothing to show ("paint a region..."), or "".
    """

    request: int
    encoder: str
    label: str
    method: str
    grid: TokenGrid
    full: np.ndarray | None
    hidden: np.ndarray | None
    variants: tuple[MaskedVariant, ...]
    tubelet_size: int
    note: str = ""

    @property
    def frame_indices(self) -> tuple[tuple[int, ...], ...]:
        return self.grid.frame_indices

    @property
    def crop_box(self) -> tuple[int, int, int, int]:
        return self.grid.crop_box

    def time_step(self, frame: int) -> int | None:
        """The time step covering source frame ``frame``, or None when it is not in the clip."""
        for t, covered in enumerate(self.grid.frame_indices):
            if int(frame) in covered:
                return t
        return None


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


def render_variant(prediction: Any, pca: Any, channels: tuple[int, int, int] = (0, 1, 2)) -> MaskedVariant:
    """uint8 maps of every time step of a :class:`~jepa_studio.analysis.masked_prediction.MaskedPrediction`."""
    import torch

    from ..render.colormap import apply_colormap

    cosine = prediction.cosine.numpy().astype(np.float32)
    error = apply_colormap(cosine, vmin=0.0, vmax=1.0, name="viridis")
    error = np.array(error, dtype=np.uint8, copy=True)
    error[np.isnan(cosine)] = VISIBLE_GREY
    predicted = pca.to_rgb(prediction.combined, channels=channels)
    out = MaskedVariant(
        variant=prediction.variant,
        leaky=bool(prediction.leaky),
        predicted=_frozen(predicted),
        error=_frozen(error),
        cosine=_frozen(cosine),
        l1=_frozen(prediction.l1.numpy().astype(np.float32)),
        mean_cosine=float(prediction.mean_cosine),
        mean_l1=float(prediction.mean_l1),
        n_hidden=int(prediction.n_hidden),
        summary=prediction.summary(),
        tokens=None if prediction.leaky else prediction.combined.detach().to("cpu", dtype=torch.float16),
    )
    return out


def _frozen(array: np.ndarray) -> np.ndarray:
    array = np.ascontiguousarray(array)
    array.setflags(write=False)
    return array


def compute_masked_view(
    encoder: Any,
    frames: np.ndarray,
    request: MaskRequest,
    features: Any | None = None,
    request_id: int = 0,
    check: Callable[[], None] = lambda: None,
) -> MaskedView:
    """The masked prediction of one clip, rendered for panes (any thread; no Qt).

    Parameters
    ----------
    encoder: the loaded encoder.
    frames: uint8 [T, H, W, 3], the clip's source frames (``request.frames``).
    request: what to compute.
    features: the encoder's PatchFeatures of these frames, when already computed (the full
        encoding is then not computed again).
    check: called between stages; raises :class:`Cancelled` when the request is stale.
    """
    from ..analysis.inpaint import inpaint_prediction
    from ..analysis.masked_prediction import masked_prediction, prepare_clip, reusable_encoding
    from ..encoders.base import encoder_label
    from ..analysis.pca import fit_pca
    from ..encoders.device import oom_guard

    mask = request.mask
    frame_list = list(request.frames)
    if tuple(mask.size) != tuple(frames.shape[1:3]):
        raise UsageError(
            f"the mask is {mask.size[1]}x{mask.size[0]} pixels but the frames are "
            f"{frames.shape[2]}x{frames.shape[1]}: paint or load a mask of the video's size"
        )
    channels = tuple(int(c) for c in request.channels)
    n_components = max(3, max(channels) + 1)
    if has_predictor(encoder):
        x, grid = prepare_clip(encoder, frames, frame_list)
        hidden = token_mask(mask, grid, request.threshold)
        check()
        full = reusable_encoding(features, hidden.shape, len(frame_list), getattr(encoder, "window", 0))
        meta = dict(
            label=encoder_label(encoder, 'vjepa2'), frame_indices=grid.frame_indices, patch_size=grid.patch_size,
            input_size=grid.input_size, crop_box=grid.crop_box,
        )
        if not hidden.any():
            return _empty_view(request, request_id, meta["label"], "predictor", grid, encoder)
        with oom_guard(f"masked prediction with {meta['label']} on {len(frame_list)} frames", x.device):
            result = masked_prediction(encoder.model, x, hidden, include_leaky=request.leaky, full_encoding=full, **meta)
        predictions = [result.true] + ([result.leaky] if result.leaky is not None else [])
        method = "predictor"
    else:
        if features is None:
            features = encoder.encode(frames, frame_list)
        grid = TokenGrid.from_features(features)
        label = features.label
        if not token_mask(mask, grid, request.threshold).any():
            return _empty_view(request, request_id, label, "inpaint", grid, encoder)
        check()
        predictions = [
            inpaint_prediction(encoder, frames, mask, frame_list, request.fill, request.threshold, reference=features)
        ]
        method = "inpaint"
    check()
    target = predictions[0].target
    pca = fit_pca(target, n_components)  # on the layer-normed full encoding
    full_rgb = pca.to_rgb(target, channels=channels)
    variants = tuple(render_variant(p, pca, channels) for p in predictions)
    return MaskedView(
        request=request_id,
        encoder=request.encoder,
        label=predictions[0].label,
        method=method,
        grid=grid,
        full=_frozen(full_rgb),
        hidden=_frozen(predictions[0].hidden.numpy()),
        variants=variants,
        tubelet_size=int(getattr(encoder, "tubelet_size", 1)),
    )


def _empty_view(request: MaskRequest, request_id: int, label: str, method: str, grid: TokenGrid, encoder: Any) -> MaskedView:
    if request.mask.pixels.any():
        note = "the mask hides no token of this clip: it applies to other time steps"
    else:
        note = "paint a region on the frame to hide it"
    return MaskedView(
        request=request_id, encoder=request.encoder, label=label, method=method, grid=grid,
        full=None, hidden=None, variants=(), tubelet_size=int(getattr(encoder, "tubelet_size", 1)), note=note,
    )


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

    @property
    def latest(self) -> int:
        """The id of the latest request."""
        return self._latest

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
            from .studio import describe_error

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
        from ..analysis.mask_export import (
            mask_comparison_frames,
            mask_comparison_image,
        )
        from ..export import IMAGE_SUFFIXES, VIDEO_SUFFIXES
        from ..video import save_image, write_video

        out = Path(out)
        suffix = out.suffix.lower()
        if suffix not in IMAGE_SUFFIXES + VIDEO_SUFFIXES:
            raise UsageError(f"cannot write {out.name!r}: use .png or .jpg for an image, .mp4, .gif or .webm for a video")
        video = self.engine.video
        if video is None:
            raise VideoError("open a video before exporting")
        settings = export_settings(request)
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
                step = frames[1] - frames[0] if len(frames) > 1 else 1
                fps = (getattr(video, "fps", 0.0) or 24.0) / max(1, step)
                write_video(out, mask_comparison_frames(video, [encoder], frames, settings, window, progress, cancel=cancel), fps)
            return out

        return self.engine.run_task(f"exporting {out.name}", fn)


def export_settings(request: MaskRequest) -> Any:
    """The :class:`~jepa_studio.analysis.mask_export.MaskSettings` of a request (its painted mask)."""
    from ..analysis.mask_export import MaskSettings

    return MaskSettings(fill=request.fill, threshold=request.threshold, leaky=request.leaky, mask=request.mask)


def make_mask_request(
    video_key: str,
    frames: Sequence[int],
    encoder: str,
    mask: PixelMask,
    **options: Any,
) -> MaskRequest:
    """A :class:`MaskRequest` (convenience)."""
    return MaskRequest(video_key, tuple(int(f) for f in frames), encoder, mask, **options)


__all__ = [
    "MaskError",
    "MaskGridReady",
    "MaskRequest",
    "MaskedVariant",
    "MaskedView",
    "MaskingEngine",
    "compute_masked_view",
    "export_settings",
    "has_predictor",
    "make_mask_request",
    "mask_digest",
    "render_variant",
]
