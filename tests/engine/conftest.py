"""A small generated video for the engine tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from engine_helpers import moving_square_frames

from jepa_studio.video import write_video



@pytest.fixture(scope="session")
def small_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("videos") / "square.mp4"
    write_video(path, moving_square_frames(), 10.0)
    return path
