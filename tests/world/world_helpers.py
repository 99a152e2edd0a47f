"""Small inputs shared by the world-model tests."""

from __future__ import annotations

import numpy as np

from jepa_studio.encoders.pixels import PixelEncoder
from jepa_studio.encoders.preprocess import Preprocessing


def pixel_encoder(tubelet: int = 1, patch: int = 8, short_side: int = 32) -> PixelEncoder:
    return PixelEncoder(tubelet, patch_size=patch, preprocessing=Preprocessing(short_side=short_side))


def moving_square(n: int = 12, size: int = 32, seed: int = 0) -> np.ndarray:
    """uint8 [n, size, size, 3]: a coloured square moving right one pixel per frame on a
    smooth background (slightly different per ``seed``)."""
    yy, xx = np.mgrid[0:size, 0:size] / size
    base = np.stack([40 + 60 * xx, 50 + 50 * yy, 60 + 20 * (xx + yy) + 10 * seed], -1).astype(np.uint8)
    frames = np.repeat(base[None], n, axis=0)
    for t in range(n):
        x = 2 + t
        frames[t, 10:20, x : x + 10] = (230, 80 + 10 * t % 150, 40)
    return frames
