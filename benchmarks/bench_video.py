"""Decode throughput: sequential iteration against frame-accurate random access.

Usage: ``python benchmarks/bench_video.py [VIDEO]``. Without VIDEO, a 1280x720 H.264 video
of 300 frames (a keyframe every 30 frames, B-frames) is generated into a temporary folder first. Both numbers
come from the same run on the same file; random access runs with the frame cache disabled.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

import av
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from jepa_studio.video import open_video  # noqa: E402


def make_test_video(path: str | os.PathLike, width: int = 1280, height: int = 720, frames: int = 300, gop: int = 30) -> Path:
    """A moving gradient with a moving square, H.264 with a keyframe every ``gop`` frames
    and B-frames, as a camera would write it."""
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("libx264", rate=30)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"g": str(gop), "keyint_min": str(gop), "bf": "2", "crf": "23", "preset": "veryfast"}
        for t in range(frames):
            frame = np.empty((height, width, 3), dtype=np.uint8)
            frame[..., 0] = ((xx + 4 * t) % 256).astype(np.uint8)
            frame[..., 1] = ((yy + 2 * t) % 256).astype(np.uint8)
            frame[..., 2] = ((xx + yy) / 8 % 256).astype(np.uint8)
            x0 = (7 * t) % (width - 120)
            frame[200:320, x0 : x0 + 120] = (255, 255, 255)
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return Path(path)


def bench_decode(path: str | os.PathLike, random_reads: int = 100, seed: int = 0) -> dict:
    """Time sequential and random-access decoding of one video.

    Returns
    -------
    dict
        ``frames``, ``width``, ``height``, ``sequential_fps`` (frames/s through
        ``iter_frames``), ``random_fps`` (frames/s of ``video[i]`` in a random order,
        cache disabled), ``random_reads`` and ``ratio`` (sequential / random).
    """
    with open_video(path, cache_size=0) as video:
        n = len(video)
        start = time.perf_counter()
        count = sum(1 for _ in video.iter_frames())
        sequential_s = time.perf_counter() - start
        order = np.random.default_rng(seed).permutation(n)[: min(random_reads, n)]
        start = time.perf_counter()
        for i in order:
            video[int(i)]
        random_s = time.perf_counter() - start
        sequential_fps = count / sequential_s
        random_fps = len(order) / random_s
        return {
            "frames": n,
            "width": video.size[0],
            "height": video.size[1],
            "sequential_fps": sequential_fps,
            "random_fps": random_fps,
            "random_reads": len(order),
            "ratio": sequential_fps / random_fps,
        }


def main(argv: list[str]) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        if len(argv) > 1:
            path = Path(argv[1])
        else:
            path = Path(tmp) / "bench_720p.mp4"
            t0 = time.perf_counter()
            make_test_video(path)
            print(f"generated {path.name} in {time.perf_counter() - t0:.1f} s")
        r = bench_decode(path)
        print(f"video: {r['width']}x{r['height']}, {r['frames']} frames ({path.name})")
        print(f"sequential decode (iter_frames):      {r['sequential_fps']:8.1f} frames/s")
        print(f"random access (video[i], no cache):  {r['random_fps']:8.1f} frames/s  ({r['random_reads']} reads)")
        print(f"sequential / random:                 {r['ratio']:8.2f} x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
