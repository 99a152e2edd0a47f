"""Files the system will not let us read: the message says so (not "not a video file")."""

from __future__ import annotations

import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pytest
from PIL import Image

from video_samples import coded_frame
from jepa_studio.errors import VideoError
from jepa_studio.video import open_video

NOBODY = 65534


@contextmanager
def _unreadable(path: Path) -> Iterator[None]:
    """``path`` with mode 000. Root reads through any mode, so as root the block runs with
    the effective user id of 'nobody' (restored afterwards)."""
    mode = path.stat().st_mode
    as_root = hasattr(os, "geteuid") and os.geteuid() == 0
    path.chmod(0)
    try:
        if as_root:
            os.seteuid(NOBODY)
        yield
    finally:
        if as_root:
            os.seteuid(0)
        path.chmod(mode)


@pytest.fixture
def open_folder(mp4_file: Path) -> Iterator[Path]:
    """A folder anyone may enter (pytest's own tmp folders are private to their owner)."""
    folder = Path(tempfile.mkdtemp(prefix="jepa-perm-"))
    folder.chmod(0o755)
    shutil.copy(mp4_file, folder / "clip.mp4")
    (folder / "frames").mkdir()
    Image.fromarray(coded_frame(0)).save(folder / "frames" / "0.png")
    (folder / "frames").chmod(0o755)
    yield folder
    shutil.rmtree(folder)


def test_a_file_without_read_permission_says_permission_denied(open_folder: Path) -> None:
    path = open_folder / "clip.mp4"
    with _unreadable(path), pytest.raises(VideoError) as caught:
        open_video(path)
    assert str(caught.value) == "Cannot open 'clip.mp4': permission denied."
    with open_video(path) as video:  # readable again: it opens
        assert len(video) > 0


def test_a_folder_without_read_permission_says_permission_denied(open_folder: Path) -> None:
    folder = open_folder / "frames"
    with _unreadable(folder), pytest.raises(VideoError) as caught:
        open_video(folder)
    assert str(caught.value) == "Cannot list 'frames': permission denied."


def test_an_image_without_read_permission_names_it(open_folder: Path) -> None:
    image = open_folder / "frames" / "0.png"
    with _unreadable(image), pytest.raises(VideoError) as caught:
        open_video(open_folder / "frames")
    assert str(caught.value) == "Cannot read image '0.png' in 'frames': permission denied."
