"""A small generated video for the engine tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from jepa_studio.video import write_video


def moving_square_frames(n: int = 20, height: int = 64, width: int = 96) -> np.ndarray:
    """uint8 [n, H, W, 3]: a textured background with a bright square moving right."""
    rng = np.random.default_rng(0)
    background = rng.integers(0, 120, size=(height, width, 3), dtype=np.uint8)
    frames = np.repeat(background[None], n, axis=0)
    for t in range(n):
        x = 4 + 3 * t
        frames[t, 20:40, x : x + 20] = (240, 200, 40)
    return frames


@pytest.fixture(scope="session")
def small_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("videos") / "square.mp4"
    write_video(path, moving_square_frames(), 10.0)
    return path
