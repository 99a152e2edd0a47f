"""Writing mp4 / gif / webm and reading them back."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import av
import numpy as np
import pytest
from PIL import Image

from video_samples import coded_frame, read_code
from jepa_studio.errors import UsageError, VideoError
from jepa_studio.video import open_video, write_video


def _frames(n: int, width: int = 64, height: int = 48) -> Iterator[np.ndarray]:
    for i in range(n):  # a generator: the writer must stream
        yield coded_frame(i, width, height)


def _mean_abs_error(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a.astype(np.int16) - b.astype(np.int16)).mean())


@pytest.mark.parametrize("suffix", [".mp4", ".webm", ".gif"])
def test_round_trip(tmp_path: Path, suffix: str) -> None:
    out = write_video(tmp_path / f"clip{suffix}", _frames(30), fps=12.5)
    assert out == tmp_path / f"clip{suffix}" and out.stat().st_size > 0
    with open_video(out) as video:
        assert len(video) == 30 and video.size == (64, 48)
        assert video.fps == pytest.approx(12.5, rel=0.02)
        for i, frame in video.iter_frames():
            assert read_code(frame) == i
            assert _mean_abs_error(frame, coded_frame(i)) < 6.0
    if suffix == ".mp4":
        with av.open(str(out)) as container:
            stream = container.streams.video[0]
            assert stream.codec_context.name == "h264" and stream.format.name == "yuv420p"


def test_gif_loops_with_its_own_palettes(tmp_path: Path) -> None:
    out = write_video(tmp_path / "anim.gif", _frames(8), fps=10)
    with Image.open(out) as image:
        assert image.n_frames == 8
        assert image.info.get("loop") == 0  # loop forever
        assert image.info.get("duration") == 100
        image.seek(5)
        assert read_code(np.asarray(image.convert("RGB"))) == 5


def test_odd_size_is_padded_to_even_for_mp4(tmp_path: Path) -> None:
    out = write_video(tmp_path / "odd.mp4", _frames(6, width=63, height=47), fps=25)
    with open_video(out) as video:
        assert video.size == (64, 48)
        frame = video[4]
        assert _mean_abs_error(frame[:47, :63], coded_frame(4, 63, 47)) < 6.0
        # padding repeats the last column and row
        assert _mean_abs_error(frame[:47, 63], frame[:47, 62]) < 6.0
        assert _mean_abs_error(frame[47, :63], frame[46, :63]) < 6.0


def test_crf_controls_quality(tmp_path: Path) -> None:
    noisy = [np.random.default_rng(i).integers(0, 256, (48, 64, 3), dtype=np.uint8) for i in range(4)]
    small = write_video(tmp_path / "low.mp4", noisy, fps=25, crf=40)
    large = write_video(tmp_path / "high.mp4", noisy, fps=25, crf=10)
    assert large.stat().st_size > 2 * small.stat().st_size


def test_bad_arguments(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="suffix"):
        write_video(tmp_path / "clip.avi", _frames(2), fps=25)
    with pytest.raises(UsageError, match="no frames"):
        write_video(tmp_path / "none.mp4", [], fps=25)
    assert not (tmp_path / "none.mp4").exists()
    with pytest.raises(UsageError, match="uint8"):
        write_video(tmp_path / "float.mp4", [np.zeros((8, 8, 3), np.float32)], fps=25)
    with pytest.raises(UsageError, match="same size|share one size"):
        write_video(tmp_path / "sizes.mp4", [np.zeros((8, 8, 3), np.uint8), np.zeros((8, 10, 3), np.uint8)], fps=25)
    assert not (tmp_path / "sizes.mp4").exists()  # no half-written file is left
    with pytest.raises(UsageError, match="fps"):
        write_video(tmp_path / "rate.mp4", _frames(2), fps=0)
    with pytest.raises(VideoError, match="does not exist"):
        write_video(tmp_path / "nowhere" / "clip.mp4", _frames(2), fps=25)


def test_a_failed_write_keeps_the_existing_file_and_leaves_no_partial(tmp_path):
    out = tmp_path / "keep.mp4"
    good = [np.full((16, 16, 3), 100, np.uint8)] * 3
    write_video(out, good, fps=5)
    before = out.read_bytes()

    def frames_then_a_bad_one():
        yield good[0]
        yield np.zeros((8, 8, 3), np.uint8)  # another size: refused mid-write

    with pytest.raises(UsageError):
        write_video(out, frames_then_a_bad_one(), fps=5)
    assert out.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.mp4"]


def test_save_image_is_atomic_and_reports_unwritable_paths(tmp_path):
    from jepa_studio.errors import VideoError
    from jepa_studio.video import save_image

    image = np.random.default_rng(0).integers(0, 256, (12, 20, 3), dtype=np.uint8)
    out = save_image(tmp_path / "a.png", image)
    from PIL import Image

    assert np.array_equal(np.asarray(Image.open(out)), image)
    (tmp_path / "folder.png").mkdir()
    with pytest.raises(VideoError, match="Cannot write"):
        save_image(tmp_path / "folder.png", image)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.png", "folder.png"]
