"""Masked-prediction comparisons as images and videos: the code behind ``jepa-studio mask``
and the studio window's masking export.

Per encoder: the PCA of the layer-normed full encoding, then per variant (true masking and
V-JEPA 2's leaky one, or an inpainting fill for encoders without a predictor) the PCA of
context + predicted tokens through the same basis and the per-token cosine map with the mean
scores. Every image comes from :func:`~jepa_studio.analysis.masked_view.compute_masked_view`,
the function the window's masked panes show, so an export has the panes' colours.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import numpy as np

from ..analysis.masked_view import MaskedView, compute_masked_view
from ..analysis.masking import PixelMask, preset_mask, read_mask_png
from ..errors import Cancelled, UsageError
from ..render.grid import LABEL_COLOR, WARN_COLOR, cell_size_for, labelled_grid, place_map, resize
from ..render.text import draw_text

MASK_COLOUR = np.array([255, 64, 64], dtype=np.float32)


@dataclass(frozen=True)
class MaskSettings:
    """Everything about the mask and the comparison that is not the video or the encoders.

    The mask is, in order of precedence: ``mask`` (a ready PixelMask: the window's painted
    one), ``mask_png`` (a file), else the preset ``preset`` (default ``"centre"``).
    ``channels``: the principal components drawn as R, G, B (the window's choice).
    """

    mask_png: str | None = None
    preset: str | None = None
    fill: str = "blur"
    threshold: float = 0.0
    leaky: bool = True
    future_steps: int | None = None
    seed: int = 0
    mask: PixelMask | None = None
    channels: tuple[int, int, int] = (0, 1, 2)

    def pixel_mask(self, frame_size: tuple[int, int], frames: Sequence[int]) -> PixelMask:
        """The :class:`~jepa_studio.analysis.masking.PixelMask` for a clip of ``frames``."""
        if self.mask is not None:
            if tuple(self.mask.size) != tuple(frame_size):
                raise UsageError(
                    f"the mask is {self.mask.size[1]}x{self.mask.size[0]} pixels but the video's "
                    f"frames are {frame_size[1]}x{frame_size[0]}"
                )
            return self.mask
        if self.mask_png is not None:
            pixels, chosen = read_mask_png(self.mask_png)
            if pixels.shape != tuple(frame_size):
                raise UsageError(
                    f"the mask {self.mask_png} is {pixels.shape[1]}x{pixels.shape[0]} pixels but the video's "
                    f"frames are {frame_size[1]}x{frame_size[0]}"
                )
            return PixelMask(pixels, chosen)
        return preset_mask(
            self.preset or "centre", frame_size, frames, future_steps=self.future_steps, seed=self.seed
        )


@dataclass(frozen=True)
class _Job:
    """One encoder's masked prediction of one clip (a :class:`~jepa_studio.analysis.masked_view.MaskJob`)."""

    frames: tuple[int, ...]
    encoder: str
    mask: PixelMask
    fill: str
    threshold: float
    leaky: bool
    channels: tuple[int, int, int]


def overlay_mask(frame: np.ndarray, pixels: np.ndarray, alpha: float = 0.45) -> np.ndarray:
    """uint8 [H, W, 3] with the hidden pixels tinted red."""
    out = frame.astype(np.float32)
    out[pixels] = out[pixels] * (1 - alpha) + MASK_COLOUR * alpha
    return out.round().astype(np.uint8)


def masked_views(
    video: Any, encoders: Sequence[Any], frames: Sequence[int], settings: MaskSettings
) -> tuple[np.ndarray, PixelMask, list[MaskedView]]:
    """Decode ``frames`` (uint8 [T, H, W, 3]), build their pixel mask, and compute every
    encoder's masked view: (clip, mask, views)."""
    clip = np.stack([video[f] for f in frames])
    mask = settings.pixel_mask(clip.shape[1:3], frames)
    views = []
    for encoder in encoders:
        job = _Job(tuple(int(f) for f in frames), str(getattr(encoder, "name", "encoder")), mask,
                   settings.fill, settings.threshold, settings.leaky, tuple(settings.channels))  # type: ignore[arg-type]
        views.append(compute_masked_view(encoder, clip, job))
    return clip, mask, views


def view_cells(view: MaskedView, f: int, frame: np.ndarray, cell: tuple[int, int]) -> tuple[list[np.ndarray], list[str]]:
    """Cells and labels of source frame ``f``: the full encoding, then per variant context +
    predicted and the cosine map (its scores written on it)."""
    t = view.time_step(f)
    size = frame.shape[:2]
    if t is None or view.full is None:
        blank = np.zeros((*cell, 3), np.uint8)
        return [draw_text(blank, view.note or "nothing hidden", (6, 6), size=13)], [f"{view.label}: {view.note or 'nothing hidden'}"]
    cells = [place_map(view.full[t], size, view.crop_box, cell)]
    labels = [f"{view.label}: full"]
    font = max(10, min(18, cell[1] // 28))
    for variant in view.variants:
        tag = "LEAKY" if variant.leaky else variant.variant
        error = place_map(variant.error[t], size, view.crop_box, cell)
        text = variant.summary + ("\nLEAKY: the encoder saw the hidden region" if variant.leaky else "")
        cells += [place_map(variant.predicted[t], size, view.crop_box, cell),
                  draw_text(error, text, (6, 6), size=font, background=(0, 0, 0))]
        labels += [f"{tag}: context+predicted", f"{tag}: cosine"]
    return cells, labels


def _mask_of(mask: PixelMask, f: int) -> np.ndarray:
    return mask.pixels if mask.applies_to(f) else np.zeros(mask.size, bool)


def mask_comparison_image(
    video: Any, encoders: Sequence[Any], frames: Sequence[int], settings: MaskSettings, columns: int = 8, cell_width: int = 256
) -> np.ndarray:
    """A labelled grid for one clip: the frames with the mask, then per encoder and variant
    the PCA of the full encoding, of context + predicted, and the cosine map; a column per
    shown frame (at most ``columns``, evenly spread). Returns uint8 [H, W, 3]."""
    frames = list(frames)
    clip, mask, views = masked_views(video, encoders, frames, settings)
    shown = sorted({frames[int(round(i))] for i in np.linspace(0, len(frames) - 1, min(columns, len(frames)))})
    cell = cell_size_for(clip.shape[1:3], cell_width)
    rows = [("source + mask", [resize(overlay_mask(clip[frames.index(f)], _mask_of(mask, f)), cell) for f in shown])]
    colours = [LABEL_COLOR]
    for view in views:
        per_frame = [view_cells(view, f, clip[frames.index(f)], cell) for f in shown]
        summaries = iter(v.summary for v in view.variants)
        for k, label in enumerate(per_frame[0][1]):
            text = label.replace(": ", "\n")
            if label.endswith(": cosine"):
                text += "\n" + next(summaries).replace("  (", "\n(")
            rows.append((text, [cells[k] for cells, _ in per_frame]))
            colours.append(WARN_COLOR if "LEAKY" in label or "random" in label else LABEL_COLOR)
    components = "/".join(str(c + 1) for c in settings.channels)
    title = (
        f"{Path(str(video.path)).name}  |  frames {frames[0]}-{frames[-1]}  |  masked prediction: "
        f"PCA (components {components}) of the layer-normed full encoding, of context + predicted "
        "(same basis), cosine per hidden token"
    )
    return labelled_grid(rows, [f"frame {f}" for f in shown], title=title, row_label_colors=colours)


def mask_comparison_frames(
    video: Any,
    encoders: Sequence[Any],
    frames: Sequence[int],
    settings: MaskSettings,
    window: int = 16,
    progress: Any = None,
    cell_width: int = 256,
    cancel: Callable[[], bool] | None = None,
) -> Iterator[np.ndarray]:
    """Side-by-side panes per frame (source + mask | per encoder and variant: full, predicted, cosine),
    the range cut into clips of ``window`` frames. Yields uint8 [H, W, 3]."""
    frames = list(frames)
    n_clips = -(-len(frames) // window)
    for k in range(n_clips):
        chunk = frames[k * window : (k + 1) * window]
        if cancel is not None and cancel():
            raise Cancelled("export cancelled")
        clip, mask, views = masked_views(video, encoders, chunk, settings)
        cell = cell_size_for(clip.shape[1:3], cell_width)
        for i, f in enumerate(chunk):
            cells, labels = [resize(overlay_mask(clip[i], _mask_of(mask, f)), cell)], [f"frame {f}"]
            for view in views:
                more, names = view_cells(view, f, clip[i], cell)
                cells += more
                labels += names
            yield labelled_grid([("", cells)], labels, gap=4, font_size=12)
        if progress:
            progress(k + 1, n_clips)
