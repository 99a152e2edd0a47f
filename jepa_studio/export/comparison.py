"""Comparison exports: labelled PCA grids (PNG) and side-by-side videos (mp4, gif).

The CLI's ``jepa-studio export`` and the GUI's Ctrl+E both come here.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, Sequence

import numpy as np

from ..analysis.pca import PatchPCA, fit_pca, pca_map
from ..encoders import Encoder, PatchFeatures, load_encoder
from ..encoders.base import Layer, short_weights_note
from ..errors import Cancelled, UsageError
from ..maps.pca import n_components_for
from ..render.grid import LABEL_COLOR, WARN_COLOR, cell_size_for, labelled_grid, place_map, resize
from ..video import Video, save_image, write_video
from ..video.timing import frame_label, video_timing

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
#: the most frames (columns) one comparison image holds: it is one clip in memory and a PNG
#: wider than a few tens of thousands of pixels is of no use to anyone
MAX_IMAGE_FRAMES = 64
VIDEO_SUFFIXES = (".mp4", ".gif", ".webm")

Progress = Callable[[int, int], None]
Cancel = Callable[[], bool]


@dataclass(frozen=True)
class PcaView:
    """How features become colours: basis per clip or per time step, components for R, G, B."""

    basis: str = "clip"  # "clip" | "frame"
    channels: tuple[int, int, int] = (0, 1, 2)
    foreground_threshold: float | None = None

    def __post_init__(self) -> None:
        if self.basis not in ("clip", "frame"):
            raise UsageError(f"PCA basis must be 'clip' or 'frame', not {self.basis!r}")
        if len(self.channels) != 3 or min(self.channels) < 0:
            raise UsageError("choose three non-negative PCA components for R, G and B")

    @property
    def n_components(self) -> int:
        return n_components_for(self.channels)

    def fit(self, features: PatchFeatures) -> PatchPCA:
        """One basis for all of ``features``' time steps."""
        return fit_pca(features, self.n_components, foreground_threshold=self.foreground_threshold)

    def rgb(self, features: PatchFeatures, basis: PatchPCA | None = None) -> np.ndarray:
        """uint8 [T', h, w, 3] PCA colours; ``basis`` (if given) is used for every time step."""
        kind = "clip" if basis is not None else self.basis
        return pca_map(features, kind, self.n_components, self.channels, self.foreground_threshold, basis)[0]  # type: ignore[arg-type]

    def frame_rgb(self, features: PatchFeatures, reference: PatchPCA | None = None) -> tuple[np.ndarray, PatchPCA]:
        """One basis per time step, each sign-aligned to the one before (the first to
        ``reference``): uint8 [T', h, w, 3] and the last step's basis."""
        rgb, bases = pca_map(features, "frame", self.n_components, self.channels, self.foreground_threshold, reference)
        return rgb, bases[-1]


def resolve_encoders(encoders: Sequence[str | Encoder], device: str | None = None) -> list[Encoder]:
    """Encoder objects for names (registry names, hub ids, folders) or ready encoders."""
    if not encoders:
        raise UsageError("name at least one encoder, e.g. --encoders pixels,pixels-tubelet")
    return [load_encoder(e, device=device) if isinstance(e, str) else e for e in encoders]


def encoder_row_label(features: PatchFeatures) -> str:
    """Several lines naming the encoder, its weights and its token grid."""
    t, h, w = features.grid
    lines = [features.encoder]
    if features.checkpoint not in ("-", features.encoder) and not features.pretrained:
        lines.append(_shorten(features.checkpoint, 30))
    lines.append(short_weights_note(features.weights_note, 30) if features.pretrained else "RANDOM WEIGHTS")
    if features.layer_tag:
        lines.append(features.layer_tag)
    lines.append(f"{h}x{w} tokens, D={features.dim}")
    if features.tubelet_size > 1:
        lines.append(f"tubelets of {features.tubelet_size} frames")
    return "\n".join(lines)


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else "..." + text[-(limit - 3) :]


