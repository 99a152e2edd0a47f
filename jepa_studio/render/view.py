"""The window's panes as one image, without Qt: what Ctrl+E writes is what the panes show.

Each pane contributes a :class:`PaneCell`: its title, subtitle and the very uint8 image it
shows, with the rectangle of the source frame the image covers (a token map covers the
encoder's crop box; the frame pane the whole frame). :func:`compose_view` lays the cells out
in the window's columns, each cell showing the whole frame as the panes do.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from .grid import BACKGROUND, DIM_COLOR, LABEL_COLOR, WARN_COLOR, resize
from .text import draw_text, elide_runs, text_size

#: where a pane shows nothing (outside the crop box of a map)
FILL = (48, 48, 52)
ERROR_COLOR = (242, 102, 92)


@dataclass(frozen=True)
class PaneCell:
    """One pane as shown.

    Attributes
    ----------
    title, subtitle: the pane's header lines (plain text).
    image: uint8 [h, w, 3], the image the pane shows, or None.
    rect: (x, y, width, height) in source-frame pixels that ``image`` covers.
    underlay: uint8 [H, W, 3], the frame drawn beneath the image (an overlaid map), or None.
    opacity: the image's opacity over ``underlay``.
    nearest: upscale ``image`` without smoothing (token maps).
    tone: "normal", "warn" (random weights, leaky) or "error": the title's colour.
    note: the pane's centred message (drawn when there is no image).
    """

    title: str
    subtitle: str = ""
    image: np.ndarray | None = None
    rect: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)
    underlay: np.ndarray | None = None
    opacity: float = 1.0
    nearest: bool = True
    tone: str = "normal"
    note: str = ""


def render_cell(cell: PaneCell, frame_size: tuple[int, int], size: tuple[int, int]) -> np.ndarray:
    """uint8 [height, width, 3]: the whole (W, H) frame area of a pane at ``size`` = (height, width)."""
    ch, cw = size
    fw, fh = frame_size
    sx, sy = cw / fw, ch / fh
    out = np.empty((ch, cw, 3), np.uint8)
    out[:] = FILL
    if cell.underlay is not None:
        out = np.array(resize(cell.underlay, (ch, cw)), copy=True)
    if cell.image is not None and cell.rect[2] > 0 and cell.rect[3] > 0:
        x, y, w, h = cell.rect
        left, top = int(round(x * sx)), int(round(y * sy))
        right, bottom = int(round((x + w) * sx)), int(round((y + h) * sy))
        l0, t0, r0, b0 = max(left, 0), max(top, 0), min(right, cw), min(bottom, ch)
        if r0 > l0 and b0 > t0:
            scaled = resize(cell.image, (bottom - top, right - left), nearest=cell.nearest)
            part = scaled[t0 - top : b0 - top, l0 - left : r0 - left].astype(np.float32)
            if cell.underlay is not None and cell.opacity < 1.0:
                part = cell.opacity * part + (1.0 - cell.opacity) * out[t0:b0, l0:r0]
            out[t0:b0, l0:r0] = np.clip(part + 0.5, 0, 255).astype(np.uint8)
    elif cell.note:
        width, height = text_size(cell.note, 13)
        colour = ERROR_COLOR if cell.tone == "error" else DIM_COLOR
        out = draw_text(out, cell.note, (max(2, (cw - width) // 2), max(2, (ch - height) // 2)), size=13, color=colour)
    return out


def compose_view(
    cells: Sequence[PaneCell],
    frame_size: tuple[int, int],
    columns: int,
    cell_width: int = 320,
    title: str = "",
    gap: int = 6,
) -> np.ndarray:
    """The panes in ``columns`` columns, each with its title and subtitle above it.

    Parameters
    ----------
    cells: the panes in the window's order.
    frame_size: (width, height) of the source frame every pane draws in.
    columns: panes per row (the window's layout).
    cell_width: pixels per pane; the height follows the frame's aspect.

    Returns
    -------
    uint8 [H, W, 3].
    """
    if not cells:
        raise ValueError("there is no pane to export")
    fw, fh = frame_size
    cw = int(cell_width)
    ch = max(1, int(round(fh * cw / fw)))
    columns = max(1, min(int(columns), len(cells)))
    rows = -(-len(cells) // columns)
    size, small = 14, 12
    head = text_size("Ag", size)[1] + text_size("Ag", small)[1] + 8
    title_h = text_size(title, size + 3)[1] + 2 * gap if title else 0
    width = gap + columns * (cw + gap)
    height = title_h + gap + rows * (head + ch + gap)
    out = np.empty((height, width, 3), np.uint8)
    out[:] = BACKGROUND
    if title:
        out = draw_text(out, title, (gap + 2, gap), size=size + 3, color=LABEL_COLOR)
    colours = {"normal": LABEL_COLOR, "warn": WARN_COLOR, "error": ERROR_COLOR}
    for i, cell in enumerate(cells):
        r, c = divmod(i, columns)
        x = gap + c * (cw + gap)
        y = title_h + gap + r * (head + ch + gap)
        out = draw_text(out, _fit(cell.title, cw, size), (x + 2, y), size=size, color=colours.get(cell.tone, LABEL_COLOR))
        if cell.subtitle:
            out = draw_text(out, _fit(cell.subtitle, cw, small), (x + 2, y + text_size("Ag", size)[1] + 3),
                            size=small, color=DIM_COLOR)
        out[y + head : y + head + ch, x : x + cw] = render_cell(cell, frame_size, (ch, cw))
    return out


def _fit(text: str, width: int, size: int) -> str:
    """``text`` cut in the middle to ``width`` pixels, never cutting a warning ("[random weights]")."""
    runs = elide_runs([(text, None)], width - 4, lambda t: text_size(t, size)[0])
    return "".join(t for t, _ in runs)
