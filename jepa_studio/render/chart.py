"""Line charts drawn with Pillow (no matplotlib): axes, ticks, grid, a legend, and solid,
dashed, dotted or dash-dot lines. Used by the comparison report and the surprise export."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from .text import font, legible

#: line colours, one per encoder
PALETTE = [(31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189), (140, 86, 75), (227, 119, 194)]


@dataclass(frozen=True)
class Series:
    """One line: points (xs, ys), a legend label, a colour and a style ("solid", "dashed", "dotted")."""

    label: str
    xs: Sequence[float]
    ys: Sequence[float]
    color: tuple[int, int, int]
    style: str = "solid"


def fit_text(draw: ImageDraw.ImageDraw, text: str, font: ImageFont.FreeTypeFont, width: float) -> str:
    """``text``, elided in the middle when wider than ``width`` pixels: both ends stay (a
    long checkpoint path keeps its name and its ": copy" suffix)."""
    if draw.textlength(text, font=font) <= width:
        return text
    keep = len(text)
    while keep > 4:
        keep -= 1
        head, tail = text[: keep // 2], text[len(text) - (keep - keep // 2):]
        short = f"{head}…{tail}"
        if draw.textlength(short, font=font) <= width:
            return short
    return text[:4]


def nice_ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return [0.0, 1.0]
    if hi - lo < 1e-12:
        lo, hi = lo - 0.5, hi + 0.5
    raw = (hi - lo) / n
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    start = math.floor(lo / step) * step
    ticks = []
    t = start
    while t <= hi + step * 0.5 or ticks[-1] < hi:  # the last tick must reach the data's maximum
        ticks.append(round(t, 10))
        t += step
    return ticks


def tick_label(v: float) -> str:
    if v == 0:
        return "0"
    if abs(v) >= 1000 or abs(v) < 0.01:
        return f"{v:.1e}"
    return f"{v:.3g}"


def _draw_line(draw: ImageDraw.ImageDraw, pts: list[tuple[float, float]], color: tuple[int, int, int], style: str) -> None:
    if style == "solid":
        draw.line(pts, fill=color, width=2)
        return
    pattern = {"dashed": (9, 6), "dotted": (2, 5), "dashdot": (9, 4, 2, 4)}[style]
    for (x0, y0), (x1, y1) in zip(pts, pts[1:]):
        length = math.hypot(x1 - x0, y1 - y0)
        pos, i = 0.0, 0
        while pos < length:
            on, off = pattern[i % len(pattern)], pattern[(i + 1) % len(pattern)]
            a, b = pos / length, min(pos + on, length) / length
            draw.line([(x0 + (x1 - x0) * a, y0 + (y1 - y0) * a), (x0 + (x1 - x0) * b, y0 + (y1 - y0) * b)], fill=color, width=2)
            pos += on + off
            i += 2


def line_chart(
    series: Sequence[Series],
    title: str,
    xlabel: str,
    ylabel: str,
    size: tuple[int, int] = (760, 460),
    markers: bool = True,
) -> np.ndarray:
    """Draw a line chart with axes, ticks, grid and a legend. Returns uint8 [H, W, 3]."""
    width, height = size
    img = Image.new("RGB", (width, height), (255, 255, 255))
    draw = legible(ImageDraw.Draw(img))
    f_title, f_axis, f_tick = font(17), font(14), font(12)
    legend_w = min(300, max([10] + [int(draw.textlength(s.label, font=f_tick)) for s in series]) + 40)
    left, right, top, bottom = 70, width - legend_w - 20, 50, height - 55
    finite = [(x, y) for s in series for x, y in zip(s.xs, s.ys) if math.isfinite(x) and math.isfinite(y)]
    xs = [p[0] for p in finite] or [0.0, 1.0]
    ys = [p[1] for p in finite] or [0.0, 1.0]
    xt, yt = nice_ticks(min(xs), max(xs)), nice_ticks(min(ys), max(ys))
    x0, x1, y0, y1 = xt[0], xt[-1], yt[0], yt[-1]

    def px(x: float, y: float) -> tuple[float, float]:
        return (left + (x - x0) / (x1 - x0 or 1) * (right - left), bottom - (y - y0) / (y1 - y0 or 1) * (bottom - top))

    draw.text((left, 10), title, fill=(0, 0, 0), font=f_title)
    for t in yt:
        _, yy = px(x0, t)
        draw.line([(left, yy), (right, yy)], fill=(228, 228, 228))
        label = tick_label(t)
        draw.text((left - 8 - draw.textlength(label, font=f_tick), yy - 7), label, fill=(60, 60, 60), font=f_tick)
    for t in xt:
        xx, _ = px(t, y0)
        draw.line([(xx, top), (xx, bottom)], fill=(238, 238, 238))
        label = tick_label(t)
        draw.text((xx - draw.textlength(label, font=f_tick) / 2, bottom + 6), label, fill=(60, 60, 60), font=f_tick)
    draw.rectangle([left, top, right, bottom], outline=(0, 0, 0))
    draw.text(((left + right) / 2 - draw.textlength(xlabel, font=f_axis) / 2, bottom + 26), xlabel, fill=(0, 0, 0), font=f_axis)
    ylab = Image.new("RGBA", (int(draw.textlength(ylabel, font=f_axis)) + 4, 20), (255, 255, 255, 0))
    legible(ImageDraw.Draw(ylab)).text((2, 0), ylabel, fill=(0, 0, 0), font=f_axis)
    ylab = ylab.rotate(90, expand=True)
    img.paste(ylab, (8, int((top + bottom) / 2 - ylab.height / 2)), ylab)
    for s in series:
        pts = [px(x, y) for x, y in zip(s.xs, s.ys) if math.isfinite(x) and math.isfinite(y)]
        if len(pts) > 1:
            _draw_line(draw, pts, s.color, s.style)
        if (markers and len(pts) < 40) or len(pts) <= 2:  # a line of one point is a marker or nothing
            for x, y in pts:
                draw.ellipse([x - 3, y - 3, x + 3, y + 3], fill=s.color)
    ly = top
    for s in series:
        _draw_line(draw, [(right + 14, ly + 8), (right + 40, ly + 8)], s.color, s.style)
        draw.text((right + 46, ly), fit_text(draw, s.label, f_tick, width - right - 50), fill=(0, 0, 0), font=f_tick)
        ly += 20
    return np.asarray(img)