def _check_frames(video: Video, frames: Sequence[int]) -> list[int]:
    frames = [int(f) for f in frames]
    if not frames:
        raise UsageError("the frame range is empty")
    bad = [f for f in frames if not 0 <= f < len(video)]
    if bad:
        raise UsageError(f"frame {bad[0]} is outside the video (it has {len(video)} frames: 0..{len(video) - 1})")
    return frames


def comparison_image(
    video: Video,
    encoders: Sequence[str | Encoder],
    frames: Sequence[int],
    view: PcaView = PcaView(),
    cell_width: int = 256,
    progress: Progress | None = None,
    cancel: Cancel | None = None,
    layers: Sequence[Layer] | None = None,
) -> np.ndarray:
    """A labelled grid: the source frames, then one row of PCA maps per encoder (per encoder
    and layer with ``layers``: a layer sweep, e.g. ``[4, 8, 12, "last"]``; pixel baselines,
    which have no layers, get one row).

    The encoders see ``frames`` as one clip (V-JEPA 2 style encoders pair consecutive
    entries into tubelets); the cell under frame f shows the time step covering f.

    Returns uint8 [H, W, 3].
    """
    frames = _check_frames(video, frames)
    if len(frames) > MAX_IMAGE_FRAMES:
        step = -(-len(frames) * _step_of(frames) // MAX_IMAGE_FRAMES)
        raise UsageError(
            f"{len(frames)} frames do not fit one image (at most {MAX_IMAGE_FRAMES} columns): take every "
            f"{step}th frame (--frames {frames[0]}:{frames[-1] + 1}:{step}) or export a video (.mp4)"
        )
    encoders = resolve_encoders(encoders)
    clip = np.stack([video[f] for f in frames])
    cell = cell_size_for(clip.shape[1:3], cell_width)
    rows = [("source frames", [resize(f, cell) for f in clip])]
    captions: list[list[str]] = [["" for _ in frames]]
    colors = [LABEL_COLOR]
    runs = [(encoder, layer) for encoder in encoders for layer in _layers_of(encoder, layers)]
    total = len(runs)
    for done, (encoder, layer) in enumerate(runs):
        _raise_if_cancelled(cancel)
        if progress:
            progress(done, total)
        with _at_layer(encoder, layer):
            features = encoder.encode(clip, frames)
        rgb = view.rgb(features)
        cells, caps = [], []
        for f in frames:
            t = features.time_step_of_frame(f)
            cells.append(place_map(rgb[t], clip.shape[1:3], features.crop_box, cell))
            covered = features.frame_indices[t]
            caps.append("tubelet of frames " + " & ".join(map(str, covered)) if len(covered) > 1 else "")
        rows.append((encoder_row_label(features), cells))
        captions.append(caps)
        colors.append(LABEL_COLOR if features.pretrained else WARN_COLOR)
    if progress:
        progress(total, total)
    header = [frame_label(video, f) for f in frames]
    name = Path(video.path).name
    step = frames[1] - frames[0] if len(frames) > 1 else 1
    title = (
        f"{name}  |  frames {frames[0]}-{frames[-1]} step {step}  |  PCA of patch features, "
        f"{view.basis} basis, components {'/'.join(str(c + 1) for c in view.channels)} as R/G/B"
    )
    return labelled_grid(rows, header, captions, title=title, row_label_colors=colors)


def comparison_video_frames(
    video: Video,
    encoders: Sequence[str | Encoder],
    frames: Sequence[int],
    view: PcaView = PcaView(basis="clip"),
    cell_width: int = 320,
    window: int = 16,
    progress: Progress | None = None,
    cancel: Cancel | None = None,
) -> Iterator[np.ndarray]:
    """Side-by-side frames (source | one PCA map per encoder), streamed over ``frames``.

    Frames are encoded in windows of ``window`` (even, so tubelets never straddle two
    windows). The PCA basis of each encoder is fitted on the first window and kept for the
    whole range, so colours are stable in time; with ``view.basis == "frame"`` each time
    step gets its own basis, sign-aligned to the previous one. Yields uint8 [H, W, 3] frames.
    """
    frames = _check_frames(video, frames)
    encoders = resolve_encoders(encoders)
    window = max(2, window - window % 2)
    bases: list[PatchPCA | None] = [None] * len(encoders)
    for start in range(0, len(frames), window):
        _raise_if_cancelled(cancel)
        chunk = frames[start : start + window]
        clip = np.stack([video[f] for f in chunk])
        cell = cell_size_for(clip.shape[1:3], cell_width)
        per_encoder = []
        for k, encoder in enumerate(encoders):
            features = encoder.encode(clip, chunk)
            if view.basis == "frame":  # per time step, chained across windows
                rgb, bases[k] = view.frame_rgb(features, reference=bases[k])
                per_encoder.append((features, rgb))
                continue
            if bases[k] is None:
                bases[k] = view.fit(features)
            per_encoder.append((features, view.rgb(features, bases[k])))
        for i, f in enumerate(chunk):
            cells = [resize(clip[i], cell)]
            labels = [frame_label(video, f)]
            for features, rgb in per_encoder:
                t = features.time_step_of_frame(f)
                cells.append(place_map(rgb[t], clip.shape[1:3], features.crop_box, cell))
                covered = features.frame_indices[t]
                tag = "" if features.pretrained else " [random]"
                span = " (frames " + " & ".join(map(str, covered)) + ")" if len(covered) > 1 else ""
                labels.append(f"{features.encoder}{tag}{span}")
            yield labelled_grid([("", cells)], labels, gap=4, font_size=13)
            if progress:
                progress(start + i + 1, len(frames))


def export_comparison(
    video: Video,
    encoders: Sequence[str | Encoder],
    frames: Sequence[int],
    out: str | os.PathLike,
    view: PcaView = PcaView(),
    progress: Progress | None = None,
    cancel: Cancel | None = None,
    layers: Sequence[Layer] | None = None,
) -> Path:
    """Write a comparison image (.png/.jpg) or video (.mp4/.gif/.webm) to ``out``;
    ``layers``: a layer sweep, one row per encoder and layer (images only).

    Nothing is left at ``out`` if the export fails or is cancelled.
    """
    out = Path(out)
    suffix = out.suffix.lower()
    if suffix not in IMAGE_SUFFIXES + VIDEO_SUFFIXES:
        raise UsageError(
            f"cannot export to {out.name!r}: use .png or .jpg for an image, .mp4, .gif or .webm for a video"
        )
    if not out.parent.exists():
        raise UsageError(f"the folder {str(out.parent)!r} does not exist")
    if layers and suffix not in IMAGE_SUFFIXES:
        raise UsageError("a layer sweep draws one row per layer: export it as an image (.png or .jpg)")
    if suffix in IMAGE_SUFFIXES:
        image = comparison_image(video, encoders, frames, view, progress=progress, cancel=cancel, layers=layers)
        return save_image(out, image)
    fps, times = video_timing(video, frames)
    clip = comparison_video_frames(video, encoders, frames, view, progress=progress, cancel=cancel)
    return write_video(out, clip, fps, timestamps=times)


def _layers_of(encoder: Encoder, layers: Sequence[Layer] | None) -> list[Layer | None]:
    """The layers to draw ``encoder`` at: ``layers`` for a transformers encoder, else [None]
    (as it is: pixel baselines have no layers)."""
    return list(layers) if layers and hasattr(encoder, "num_layers") else [None]


@contextlib.contextmanager
def _at_layer(encoder: Encoder, layer: Layer | None) -> Iterator[None]:
    """Within the block, ``encoder`` reads ``layer`` (None: as it is); restored after."""
    if layer is None:
        yield
        return
    saved = encoder.layer  # type: ignore[attr-defined]
    encoder.layer = layer  # type: ignore[attr-defined]
    try:
        yield
    finally:
        encoder.layer = saved  # type: ignore[attr-defined]


def _step_of(frames: Sequence[int]) -> int:
    return int(frames[1] - frames[0]) if len(frames) > 1 else 1


def _raise_if_cancelled(cancel: Cancel | None) -> None:
    if cancel is not None and cancel():
        raise Cancelled("export cancelled")
