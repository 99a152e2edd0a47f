"""Truncated and corrupt files: every access pattern gives the pixels of a plain sequential
decode, and a frame that cannot be decoded is reported, never replaced by a neighbour."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest

from video_samples import coded_frame, make_video, read_code, reference_decode
from jepa_studio.errors import VideoError
from jepa_studio.video import open_video

GOP = 15
X264 = {"g": str(GOP), "bf": "2", "keyint_min": str(GOP), "sc_threshold": "0"}


def _noisy_frame(i: int, width: int, height: int) -> np.ndarray:
    """The coded frame with noise below the code, so that every packet is large."""
    frame = coded_frame(i, width, height)
    frame[height // 2 :] = np.random.default_rng(i).integers(0, 256, (height - height // 2, width, 3), dtype=np.uint8)
    return frame


def _noisy_video(path: Path, n: int, container_options: dict[str, str] | None = None) -> Path:
    """H.264, 128x96, a keyframe every 15 frames, large packets: a few KB of damage stays
    inside a few frames."""
    return make_video(path, "libx264", n, X264, width=128, height=96, make_frame=_noisy_frame, container_options=container_options)


def _packets(path: Path) -> list[av.Packet]:
    with av.open(str(path)) as container:
        return [(int(p.pts), int(p.pos), int(p.size), bool(p.is_keyframe)) for p in container.demux(video=0) if p.size]


def _read(video, index: int) -> np.ndarray | None:
    try:
        return video[index]
    except VideoError as error:
        assert str(error).startswith(f"Frame {index} of '{video.path.name}' cannot be decoded"), error
        return None


def _check_every_pattern(path: Path) -> tuple[list[int], bool]:
    """Read ``path`` in several orders against the reference; return the frames it lacks, and
    whether the reader met damage (and went over to single-threaded decoding)."""
    reference = reference_decode(path)
    damage_seen = False
    n = len(reference)
    missing = [i for i, frame in enumerate(reference) if frame is None]
    orders = {
        "random": [int(i) for i in np.random.default_rng(3).permutation(n)],
        "sequential": list(range(n)),
        "reverse": list(range(n - 1, -1, -1)),
    }
    for name, order in orders.items():
        with open_video(path, cache_size=0) as video:
            assert len(video) == n
            for i in order:
                frame = _read(video, i)
                if reference[i] is None:
                    assert frame is None, f"{name}: frame {i} cannot be decoded, yet a frame came back"
                else:
                    assert frame is not None, f"{name}: frame {i} decodes sequentially"
                    np.testing.assert_array_equal(frame, reference[i], err_msg=f"{name}: frame {i}")
            damage_seen |= not video._source.threaded
    with open_video(path, cache_size=0) as video:
        good_runs = _runs_without(missing, n)
        for start, stop in good_runs:  # clip() and iter_frames() over stretches that decode
            np.testing.assert_array_equal(video.clip(start, stop - start), np.stack(reference[start:stop]))
            streamed = list(video.iter_frames(start, stop))
            assert [i for i, _ in streamed] == list(range(start, stop))
            for i, frame in streamed:
                np.testing.assert_array_equal(frame, reference[i], err_msg=f"iter_frames: frame {i}")
        for i in missing:  # ... and stop, naming the frame, where one does not
            with pytest.raises(VideoError, match=f"Frame {i} of"):
                video.clip(max(0, i - 2), min(n, i + 2) - max(0, i - 2))
            with pytest.raises(VideoError, match=f"Frame {i} of"):
                list(video.iter_frames(max(0, i - 2), i + 1))
    return missing, damage_seen


def _runs_without(missing: list[int], n: int) -> list[tuple[int, int]]:
    edges = [-1, *missing, n]
    return [(a + 1, b) for a, b in zip(edges, edges[1:]) if b > a + 1]


@pytest.mark.parametrize("container", ["mp4", "mkv"])
def test_a_truncated_file_keeps_the_frames_before_the_cut(tmp_path: Path, container: str) -> None:
    """Cut in the middle of the packet after keyframe 30: frames up to 30 decode (threaded
    decoding returned frame 28 for 29 and 30), and the cut frames are reported."""
    full = _noisy_video(tmp_path / f"full.{container}", 45, {"movflags": "+faststart"} if container == "mp4" else None)
    packets = _packets(full)
    k = [i for i, p in enumerate(packets) if p[3]][2]  # keyframe 30 in decode order
    cut = tmp_path / f"cut.{container}"
    cut.write_bytes(full.read_bytes()[: packets[k + 1][1] + packets[k + 1][2] // 2])
    reference = reference_decode(cut)
    assert [read_code(reference[i]) for i in (28, 29, 30)] == [28, 29, 30]
    missing, damage_seen = _check_every_pattern(cut)
    if container == "mp4":  # its index (at the front) lists the frames that were cut off
        assert missing and min(missing) > 30 and damage_seen
    else:  # mkv is indexed as it is read: the cut frames are simply not there
        assert not missing and len(reference) > 30


@pytest.mark.parametrize("container, n", [("mp4", 60), ("mkv", 75)])
def test_a_file_with_corrupt_bytes_reads_the_same_whatever_the_order(tmp_path: Path, container: str, n: int) -> None:
    """4 KB of noise at 30% and at 60% of the file (in the mkv, the second loses frames)."""
    clean = _noisy_video(tmp_path / f"clean.{container}", n)
    data = bytearray(clean.read_bytes())
    rng = np.random.default_rng(0)
    for fraction in (0.3, 0.6):
        at = int(len(data) * fraction)
        data[at : at + 4096] = rng.integers(0, 256, 4096, dtype=np.uint8).tobytes()
    broken = tmp_path / f"broken.{container}"
    broken.write_bytes(bytes(data))
    assert _check_every_pattern(broken)[1]


def test_a_corrupt_keyframe_is_decoded_as_sequential_decoding_does(tmp_path: Path) -> None:
    """Noise over most of keyframe 45: what follows it depends on the frames before it."""
    clean = _noisy_video(tmp_path / "clean.mp4", 60)
    pts, pos, size, _ = [p for p in _packets(clean) if p[3]][3]
    data = bytearray(clean.read_bytes())
    data[pos + size // 4 : pos + size] = np.random.default_rng(1).integers(0, 256, size - size // 4, dtype=np.uint8).tobytes()
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(bytes(data))
    assert _check_every_pattern(broken)[1]
