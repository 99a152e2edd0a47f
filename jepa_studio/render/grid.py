"""Labelled comparison grids: rows of equally sized cells, with row, column and cell labels.

Everything is numpy uint8 [H, W, 3] in and out.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
from PIL import Image

from .text import draw_text, text_size

BACKGROUND = (22, 22, 26)
LABEL_COLOR = (235, 235, 235)
DIM_COLOR = (160, 160, 170)
WARN_COLOR = (255, 170, 60)


def frozen(array: np.ndarray) -> np.ndarray:
    """A C-contiguous, read-only array (images handed to panes and threads are never mutated)."""
    array = np.ascontiguousarray(array)
    array.setflags(write=False)
    return array


def cell_size_for(frame_size: tuple[int, int], cell_width: int) -> tuple[int, int]:
    """(height, width) of a cell showing a whole (H, W) frame ``cell_width`` wide; at most
    4 times as tall as wide (a 3x4001 frame would make cells 341,418 px tall)."""
    h, w = frame_size
    return max(1, min(4 * cell_width, int(round(h * cell_width / w)))), cell_width


def resize(image: np.ndarray, size: tuple[int, int], nearest: bool = False) -> np.ndarray:
    """Resize uint8 [H, W, 3] to ``size`` = (height, width); nearest for token maps."""
    if image.shape[:2] == tuple(size):
        return image
    pil = Image.fromarray(np.ascontiguousarray(image))
    method = Image.Resampling.NEAREST if nearest else Image.Resampling.BILINEAR
    return np.asarray(pil.resize((size[1], size[0]), method))


def place_map(
    token_rgb: np.ndarray,
    frame_size: tuple[int, int],
    crop_box: tuple[int, int, int, int],
    cell_size: tuple[int, int],
    fill: tuple[int, int, int] = (48, 48, 52),
) -> np.ndarray:
    """Lay a token map over the part of a frame it was computed from.

    Parameters
    ----------
    token_rgb: uint8 [h, w, 3], one pixel per token.
    frame_size: (H, W) of the source frame.
    crop_box: (x0, y0, x1, y1) in source pixels that the tokens cover.
    cell_size: (height, width) of the output cell, showing the whole source frame.

    Returns uint8 [cell_h, cell_w, 3]: the map, nearest-upscaled into the crop box's place,
    ``fill`` elsewhere.
    """
    ch, cw = cell_size
    fh, fw = frame_size
    sy, sx = ch / fh, cw / fw
    x0, y0, x1, y1 = crop_box
    top, left = int(round(y0 * sy)), int(round(x0 * sx))
    bottom, right = int(round(y1 * sy)), int(round(x1 * sx))
    cell = np.empty((ch, cw, 3), np.uint8)
    cell[:] = fill
    if bottom > top and right > left:
        cell[top:bottom, left:right] = resize(token_rgb, (bottom - top, right - left), nearest=True)
    return cell


def labelled_grid(
    rows: Sequence[tuple[str, Sequence[np.ndarray]]],
    column_labels: Sequence[str] = (),
    captions: Sequence[Sequence[str]] | None = None,
    title: str | None = None,
    row_label_colors: Sequence[tuple[int, int, int]] | None = None,
    gap: int = 6,
    font_size: int = 15,
) -> np.ndarray:
    """Compose cells into one labelled image.

    Parameters
    ----------
    rows:
        ``(label, cells)`` per row; every cell is uint8 [h, w, 3] and all share the size
        of the first cell (others are resized to it). ``label`` may have several lines.
    column_labels:
        one label per column, written above the first row.
    captions:
        optional per-row, per-cell small captions written under each cell ("" for none).
    title:
        optional line across the top.
    row_label_colors:
        colour of each row's label (e.g. orange for random weights).

    Returns
    -------
    uint8 [H, W, 3] image.
    """
    if not rows or not rows[0][1]:
        raise ValueError("a grid needs at least one row with one cell")
    ch, cw = rows[0][1][0].shape[:2]
    ncols = max(len(cells) for _, cells in rows)
    small = max(10, font_size - 3)
    label_w = max(text_size(label, font_size)[0] for label, _ in rows) + 2 * gap + 8
    head_h = (text_size("Ag", font_size)[1] + gap) if column_labels else 0
    title_h = (text_size(title, font_size + 3)[1] + 2 * gap) if title else 0
    cap_h = text_size("Ag", small)[1] + 4 if captions and any(any(c) for c in captions) else 0
    row_h = ch + cap_h + gap
    height = title_h + head_h + gap + len(rows) * row_h
    width = label_w + ncols * (cw + gap) + gap
    out = np.empty((height, width, 3), np.uint8)
    out[:] = BACKGROUND
    if title:
        out = draw_text(out, title, (gap + 2, gap), size=font_size + 3, color=LABEL_COLOR)
    y = title_h + head_h + gap
    for r, (label, cells) in enumerate(rows):
        for c, cell in enumerate(cells):
            x = label_w + c * (cw + gap)
            out[y : y + ch, x : x + cw] = resize(cell, (ch, cw))
        color = row_label_colors[r] if row_label_colors else LABEL_COLOR
        out = draw_text(out, label, (gap + 2, y + 2), size=font_size, color=color)
        if cap_h and captions is not None:
            for c, caption in enumerate(captions[r]):
                if caption:
                    x = label_w + c * (cw + gap)
                    out = draw_text(out, caption, (x + 2, y + ch + 2), size=small, color=DIM_COLOR)
        y += row_h
    for c, label in enumerate(column_labels):
        x = label_w + c * (cw + gap)
        out = draw_text(out, label, (x + 2, title_h + gap), size=font_size, color=DIM_COLOR)
    return out
