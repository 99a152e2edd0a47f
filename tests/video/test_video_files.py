"""Rotation, image folders, and every kind of bad file."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from video_samples import HEIGHT, N_FRAMES, WIDTH, X264_BFRAMES, coded_frame, make_video, read_code, reference_frames
from jepa_studio.errors import JepaStudioError, VideoError
from jepa_studio.video import open_video
from jepa_studio.video.image_folder import natural_key
from jepa_studio.video.info import apply_rotation, normalize_rotation


# ---------------------------------------------------------------- rotation


def test_apply_rotation_on_arrays() -> None:
    image = np.arange(2 * 3 * 1, dtype=np.uint8).reshape(2, 3, 1)  # [[0 1 2], [3 4 5]]
    clockwise = apply_rotation(image, 90)
    # Turning clockwise puts the bottom-left pixel (3) at the top-left.
    np.testing.assert_array_equal(clockwise[..., 0], [[3, 0], [4, 1], [5, 2]])
    np.testing.assert_array_equal(apply_rotation(image, 180)[..., 0], [[5, 4, 3], [2, 1, 0]])
    np.testing.assert_array_equal(apply_rotation(image, 270)[..., 0], [[2, 5], [1, 4], [0, 3]])
    assert apply_rotation(image, 90).flags.c_contiguous
    assert [normalize_rotation(d) for d in (0, 90, -90, 180, -180, 270, 360, 89.6)] == [0, 90, 270, 180, 180, 270, 0, 90]


@pytest.mark.parametrize(("ccw", "clockwise"), [(-90.0, 90), (180.0, 180), (90.0, 270)])
def test_display_rotation_is_applied(tmp_path: Path, ccw: float, clockwise: int) -> None:
    path = make_video(tmp_path / "rotated.mp4", options=X264_BFRAMES, n=12, rotation_ccw=ccw)
    stored = reference_frames(path)  # plain PyAV does not rotate
    with open_video(path) as video:
        assert video.info.rotation == clockwise
        expected_size = (HEIGHT, WIDTH) if clockwise in (90, 270) else (WIDTH, HEIGHT)
        assert video.size == expected_size
        for i in (0, 7, 3):
            frame = video[i]
            assert frame.shape == (expected_size[1], expected_size[0], 3)
            np.testing.assert_array_equal(frame, np.rot90(stored[i], k=-clockwise // 90))
        # Phone video (rotate 90 clockwise): the red mark at the left edge of the stored
        # frame's lower half ends up at the top edge, left half.
        if clockwise == 90:
            assert read_code(np.rot90(frame, k=1)) == 3
            red = frame[:8, : frame.shape[1] // 2]
            assert (red[..., 0].astype(int) - red[..., 1]).max() > 150
        np.testing.assert_array_equal(video.clip(2, 2)[1], np.rot90(stored[3], k=-clockwise // 90))
        np.testing.assert_array_equal(next(video.iter_frames(5))[1], np.rot90(stored[5], k=-clockwise // 90))


# ------------------------------------------------------------- image folders


def _write_folder(folder: Path, n: int, suffix: str = ".png", size: tuple[int, int] = (WIDTH, HEIGHT)) -> list[np.ndarray]:
    folder.mkdir()
    frames = [coded_frame(i, *size) for i in range(n)]
    for i, frame in enumerate(frames):
        Image.fromarray(frame).save(folder / f"frame{i}{suffix}")  # frame2 sorts before frame10
    return frames


def test_natural_sort_key() -> None:
    names = ["f10.png", "f2.png", "F1.png", "f100.png", "g0.png"]
    assert sorted(names, key=natural_key) == ["F1.png", "f2.png", "f10.png", "f100.png", "g0.png"]


def test_png_folder_reads_like_a_video(tmp_path: Path) -> None:
    frames = _write_folder(tmp_path / "pngs", 12)
    (tmp_path / "pngs" / "notes.txt").write_text("not a frame")
    with open_video(tmp_path / "pngs", cache_size=3) as video:
        assert video.info.is_image_folder and video.info.codec == "png"
        assert len(video) == 12 and video.size == (WIDTH, HEIGHT) and video.fps == 25.0
        for i in np.random.default_rng(0).permutation(12):
            np.testing.assert_array_equal(video[int(i)], frames[i])  # png is lossless
        np.testing.assert_array_equal(video.clip(1, 4, stride=3), np.stack(frames[1:12:3]))
        assert [i for i, _ in video.iter_frames(2, step=4)] == [2, 6, 10]
        assert [read_code(f) for _, f in video.iter_frames()] == list(range(12))
        assert len(video.cache) <= 3
        assert video.timestamp(10) == pytest.approx(0.4)


def test_jpg_folder(tmp_path: Path) -> None:
    _write_folder(tmp_path / "jpgs", 5, suffix=".jpg")
    with open_video(tmp_path / "jpgs") as video:
        assert video.info.codec == "jpeg" and len(video) == 5
        assert [read_code(video[i]) for i in range(5)] == list(range(5))


def test_folder_with_mixed_sizes(tmp_path: Path) -> None:
    _write_folder(tmp_path / "mixed", 3)
    Image.fromarray(coded_frame(3, 32, 32)).save(tmp_path / "mixed" / "frame3.png")
    with pytest.raises(VideoError, match=r"differ in size.*frame3\.png.*32x32"):
        open_video(tmp_path / "mixed")


def test_folder_without_images(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "readme.txt").write_text("hi")
    with pytest.raises(VideoError, match="contains no images"):
        open_video(tmp_path / "empty")


def test_folder_with_broken_image(tmp_path: Path) -> None:
    _write_folder(tmp_path / "broken", 3)
    (tmp_path / "broken" / "frame3.png").write_bytes(b"not a png at all")
    with pytest.raises(VideoError, match="frame3.png"):
        open_video(tmp_path / "broken")


# ------------------------------------------------------------------ bad files


def _bad_file_cases(tmp_path: Path, good: Path) -> dict[str, Path]:
    data = good.read_bytes()
    cases = {
        "empty.mp4": b"",
        "notes.mp4": b"this is a text file, not a video\n" * 20,
        "noise.mkv": np.random.default_rng(0).integers(0, 256, 5000, dtype=np.uint8).tobytes(),
        "half.mp4": data[: len(data) // 2],  # mp4 keeps its index at the end
        "stub.mp4": data[:100],
    }
    paths = {}
    for name, content in cases.items():
        paths[name] = tmp_path / name
        paths[name].write_bytes(content)
    audio = tmp_path / "tone.wav"
    with av.open(str(audio), "w") as container:
        stream = container.add_stream("pcm_s16le", rate=8000)
        samples = (np.sin(np.arange(800) / 5) * 1000).astype(np.int16).reshape(1, -1)
        frame = av.AudioFrame.from_ndarray(samples, format="s16", layout="mono")
        frame.sample_rate = 8000
        for packet in stream.encode(frame):
            container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    paths["tone.wav"] = audio
    return paths


def test_every_bad_file_raises_a_clear_video_error(tmp_path: Path, mp4_file: Path) -> None:
    expected = {
        "empty.mp4": "is empty",
        "notes.mp4": "not a video file",
        "noise.mkv": "not a video file",
        "half.mp4": "damaged or truncated",
        "stub.mp4": "damaged or truncated",
        "tone.wav": "no video stream",
    }
    for name, path in _bad_file_cases(tmp_path, mp4_file).items():
        with pytest.raises(VideoError) as caught:
            open_video(path)
        message = str(caught.value)
        assert name in message and expected[name] in message, message
        assert "\n" not in message
    with pytest.raises(VideoError, match="No such file"):
        open_video(tmp_path / "missing.mp4")
    assert issubclass(VideoError, JepaStudioError)


def test_truncated_streaming_file_keeps_what_is_there(tmp_path: Path) -> None:
    """A cut-off mkv (no index at the end) opens with the frames that are complete."""
    path = make_video(tmp_path / "full.mkv", options=X264_BFRAMES)
    reference = reference_frames(path)
    cut = tmp_path / "cut.mkv"
    cut.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with open_video(cut) as video:
        assert 5 <= len(video) < N_FRAMES
        for i in range(len(video) - 3):  # the last few may lack their B-frame partners
            np.testing.assert_array_equal(video[i], reference[i])
