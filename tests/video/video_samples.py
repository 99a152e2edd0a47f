"""Tiny test videos whose frames encode their own index, and an independent PyAV decode.

(A uniquely named module: several test folders have a conftest.py.)
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import av
import numpy as np

N_FRAMES = 40
WIDTH, HEIGHT = 64, 48
FPS = 25
BITS = 6  # frame index as 6 white/black bars in the top half


def coded_frame(i: int, width: int = WIDTH, height: int = HEIGHT) -> np.ndarray:
    """uint8 [H, W, 3]: bar b of the top half is white iff bit b of ``i`` is set;
    the bottom half is grey level ``6 * i``; a red corner block marks the top left."""
    frame = np.zeros((height, width, 3), dtype=np.uint8)
    bar = width // BITS
    for b in range(BITS):
        if (i >> b) & 1:
            frame[: height // 2, b * bar : (b + 1) * bar] = 255
    frame[height // 2 :] = (6 * i) % 256
    frame[height // 2 : height // 2 + 8, :8] = (255, 0, 0)
    return frame


def read_code(frame: np.ndarray) -> int:
    """The index :func:`coded_frame` wrote into an (upright) decoded frame."""
    height, width = frame.shape[:2]
    bar = width // BITS
    top = frame[: height // 2].astype(np.float32).mean(axis=2)
    return sum(1 << b for b in range(BITS) if top[4:-4, b * bar + 2 : (b + 1) * bar - 2].mean() > 128)


def make_video(
    path: Path,
    codec: str = "libx264",
    n: int = N_FRAMES,
    options: dict[str, str] | None = None,
    rotation_ccw: float | None = None,
    width: int = WIDTH,
    height: int = HEIGHT,
    make_frame: Callable[[int, int, int], np.ndarray] = coded_frame,
    container_options: dict[str, str] | None = None,
) -> Path:
    """Encode ``n`` frames ``make_frame(i, width, height)`` (default :func:`coded_frame`) with
    PyAV. ``rotation_ccw`` sets the display matrix."""
    with av.open(str(path), mode="w", options=container_options or {}) as container:
        stream = container.add_stream(codec, rate=FPS)
        stream.width, stream.height = width, height
        stream.pix_fmt = "yuv420p"
        if options:
            stream.options = options
        if rotation_ccw is not None:
            stream.set_display_rotation(rotation_ccw)
        for i in range(n):
            frame = av.VideoFrame.from_ndarray(make_frame(i, width, height), format="rgb24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def reference_frames(path: Path) -> list[np.ndarray]:
    """Every frame, decoded sequentially with plain PyAV (no seeks), as stored (unrotated)."""
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]


X264_BFRAMES = {"g": "5", "bf": "2", "keyint_min": "5", "sc_threshold": "0"}

FORMATS = {
    "mp4-h264": ("mp4", "libx264", X264_BFRAMES),
    "mov-h264": ("mov", "libx264", X264_BFRAMES),
    "mkv-h264": ("mkv", "libx264", X264_BFRAMES),
    "avi-mpeg4": ("avi", "mpeg4", {"g": "5", "bf": "2", "qscale": "3"}),
    "webm-vp9": ("webm", "libvpx-vp9", {"g": "5", "crf": "20", "b": "0"}),
    "mkv-vp8": ("mkv", "libvpx", {"g": "5", "crf": "10", "b": "1M"}),
}


def reference_decode(path: Path) -> list[np.ndarray | None]:
    """Frame i of the file as plain sequential PyAV decoding with one thread gives it (what
    ``ffmpeg`` does: packets the decoder rejects are skipped), None where no frame comes out.
    Frame i is the one with the i-th smallest packet timestamp."""
    frames: dict[int, np.ndarray] = {}
    timestamps: set[int] = set()
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.codec_context.thread_count = 1
        try:
            for packet in container.demux(stream):
                if packet.size and packet.pts is not None:
                    timestamps.add(int(packet.pts))
                try:
                    decoded = packet.decode()
                except av.error.FFmpegError:
                    continue
                frames.update((int(f.pts), f.to_ndarray(format="rgb24")) for f in decoded)
        except av.error.FFmpegError:  # the demuxer stops at damaged data
            pass
    return [frames.get(ts) for ts in sorted(timestamps)]
