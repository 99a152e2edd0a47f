"""When each frame is shown: labels, durations and export timing from a video's own timestamps.

A variable-frame-rate file's frame ``i`` is not at ``i / fps``: a phone video that slows down
for a dark scene reports 30 fps and holds some frames for 100 ms. Everything that writes a time
or paces a video goes through here, so it reads the file's timestamps where a source has them
(:attr:`Video.timestamps`) and falls back to ``i / fps`` for sources that have none.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

#: the frame rate assumed for a source that reports none (what an exported video plays at)
FALLBACK_FPS = 24.0


#: gaps between frames that differ by more than this fraction of the median: a variable rate
VARIABLE_RATE_TOLERANCE = 0.1


def is_variable_rate(timestamps: np.ndarray | Sequence[float] | None) -> bool:
    """Whether the gaps between ``timestamps`` (seconds [N]) differ by more than 10% of their
    median (False for None or fewer than three frames)."""
    if timestamps is None or len(timestamps) < 3:
        return False
    gaps = np.diff(np.asarray(timestamps, dtype=np.float64))
    return bool(np.ptp(gaps) > VARIABLE_RATE_TOLERANCE * np.median(gaps))


def frame_times(source: Any, frames: Sequence[int] | np.ndarray) -> np.ndarray:
    """float64 [len(frames)]: seconds from the first frame at which each of ``frames`` is shown.

    ``source`` is anything with ``timestamps`` (a float array [N]) or only ``fps``.
    """
    index = np.asarray(frames, dtype=np.int64)
    stamps = getattr(source, "timestamps", None)
    if stamps is not None and len(stamps) > 0:
        stamps = np.asarray(stamps, dtype=np.float64)
        return stamps[np.clip(index, 0, len(stamps) - 1)]
    fps = float(getattr(source, "fps", 0.0) or 0.0)
    return index / (fps if fps > 0 else FALLBACK_FPS)


def frame_time(source: Any, frame: int) -> float:
    """Seconds from the first frame at which ``frame`` is shown."""
    return float(frame_times(source, [frame])[0])


def frame_label(source: Any, frame: int) -> str:
    """``"frame 12  0.48s"``: a frame with its time as a header of an export."""
    return f"frame {frame}  {frame_time(source, frame):.2f}s"


def video_timing(source: Any, frames: Sequence[int]) -> tuple[float, np.ndarray | None]:
    """``(fps, timestamps)`` for writing ``frames`` of ``source`` as a video at its own speed.

    ``fps`` is the nominal rate of the written file (the source's rate over the step between
    frames); ``timestamps`` [len(frames)] the second each frame is shown, taken from the source
    (None when it has no timestamps, or fewer than two frames are written), so a variable frame
    rate plays back as it was recorded.
    """
    frames = [int(f) for f in frames]
    step = frames[1] - frames[0] if len(frames) > 1 else 1
    fps = float(getattr(source, "fps", 0.0) or 0.0) or FALLBACK_FPS
    rate = fps / max(1, abs(step))
    if len(frames) < 2 or getattr(source, "timestamps", None) is None:
        return rate, None
    times = frame_times(source, frames)
    if not np.all(np.diff(times) > 0):  # duplicated timestamps in a damaged file: nominal rate
        return rate, None
    return rate, times


def span_seconds(source: Any, frames: Sequence[int]) -> float:
    """How long ``frames`` last when written with :func:`video_timing` (the last frame lasts as
    long as the gap before it)."""
    rate, times = video_timing(source, frames)
    if times is None:
        return len(frames) / rate
    return float(times[-1] - times[0] + (times[-1] - times[-2]))


__all__ = ["FALLBACK_FPS", "VARIABLE_RATE_TOLERANCE", "is_variable_rate", "frame_label", "frame_time", "frame_times", "span_seconds", "video_timing"]
