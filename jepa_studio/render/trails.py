"""Point tracks drawn over frames: trails, current positions, ground truth, and labelled
side-by-side comparisons (numpy uint8 in, uint8 out; Pillow, no Qt).

Positions are given in *source-frame* pixels together with the source frame size, and
drawn onto a frame image of any size (a cell of a grid), scaled accordingly.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
from PIL import Image, ImageDraw

from .text import font, printable

#: one colour per tracked point (cycled): bright, distinct on natural images
POINT_COLOURS: tuple[tuple[int, int, int], ...] = (
    (255, 59, 48),
    (52, 199, 89),
    (0, 122, 255),
    (255, 204, 0),
    (175, 82, 222),
    (255, 149, 0),
    (90, 200, 250),
    (255, 45, 146),
    (162, 132, 94),
    (200, 255, 80),
)
TRUTH_COLOUR = (255, 255, 255)


def point_colour(n: int) -> tuple[int, int, int]:
    """The colour of point ``n``."""
    return POINT_COLOURS[n % len(POINT_COLOURS)]


def _segments(points: np.ndarray, max_jump: float) -> list[np.ndarray]:
    """Split a polyline [K, 2] where it jumps further than ``max_jump`` or has NaNs."""
    out: list[np.ndarray] = []
    current: list[np.ndarray] = []
    for p in points:
        if not np.isfinite(p).all():
            if current:
                out.append(np.array(current))
            current = []
            continue
        if current and np.hypot(*(p - current[-1])) > max_jump:
            out.append(np.array(current))
            current = []
        current.append(p)
    if current:
        out.append(np.array(current))
    return out


def draw_tracks(
    image: np.ndarray,
    frame_size: tuple[int, int],
    trails: np.ndarray,
    colours: Sequence[tuple[int, int, int]] | None = None,
    truth: np.ndarray | None = None,
    max_jump: float = 0.25,
    dot: float = 4.0,
) -> np.ndarray:
    """Draw trails ending in a dot, and optionally the true positions, onto a copy of ``image``.

    Parameters
    ----------
    image: uint8 [h, w, 3], the frame (any size: positions are scaled to it).
    frame_size: (H, W) of the source frame the positions refer to.
    trails: float [N, K, 2], (x, y) source pixels per point from oldest to newest
        (NaN for no position); the newest is drawn as a filled dot, older ones as a line
        that fades towards the past, broken where it jumps more than ``max_jump`` of the
        frame's width.
    colours: N colours (default :func:`point_colour`).
    truth: float [N, 2] true positions (NaN when not visible), drawn as white rings.
    dot: radius of the current-position dot, in pixels of ``image``.

    Returns
    -------
    uint8 [h, w, 3].
    """
    h, w = image.shape[:2]
    scale = np.array([w / frame_size[1], h / frame_size[0]])
    canvas = Image.fromarray(np.ascontiguousarray(image)).convert("RGBA")
    layer = Image.new("RGBA", canvas.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    trails = np.asarray(trails, dtype=np.float64)
    n, k = trails.shape[:2]
    jump = max_jump * w
    for p in range(n):
        colour = colours[p] if colours is not None else point_colour(p)
        pts = trails[p] * scale
        for seg in _segments(pts, jump):
            for i in range(1, len(seg)):
                alpha = int(90 + 165 * (i / max(1, len(seg) - 1)))
                draw.line([tuple(seg[i - 1]), tuple(seg[i])], fill=(*colour, alpha), width=2)
        for x, y in pts[:-1]:
            if np.isfinite(x) and np.isfinite(y):
                draw.ellipse([x - 1.5, y - 1.5, x + 1.5, y + 1.5], fill=(*colour, 170))
        x, y = pts[-1] if k else (np.nan, np.nan)
        if np.isfinite(x) and np.isfinite(y):
            draw.ellipse([x - dot, y - dot, x + dot, y + dot], fill=(*colour, 255), outline=(0, 0, 0, 255))
    if truth is not None:
        for p, (x, y) in enumerate(np.asarray(truth, dtype=np.float64) * scale):
            if np.isfinite(x) and np.isfinite(y):
                r = dot + 3
                draw.ellipse([x - r, y - r, x + r, y + r], outline=(*TRUTH_COLOUR, 255), width=2)
    canvas.alpha_composite(layer)
    return np.asarray(canvas.convert("RGB")).copy()


def draw_legend(
    image: np.ndarray, names: Sequence[str], colours: Sequence[tuple[int, int, int]] | None = None, size: int = 12
) -> np.ndarray:
    """A small key in the top-left corner: a coloured dot and the name of each point."""
    if not names:
        return image
    canvas = Image.fromarray(np.ascontiguousarray(image))
    draw = ImageDraw.Draw(canvas)
    f = font(size)
    line = size + 4
    width = max(int(draw.textlength(printable(str(name)), font=f)) for name in names) + line + 10
    draw.rectangle([2, 2, 2 + width, 6 + line * len(names)], fill=(0, 0, 0))
    for i, name in enumerate(names):
        colour = colours[i] if colours is not None else point_colour(i)
        y = 5 + i * line
        draw.ellipse([7, y + 2, 7 + size - 3, y + size - 1], fill=colour)
        draw.text((7 + line, y), printable(str(name)), fill=(235, 235, 235), font=f)
    return np.asarray(canvas).copy()
