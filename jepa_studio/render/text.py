"""Text on uint8 images, without Qt (Pillow's bundled scalable font)."""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw, ImageFont

Color = tuple[int, int, int]


@lru_cache(maxsize=16)
def font(size: int = 14) -> ImageFont.ImageFont:
    """Pillow's default font at ``size`` pixels (scalable where FreeType is available)."""
    try:
        return ImageFont.load_default(size=size)
    except (TypeError, OSError):  # pragma: no cover - Pillow without FreeType
        return ImageFont.load_default()


def text_size(text: str, size: int = 14) -> tuple[int, int]:
    """(width, height) in pixels that ``text`` takes, one or more lines."""
    left, top, right, bottom = ImageDraw.Draw(Image.new("L", (1, 1))).multiline_textbbox(
        (0, 0), text, font=font(size), spacing=3
    )
    return int(right - min(left, 0)), int(bottom - min(top, 0))


def draw_text(
    image: np.ndarray,
    text: str,
    xy: tuple[int, int],
    size: int = 14,
    color: Color = (235, 235, 235),
    background: Color | None = None,
    padding: int = 3,
) -> np.ndarray:
    """Draw ``text`` onto a copy of uint8 [H, W, 3] ``image`` with its top-left at ``xy``.

    With ``background``, a filled box (``padding`` px around the text) goes behind it,
    so labels stay readable on top of pictures.
    """
    canvas = Image.fromarray(np.ascontiguousarray(image))
    draw = ImageDraw.Draw(canvas)
    x, y = xy
    if background is not None:
        w, h = text_size(text, size)
        draw.rectangle((x - padding, y - padding, x + w + padding, y + h + padding), fill=background)
    draw.multiline_text((x, y), text, fill=color, font=font(size), spacing=3)
    return np.asarray(canvas).copy()
