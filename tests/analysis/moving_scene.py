"""A clip with known motion: a textured object sliding over a textured background.

The object is a 64 x 64 px patch whose hue changes left to right and brightness top to
bottom (with a little fine texture on top), so every part of it looks different; the
background is grey value noise. The object moves ``velocity`` pixels a frame exactly.
"""

from __future__ import annotations

import colorsys

import numpy as np

from jepa_studio.video.drawing import value_noise

SIZE = 64
START = (40, 50)


def moving_object_clip(
    n_frames: int = 16,
    height: int = 192,
    width: int = 256,
    velocity: tuple[int, int] = (4, 2),
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """uint8 frames [T, H, W, 3] and the object's top-left corner per frame, float [T, 2] (x, y)."""
    rng = np.random.default_rng(seed)
    background = np.repeat(value_noise(rng, height, width, 24, 24)[..., None] * 40 + 90, 3, axis=-1)
    yy, xx = np.mgrid[0:SIZE, 0:SIZE] / (SIZE - 1)
    colour = np.array(
        [[colorsys.hsv_to_rgb(h, 1.0, v) for h, v in zip(hr, vr)] for hr, vr in zip(0.85 * xx, 0.45 + 0.5 * yy)]
    )
    obj = np.clip(255 * colour * (0.85 + 0.3 * value_noise(rng, SIZE, SIZE, 8, 8))[..., None], 0, 255)
    frames, corners = [], []
    for t in range(n_frames):
        x0, y0 = START[0] + velocity[0] * t, START[1] + velocity[1] * t
        image = background.copy()
        image[y0 : y0 + SIZE, x0 : x0 + SIZE] = obj
        frames.append(image.astype(np.uint8))
        corners.append((x0, y0))
    return np.stack(frames), np.array(corners, dtype=np.float64)
