"""Variable frame rate: per-frame timestamps, the true duration, and exports at the source's speed."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from video_samples import coded_frame, read_code
from jepa_studio.errors import UsageError
from jepa_studio.video import open_video, write_video

# 12 frames 40 ms apart, then 12 frames 250 ms apart: 3.2 s, where "24 frames at 25 fps" is 0.96 s
GAPS_MS = [40] * 11 + [250] * 13
TIMES_MS = np.concatenate([[0], np.cumsum(GAPS_MS[:-1])])
LAST_MS = GAPS_MS[-1]


def _vfr_mkv(path: Path) -> Path:
    """An H.264 mkv whose frames carry the times TIMES_MS (its header claims 25 fps)."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        stream.codec_context.time_base = Fraction(1, 1000)
        for i, ms in enumerate(TIMES_MS):
            frame = av.VideoFrame.from_ndarray(coded_frame(i), format="rgb24")
            frame.pts, frame.time_base = int(ms), Fraction(1, 1000)
            frame.duration = GAPS_MS[i]
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


@pytest.fixture(scope="module")
def vfr_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _vfr_mkv(tmp_path_factory.mktemp("vfr") / "vfr.mkv")


def test_timestamps_and_duration_come_from_the_frames(vfr_file: Path) -> None:
    with open_video(vfr_file) as video:
        n = len(TIMES_MS)
        assert len(video) == n and video.info.variable_frame_rate
        np.testing.assert_allclose(video.timestamps, TIMES_MS / 1000, atol=1e-3)
        assert video.timestamps.dtype == np.float64 and not video.timestamps.flags.writeable
        assert video.timestamp(-1) == pytest.approx(TIMES_MS[-1] / 1000, abs=1e-3)  # 3.01 s, not 23 / 25
        assert video.duration == video.info.duration == pytest.approx((TIMES_MS[-1] + LAST_MS) / 1000, abs=2e-3)
        assert video.fps == pytest.approx(n / video.duration, rel=0.01)
        # the frame shown at a time, by its timestamp
        assert [video.index_at(t) for t in (-1.0, 0.0, 0.039, 0.44, 0.69, 0.9, 3.19, 99.0)] == [0, 0, 0, 11, 12, 12, 22, 23]
        assert [read_code(video[i]) for i in (0, 11, 12, 23)] == [0, 11, 12, 23]


def test_constant_frame_rate_files_say_so(tmp_path: Path) -> None:
    path = write_video(tmp_path / "cfr.mp4", (coded_frame(i) for i in range(10)), fps=20)
    with open_video(path) as video:
        assert not video.info.variable_frame_rate
        assert video.fps == 20.0 and video.duration == pytest.approx(0.5)
        np.testing.assert_allclose(video.timestamps, np.arange(10) / 20, atol=1e-4)


@pytest.mark.parametrize("suffix, resolution", [(".mp4", 1e-3), (".webm", 1e-3), (".gif", 0.01)])
def test_an_export_of_a_vfr_range_plays_at_the_source_speed(vfr_file: Path, tmp_path: Path, suffix: str, resolution: float) -> None:
    chosen = list(range(6, 20, 2))  # across the change of pace
    with open_video(vfr_file) as source:
        times = source.timestamps[chosen]
        out = write_video(tmp_path / f"range{suffix}", (source[i] for i in chosen), fps=source.fps, timestamps=times)
    with open_video(out) as video:
        assert len(video) == len(chosen)
        np.testing.assert_allclose(video.timestamps, times - times[0], atol=resolution)
        assert video.duration == pytest.approx(times[-1] - times[0] + (times[-1] - times[-2]), abs=2 * resolution)
        assert [read_code(frame) for _, frame in video.iter_frames()] == chosen


def test_timestamps_must_fit_the_frames(tmp_path: Path) -> None:
    frames = [coded_frame(i) for i in range(3)]
    for bad in ([0.0, 0.1, 0.1], [0.0, 0.2, 0.1], [0.0, float("nan"), 0.2]):
        with pytest.raises(UsageError, match="timestamps"):
            write_video(tmp_path / "bad.mp4", frames, fps=10, timestamps=bad)
    with pytest.raises(UsageError, match="3 timestamps were given for the 2 frames"):
        write_video(tmp_path / "short.mp4", frames[:2], fps=10, timestamps=[0.0, 0.1, 0.2])
    with pytest.raises(UsageError, match="more frames than the 2 timestamps"):
        write_video(tmp_path / "short.mp4", frames, fps=10, timestamps=[0.0, 0.1])
    assert not list(tmp_path.iterdir())  # nothing left behind


def test_a_comparison_video_of_a_vfr_file_plays_at_its_pace(vfr_file: Path, tmp_path: Path) -> None:
    from jepa_studio.export.comparison import export_comparison

    chosen = list(range(4, 22, 3))  # 40 ms apart, then 250 ms apart
    with open_video(vfr_file) as source:
        times = source.timestamps[chosen]
        out = export_comparison(source, ["pixels"], chosen, tmp_path / "cmp.mp4")
    with open_video(out) as video:
        assert len(video) == len(chosen)
        np.testing.assert_allclose(video.timestamps, times - times[0], atol=1e-3)  # not k / fps
        assert video.info.variable_frame_rate
