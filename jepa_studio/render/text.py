"""Text on uint8 images, without Qt (Pillow's bundled scalable font)."""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Callable, Iterable

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


#: what to write for a character the bundled font has no glyph for (others become "?")
FALLBACKS = {"–": "-", "—": "-", "−": "-", "→": "->", "←": "<-", "×": "x", "≥": ">=", "≤": "<=",
             "²": "^2", "μ": "u", "α": "alpha", "β": "beta", "✓": "v", "⌀": "diam.", "θ": "theta",
             "ω": "omega", "Δ": "delta", "σ": "sigma", "…": "..."}


@lru_cache(maxsize=4096)
def _has_glyph(char: str) -> bool:
    """Whether the bundled font draws ``char`` (not its box for a missing glyph)."""
    if char.isspace() or char.isascii():
        return True
    f = font(14)
    missing = f.getmask("\uffff")
    mask = f.getmask(char)
    return not (mask.size == missing.size and bytes(mask) == bytes(missing))


def printable(text: str) -> str:
    """``text`` with each character the bundled font lacks replaced by an ASCII stand-in
    ("frames 12–13" -> "frames 12-13"), so exports never show a box for a missing glyph."""
    if text.isascii():
        return text
    return "".join(c if _has_glyph(c) else FALLBACKS.get(c, "?") for c in text)


class _Legible:
    """An ``ImageDraw`` whose ``text`` and ``textlength`` write :func:`printable` text."""

    def __init__(self, draw: ImageDraw.ImageDraw) -> None:
        self._draw = draw

    def text(self, xy: Any, text: str, *args: Any, **kwargs: Any) -> None:
        self._draw.text(xy, printable(text), *args, **kwargs)

    def textlength(self, text: str, *args: Any, **kwargs: Any) -> float:
        return self._draw.textlength(printable(text), *args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._draw, name)


def legible(draw: ImageDraw.ImageDraw) -> Any:
    """``draw`` (a Pillow ``ImageDraw``) drawing every text through :func:`printable`."""
    return _Legible(draw)


def text_size(text: str, size: int = 14) -> tuple[int, int]:
    """(width, height) in pixels that ``text`` takes, one or more lines."""
    left, top, right, bottom = ImageDraw.Draw(Image.new("L", (1, 1))).multiline_textbbox(
        (0, 0), printable(text), font=font(size), spacing=3
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
    draw.multiline_text((x, y), printable(text), fill=color, font=font(size), spacing=3)
    return np.asarray(canvas).copy()


#: phrases a title never elides away (a random-weights model must always say so)
PROTECTED = ("[random weights]", "random weights", "RANDOM WEIGHTS", "LEAKY")
ELLIPSIS = "…"


def elide_runs(
    runs: list[tuple[str, str | None]],
    width: float,
    measure: Callable[[str], float],
    protected: Iterable[str] = PROTECTED,
) -> list[tuple[str, str | None]]:
    """Cut the middle of the longest unprotected stretches of ``runs`` until they fit ``width``.

    Text inside ``protected`` phrases (e.g. "[random weights]") is never removed. Returns new
    runs (an ellipsis marks each cut); unchanged when the text already fits.
    """
    chars = [(ch, colour) for text, colour in runs for ch in text]
    text = "".join(ch for ch, _ in chars)
    if measure(text) <= width or not chars:
        return [r for r in runs if r[0]]
    keep = [False] * len(chars)
    lowered = text.lower()
    for phrase in protected:
        start = lowered.find(phrase.lower())
        while start >= 0:
            for i in range(start, start + len(phrase)):
                keep[i] = True
            start = lowered.find(phrase.lower(), start + len(phrase))
    # unprotected stretches [a, b), longest first
    stretches, a = [], None
    for i, k in enumerate([*keep, True]):
        if not k and a is None:
            a = i
        elif k and a is not None:
            stretches.append((a, i))
            a = None
    stretches.sort(key=lambda ab: ab[0] - ab[1])
    cuts: dict[int, tuple[int, int]] = {}  # stretch start -> (chars kept left, right)

    def build() -> list[tuple[str, str | None]]:
        out: list[tuple[str, str | None]] = []
        i = 0
        while i < len(chars):
            if i in cuts:
                a, b = i, next(b for a2, b in stretches if a2 == i)
                left, right = cuts[i]
                seq = chars[a : a + left] + [(ELLIPSIS, chars[a + left if left < b - a else a][1])] + chars[b - right : b]
                i = b
            else:
                seq = [chars[i]]
                i += 1
            for ch, colour in seq:
                if out and out[-1][1] == colour:
                    out[-1] = (out[-1][0] + ch, colour)
                else:
                    out.append((ch, colour))
        return out

    def fits() -> bool:
        return measure("".join(t for t, _ in build())) <= width

    for a, b in stretches:
        n = b - a
        lo, hi = 0, n - 1  # kept characters of this stretch
        cuts[a] = (0, 0)
        if not fits():
            continue  # cut it all and go on with the next stretch
        while lo < hi:  # the most characters kept that still fit
            mid = (lo + hi + 1) // 2
            cuts[a] = ((mid + 1) // 2, mid // 2)
            if fits():
                lo = mid
            else:
                hi = mid - 1
        cuts[a] = ((lo + 1) // 2, lo // 2)
        break
    return build()
