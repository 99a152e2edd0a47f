"""Fixtures: small coded videos made once per test session."""

from __future__ import annotations

from pathlib import Path

import pytest

from video_samples import FORMATS, make_video


@pytest.fixture(scope="session")
def video_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One small coded video per container/codec pair (made once per test session)."""
    folder = tmp_path_factory.mktemp("videos")
    return {name: make_video(folder / f"{name}.{ext}", codec, options=opts) for name, (ext, codec, opts) in FORMATS.items()}


@pytest.fixture(scope="session")
def mp4_file(video_files: dict[str, Path]) -> Path:
    """H.264 with B-frames and a GOP of 5 in mp4."""
    return video_files["mp4-h264"]
