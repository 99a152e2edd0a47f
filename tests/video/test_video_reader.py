"""Frame-accurate reading: random access against an independent sequential PyAV decode."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest

from video_samples import FORMATS, FPS, HEIGHT, N_FRAMES, WIDTH, read_code, reference_frames
from jepa_studio.errors import UsageError, VideoError
from jepa_studio.video import Video, VideoInfo, open_video

CODEC_NAMES = {"libx264": "h264", "mpeg4": "mpeg4", "libvpx-vp9": "vp9", "libvpx": "vp8"}


@pytest.mark.parametrize("name", list(FORMATS))
def test_metadata(video_files: dict[str, Path], name: str) -> None:
    with open_video(video_files[name]) as video:
        info = video.info
        assert isinstance(info, VideoInfo)
        assert len(video) == info.frame_count == N_FRAMES
        assert video.fps == pytest.approx(FPS)
        assert video.size == (WIDTH, HEIGHT) == (info.width, info.height)
        assert info.duration == pytest.approx(N_FRAMES / FPS)
        assert info.rotation == 0
        assert info.codec == CODEC_NAMES[FORMATS[name][1]]
        assert not info.is_image_folder
        assert info.path == video.path == video_files[name]


@pytest.mark.parametrize("name", list(FORMATS))
def test_random_access_matches_sequential_decode(video_files: dict[str, Path], name: str) -> None:
    path = video_files[name]
    reference = reference_frames(path)
    assert len(reference) == N_FRAMES
    order = np.random.default_rng(1).permutation(N_FRAMES)
    with open_video(path, cache_size=0) as video:
        for i in order:
            frame = video[int(i)]
            assert frame.dtype == np.uint8 and frame.shape == (HEIGHT, WIDTH, 3)
            assert frame.flags.c_contiguous
            assert read_code(frame) == i
            np.testing.assert_array_equal(frame, reference[i], err_msg=f"frame {i} of {name}")
        assert video._source.seeks > N_FRAMES // 2  # shuffled order really seeks
        assert video._source.threaded  # an intact file keeps FFmpeg's frame threads


def test_backward_and_repeated_reads(mp4_file: Path) -> None:
    reference = reference_frames(mp4_file)
    with open_video(mp4_file, cache_size=0) as video:
        for i in [39, 38, 0, 7, 6, 5, 4, 3, 12, 12, 11, 13, 24, 2]:
            np.testing.assert_array_equal(video[i], reference[i])


def test_sequential_reads_do_not_seek(mp4_file: Path) -> None:
    reference = reference_frames(mp4_file)
    with open_video(mp4_file, cache_size=0) as video:
        seeks_after_open = video._source.seeks
        for i in range(N_FRAMES):
            np.testing.assert_array_equal(video[i], reference[i])
        assert video._source.seeks == seeks_after_open
        # Skipping ahead inside a GOP continues decoding too (6 -> 8, GOP of 5 starts at 5).
        video[5]
        seeks = video._source.seeks
        video[7]
        assert video._source.seeks == seeks


def test_negative_index_and_out_of_range(mp4_file: Path) -> None:
    reference = reference_frames(mp4_file)
    with open_video(mp4_file) as video:
        np.testing.assert_array_equal(video[-1], reference[-1])
        np.testing.assert_array_equal(video[-N_FRAMES], reference[0])
        for bad in (N_FRAMES, -N_FRAMES - 1, 10**6):
            with pytest.raises(IndexError, match="out of range"):
                video[bad]
        with pytest.raises(TypeError):
            video[1.5]  # type: ignore[index]


def test_timestamps(mp4_file: Path) -> None:
    with open_video(mp4_file) as video:
        assert [video.timestamp(i) for i in (0, 1, 25, -1)] == pytest.approx([0, 1 / FPS, 1.0, (N_FRAMES - 1) / FPS])


def test_clip_and_stride(mp4_file: Path) -> None:
    reference = np.stack(reference_frames(mp4_file))
    with open_video(mp4_file, cache_size=0) as video:
        clip = video.clip(3, 8, stride=4)
        assert clip.shape == (8, HEIGHT, WIDTH, 3) and clip.dtype == np.uint8
        np.testing.assert_array_equal(clip, reference[3:35:4])
        np.testing.assert_array_equal(video.clip(0, N_FRAMES), reference)
        np.testing.assert_array_equal(video.clip(-2, 2), reference[-2:])
        with pytest.raises(UsageError, match="ends at frame 41"):
            video.clip(35, 4, stride=2)
        with pytest.raises(UsageError):
            video.clip(0, 0)
        with pytest.raises(UsageError):
            video.clip(0, 2, stride=0)
        with pytest.raises(UsageError):
            video.clip(-50, 2)


def test_iter_frames_streams_in_order(mp4_file: Path) -> None:
    reference = reference_frames(mp4_file)
    with open_video(mp4_file) as video:
        pairs = list(video.iter_frames())
        assert [i for i, _ in pairs] == list(range(N_FRAMES))
        for i, frame in pairs:
            np.testing.assert_array_equal(frame, reference[i])
        stepped = list(video.iter_frames(7, 30, 5))
        assert [i for i, _ in stepped] == [7, 12, 17, 22, 27]
        for i, frame in stepped:
            np.testing.assert_array_equal(frame, reference[i])
        assert [i for i, _ in video.iter_frames(-3)] == [37, 38, 39]
        assert list(video.iter_frames(10, 10)) == []
        assert len(video.cache) == 0  # iteration bypasses the cache
        # Lazy: the first frame comes out before the rest is decoded.
        iterator = video.iter_frames()
        index, frame = next(iterator)
        assert index == 0 and read_code(frame) == 0
        iterator.close()
        with pytest.raises(UsageError):
            list(video.iter_frames(step=0))


def test_cache_is_bounded_and_returns_private_copies(mp4_file: Path) -> None:
    reference = reference_frames(mp4_file)
    with open_video(mp4_file, cache_size=4) as video:
        for i in range(20):
            video[i]
            assert len(video.cache) <= 4
        assert video.cache.keys() == [16, 17, 18, 19]
        frame = video[18]
        assert video.cache.hits >= 1
        frame[:] = 0  # the caller owns its copy
        np.testing.assert_array_equal(video[18], reference[18])
    with open_video(mp4_file, cache_size=0) as video:
        video[3]
        video[3]
        assert len(video.cache) == 0


def test_threads_share_one_video(mp4_file: Path) -> None:
    reference = reference_frames(mp4_file)
    errors: list[str] = []
    with open_video(mp4_file, cache_size=2) as video:

        def worker(seed: int) -> None:
            for i in np.random.default_rng(seed).integers(0, N_FRAMES, 25):
                if not np.array_equal(video[int(i)], reference[int(i)]):
                    errors.append(f"frame {i}")

        threads = [threading.Thread(target=worker, args=(seed,)) for seed in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert errors == []


def test_closed_video_refuses_reads(mp4_file: Path) -> None:
    video = open_video(mp4_file)
    assert isinstance(video, Video)
    video.close()
    video.close()  # idempotent
    with pytest.raises(VideoError, match="closed"):
        video[0]
