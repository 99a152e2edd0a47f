"""Masked-prediction comparisons as images and videos: the code behind ``jepa-studio mask``
and the studio window's masking export.

Per encoder and variant: the PCA of the layer-normed full encoding, the PCA of context +
predicted tokens through the same basis, and the per-token cosine map with the mean scores.
V-JEPA 2 predicts the hidden tokens with its predictor (true masking, plus the leaky
variant, labelled); encoders without a predictor (DINOv2, DINOv3, pixels) re-encode the
frames with the hidden pixels filled in (:mod:`.inpaint`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import numpy as np

from ..errors import Cancelled

MASK_COLOUR = np.array([255, 64, 64], dtype=np.float32)


class MaskSettings:
    """Everything about the mask and the comparison that is not the video or the encoders."""

    def __init__(
        self,
        mask_png: str | None = None,
        preset: str | None = None,
        fill: str = "blur",
        threshold: float = 0.0,
        leaky: bool = True,
        future_steps: int | None = None,
        seed: int = 0,
        mask: Any = None,
    ) -> None:
        self.mask_png, self.preset, self.fill = mask_png, preset, fill
        self.threshold, self.leaky, self.future_steps, self.seed = threshold, leaky, future_steps, seed
        #: a ready :class:`~jepa_studio.analysis.masking.PixelMask` (the GUI's painted mask); wins over the others
        self.mask = mask

    def pixel_mask(self, frame_size: tuple[int, int], frames: Sequence[int]) -> Any:
        """The :class:`~jepa_studio.analysis.masking.PixelMask` for a clip of ``frames``."""
        from ..errors import UsageError
        from ..state.mask import read_mask_png
        from .masking import PixelMask, preset_mask

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


def run_encoder(encoder: Any, clip: np.ndarray, frames: Sequence[int], mask: Any, settings: MaskSettings) -> list[Any]:
    """Masked predictions of one encoder on one clip: [true, leaky] for V-JEPA 2, [inpaint] otherwise."""
    from ..encoders.predictor import has_predictor
    from .inpaint import inpaint_prediction
    from .masked_prediction import encoder_masked_prediction

    if has_predictor(encoder):
        result = encoder_masked_prediction(encoder, clip, mask, frames, settings.threshold, include_leaky=settings.leaky)
        return [result.true] + ([result.leaky] if result.leaky is not None else [])
    return [inpaint_prediction(encoder, clip, mask, frames, settings.fill, settings.threshold, settings.seed)]


def overlay_mask(frame: np.ndarray, pixels: np.ndarray, alpha: float = 0.45) -> np.ndarray:
    """uint8 [H, W, 3] with the hidden pixels tinted red."""
    out = frame.astype(np.float32)
    out[pixels] = out[pixels] * (1 - alpha) + MASK_COLOUR * alpha
    return out.round().astype(np.uint8)


def _panes_for_frame(results: Sequence[Any], bases: Sequence[Any], frame: np.ndarray, f: int, cell: tuple[int, int]) -> tuple[list[np.ndarray], list[str]]:
    """Cells and labels for source frame ``f``: per result, full | predicted | error."""
    from .masked_prediction import render_panes

    cells: list[np.ndarray] = []
    labels: list[str] = []
    done_full: set[int] = set()
    for result, basis in zip(results, bases):
        t = next(i for i, covered in enumerate(result.frame_indices) if f in covered)
        full, combined, error = render_panes(result, t, basis, frame, cell)
        if id(result.target) not in done_full:  # the full encoding once per encoder
            done_full.add(id(result.target))
            cells.append(full)
            labels.append(f"{result.label}: full")
        cells += [combined, error]
        tag = "LEAKY" if result.leaky else result.variant
        labels += [f"{tag}: context+predicted", f"{tag}: cosine"]
    return cells, labels


def _fit_bases(results: Sequence[Any]) -> list[Any]:
    from .pca import fit_pca

    cache: dict[int, Any] = {}
    bases = []
    for r in results:
        key = id(r.target)
        if key not in cache:
            cache[key] = fit_pca(r.target, 3)  # on the layer-normed full encoding
        bases.append(cache[key])
    return bases


def _share_targets(results: list[Any]) -> list[Any]:
    """Results of one encoder (true, leaky) hold equal targets: make them one object for the layout."""
    from dataclasses import replace

    out: list[Any] = []
    for r in results:
        same = next((o for o in out if o.label == r.label and o.target.shape == r.target.shape and o.target.equal(r.target)), None)
        out.append(replace(r, target=same.target) if same is not None else r)
    return out


def _masked_clip(
    video: Any, encoders: Sequence[Any], frames: Sequence[int], settings: MaskSettings
) -> tuple[np.ndarray, Any, list[Any], list[Any]]:
    """Decode ``frames`` (uint8 [T, H, W, 3]), build their pixel mask, run every encoder's
    masked comparison, and fit the PCA bases: (clip, mask, results, bases)."""
    clip = np.stack([video[f] for f in frames])
    mask = settings.pixel_mask(clip.shape[1:3], frames)
    results: list[Any] = []
    for encoder in encoders:
        results += run_encoder(encoder, clip, frames, mask, settings)
    results = _share_targets(results)
    return clip, mask, results, _fit_bases(results)


def mask_comparison_image(
    video: Any, encoders: Sequence[Any], frames: Sequence[int], settings: MaskSettings, columns: int = 8, cell_width: int = 256
) -> np.ndarray:
    """A labelled grid for one clip: the frames with the mask, then per encoder and variant
    the PCA of the full encoding, of context + predicted, and the cosine map; a column per
    shown frame (at most ``columns``, evenly spread). Returns uint8 [H, W, 3]."""
    from ..export import cell_size_for
    from ..render.grid import LABEL_COLOR, WARN_COLOR, labelled_grid, resize

    clip, mask, results, bases = _masked_clip(video, encoders, frames, settings)
    shown = sorted({frames[int(round(i))] for i in np.linspace(0, len(frames) - 1, min(columns, len(frames)))})
    cell = cell_size_for(clip.shape[1:3], cell_width)
    per_frame = []
    for f in shown:
        frame = clip[frames.index(f)]
        cells, labels = _panes_for_frame(results, bases, frame, f, cell)
        per_frame.append((cells, labels))
    row_labels = per_frame[0][1]
    rows = [("source + mask", [resize(overlay_mask(clip[frames.index(f)], mask.pixels if mask.applies_to(f) else np.zeros(mask.size, bool)), cell) for f in shown])]
    colours = [LABEL_COLOR]
    cosine_rows = iter(results)
    for k, label in enumerate(row_labels):
        text = label.replace(": ", "\n")
        if label.endswith(": cosine"):
            text += "\n" + next(cosine_rows).summary().replace("  (", "\n(")
        rows.append((text, [cells[k] for cells, _ in per_frame]))
        colours.append(WARN_COLOR if "LEAKY" in label or "random" in label else LABEL_COLOR)
    title = (
        f"{Path(str(video.path)).name}  |  frames {frames[0]}-{frames[-1]}  |  masked prediction: "
        "PCA of the layer-normed full encoding, of context + predicted (same basis), cosine per hidden token"
    )
    header = [f"frame {f}" for f in shown]
    return labelled_grid(rows, header, title=title, row_label_colors=colours)


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
    from ..export import cell_size_for
    from ..render.grid import labelled_grid, resize

    n_clips = -(-len(frames) // window)
    for k in range(n_clips):
        chunk = list(frames[k * window : (k + 1) * window])
        if cancel is not None and cancel():
            raise Cancelled("export cancelled")
        clip, mask, results, bases = _masked_clip(video, encoders, chunk, settings)
        cell = cell_size_for(clip.shape[1:3], cell_width)
        for i, f in enumerate(chunk):
            cells, labels = _panes_for_frame(results, bases, clip[i], f, cell)
            src = overlay_mask(clip[i], mask.pixels if mask.applies_to(f) else np.zeros(mask.size, bool))
            yield labelled_grid([("", [resize(src, cell)] + cells)], [f"frame {f}"] + labels, gap=4, font_size=12)
        if progress:
            progress(k + 1, n_clips)
