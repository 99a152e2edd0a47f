"""Drawing primitives of the synthetic scenes, in numpy: seeded value noise, signed distance
functions with a one-pixel anti-aliasing ramp, and rectangular regions to blend into.

Coordinates are pixels, x right and y down; a pixel's centre is at (column + 0.5, row + 0.5).
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

Box = tuple[int, int, int, int]  # x0, y0, x1, y1 in pixels, end exclusive


def smoothstep(x: np.ndarray) -> np.ndarray:
    return x * x * (3.0 - 2.0 * x)


def value_noise(
    rng: np.random.Generator, h: int, w: int, cell_y: float, cell_x: float
) -> np.ndarray:
    """Smooth value noise in [0, 1], float32 [h, w], with features about ``cell`` px apart."""
    gh = int(math.ceil(h / cell_y)) + 2
    gw = int(math.ceil(w / cell_x)) + 2
    grid = rng.random((gh, gw), dtype=np.float32)
    ys = np.arange(h, dtype=np.float32) / cell_y
    xs = np.arange(w, dtype=np.float32) / cell_x
    y0 = np.floor(ys).astype(np.int64)
    x0 = np.floor(xs).astype(np.int64)
    fy = smoothstep(ys - y0)[:, None]
    fx = smoothstep(xs - x0)[None, :]
    g00 = grid[y0[:, None], x0[None, :]]
    g01 = grid[y0[:, None], x0[None, :] + 1]
    g10 = grid[y0[:, None] + 1, x0[None, :]]
    g11 = grid[y0[:, None] + 1, x0[None, :] + 1]
    top = g00 + (g01 - g00) * fx
    bottom = g10 + (g11 - g10) * fx
    return (top + (bottom - top) * fy).astype(np.float32)


def fractal_noise(
    rng: np.random.Generator,
    h: int,
    w: int,
    cell_y: float,
    cell_x: float,
    octaves: int = 3,
) -> np.ndarray:
    """Sum of ``octaves`` value noises, each half the cell size and half the weight; [0, 1]."""
    total = np.zeros((h, w), np.float32)
    weight = 1.0
    norm = 0.0
    for _ in range(octaves):
        total += weight * value_noise(rng, h, w, max(cell_y, 1.0), max(cell_x, 1.0))
        norm += weight
        weight *= 0.5
        cell_y /= 2.0
        cell_x /= 2.0
    return total / norm


def coverage(sdf: np.ndarray, soft: float = 1.0) -> np.ndarray:
    """Anti-aliased coverage in [0, 1] from a signed distance in pixels (negative inside)."""
    return np.clip(0.5 - sdf / soft, 0.0, 1.0).astype(np.float32)


def sd_circle(x: np.ndarray, y: np.ndarray, cx: float, cy: float, r: float) -> np.ndarray:
    return np.hypot(x - cx, y - cy) - r


def soft_ellipse(
    x: np.ndarray, y: np.ndarray, cx: float, cy: float, rx: float, ry: float, feather: float = 0.4
) -> np.ndarray:
    """Coverage in [0, 1] of a soft-edged ellipse (zero outside it): for shadows."""
    k = np.hypot((x - cx) / rx, (y - cy) / ry)
    return np.clip((1.0 - k) / feather, 0.0, 1.0).astype(np.float32)


def sd_round_box(
    x: np.ndarray,
    y: np.ndarray,
    cx: float,
    cy: float,
    half_w: float,
    half_h: float,
    radius: float,
) -> np.ndarray:
    qx = np.abs(x - cx) - (half_w - radius)
    qy = np.abs(y - cy) - (half_h - radius)
    outside = np.hypot(np.maximum(qx, 0.0), np.maximum(qy, 0.0))
    inside = np.minimum(np.maximum(qx, qy), 0.0)
    return outside + inside - radius


def sd_capsule(
    x: np.ndarray,
    y: np.ndarray,
    ax: float,
    ay: float,
    bx: float,
    by: float,
    r: float,
) -> np.ndarray:
    pax, pay = x - ax, y - ay
    bax, bay = bx - ax, by - ay
    h = np.clip((pax * bax + pay * bay) / max(bax * bax + bay * bay, 1e-9), 0.0, 1.0)
    return np.hypot(pax - bax * h, pay - bay * h) - r


def wrap(x: float, lo: float, hi: float) -> float:
    """x wrapped into [lo, hi): objects leaving one side come back on the other."""
    return lo + (x - lo) % (hi - lo)


class Region:
    """Pixel-centre coordinates of the part of a box that lies inside the image."""

    def __init__(self, shape: tuple[int, int], box: Box) -> None:
        h, w = shape
        x0, y0, x1, y1 = box
        self.x0, self.y0 = max(0, x0), max(0, y0)
        self.x1, self.y1 = min(w, x1), min(h, y1)
        self.empty = self.x1 <= self.x0 or self.y1 <= self.y0
        ys = np.arange(self.y0, self.y1, dtype=np.float32) + 0.5
        xs = np.arange(self.x0, self.x1, dtype=np.float32) + 0.5
        self.x = np.broadcast_to(xs[None, :], (len(ys), len(xs)))
        self.y = np.broadcast_to(ys[:, None], (len(ys), len(xs)))

    def blend(self, img: np.ndarray, alpha: np.ndarray, color: np.ndarray | Sequence[float]) -> None:
        """img <- img * (1 - alpha) + color * alpha inside the region (float32 image)."""
        view = img[self.y0 : self.y1, self.x0 : self.x1]
        a = alpha[..., None]
        view *= 1.0 - a
        view += np.asarray(color, np.float32) * a

    def darken(self, img: np.ndarray, amount: np.ndarray) -> None:
        """img <- img * (1 - amount) inside the region (shadows)."""
        img[self.y0 : self.y1, self.x0 : self.x1] *= (1.0 - amount)[..., None]


def box_around(cx: float, cy: float, half_w: float, half_h: float) -> Box:
    return (
        int(math.floor(cx - half_w)) - 1,
        int(math.floor(cy - half_h)) - 1,
        int(math.ceil(cx + half_w)) + 2,
        int(math.ceil(cy + half_h)) + 2,
    )


def lerp_color(a: Sequence[float], b: Sequence[float], t: np.ndarray) -> np.ndarray:
    a_ = np.asarray(a, np.float32)
    b_ = np.asarray(b, np.float32)
    return a_ + (b_ - a_) * t[..., None]


# --------------------------------------------------------------------------- the scene
