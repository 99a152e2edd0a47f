"""Open a video (or folder of images) and read frames by index: :func:`open_video`."""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Iterator, Protocol

import numpy as np

from jepa_studio.errors import UsageError, VideoError
from jepa_studio.video.decoder import PyAVSource
from jepa_studio.video.file_errors import os_error_message
from jepa_studio.video.frame_cache import DEFAULT_FRAME_CACHE_MB, LRUCache, megabytes
from jepa_studio.video.image_folder import ImageFolderSource
from jepa_studio.video.info import VideoInfo


class _Source(Protocol):
    info: VideoInfo

    def read(self, index: int) -> np.ndarray: ...

    def iter_range(self, start: int, stop: int, step: int) -> Iterator[tuple[int, np.ndarray]]: ...

    def timestamps(self) -> np.ndarray: ...

    def close(self) -> None: ...


class Video:
    """Frames of a video by index, frame-accurate, with an LRU frame cache bounded in frames
    and in bytes.

    Use as a context manager or call :meth:`close`. Safe to share between threads: reads
    by index take one lock around decoding; :meth:`iter_frames` decodes on its own.

    Attributes
    ----------
    info:
        :class:`VideoInfo` (frame count, fps, displayed size, rotation, codec...).
    path:
        The file or folder opened.
    """

    def __init__(self, source: _Source, cache_size: int = 64, cache_mb: float = DEFAULT_FRAME_CACHE_MB) -> None:
        if cache_size < 0:
            raise UsageError(f"cache_size must be >= 0, got {cache_size}")
        try:
            budget = megabytes(cache_mb)
        except ValueError as error:
            raise UsageError(str(error)) from None
        self._source = source
        self.info: VideoInfo = source.info
        self.path: Path = source.info.path
        self._cache: LRUCache[int, np.ndarray] = LRUCache(cache_size, max_bytes=budget)
        self._timestamps = np.asarray(source.timestamps(), dtype=np.float64)
        self._timestamps.flags.writeable = False
        self._lock = threading.RLock()
        self._closed = False

    # -------------------------------------------------------------- basics

    def __len__(self) -> int:
        return self.info.frame_count

    @property
    def fps(self) -> float:
        """Frames per second."""
        return self.info.fps

    @property
    def duration(self) -> float:
        """Seconds from the first frame's timestamp to the end of the last frame."""
        return self.info.duration

    @property
    def timestamps(self) -> np.ndarray:
        """float64 [N] (read-only): each frame's presentation time in seconds from the first
        frame, from the file's timestamps, so true for variable frame rates too (where
        ``i / fps`` is not)."""
        return self._timestamps

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) of the frames as returned (after display rotation)."""
        return self.info.width, self.info.height

    @property
    def cache(self) -> LRUCache[int, np.ndarray]:
        """The frame cache (read-only arrays keyed by frame index); ``cache.nbytes`` never
        exceeds ``cache.max_bytes``."""
        return self._cache

    def __repr__(self) -> str:
        i = self.info
        return f"Video('{self.path.name}', {i.frame_count} frames, {i.width}x{i.height}, {i.fps:.3g} fps)"

    def __enter__(self) -> Video:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Release the file. Further reads raise :class:`VideoError`."""
        with self._lock:
            if not self._closed:
                self._closed = True
                self._cache.clear()
                self._source.close()

    def _check_open(self) -> None:
        if self._closed:
            raise VideoError(f"'{self.path.name}' has been closed; open it again to read frames.")

    def _normalize(self, index: int) -> int:
        if isinstance(index, (bool, np.bool_)) or not isinstance(index, (int, np.integer)):
            raise TypeError(f"frame index must be an int, got {type(index).__name__}")
        n = len(self)
        i = int(index) + n if index < 0 else int(index)
        if not 0 <= i < n:
            raise IndexError(f"frame {index} is out of range: '{self.path.name}' has {n} frames (0..{n - 1})")
        return i

    # --------------------------------------------------------------- reads

    def __getitem__(self, index: int) -> np.ndarray:
        """Frame ``index`` (negative counts from the end).

        Returns
        -------
        np.ndarray
            uint8 [H, W, 3] RGB, C-contiguous, upright; a fresh array the caller may modify.

        Raises
        ------
        IndexError
            When ``index`` is outside ``[-len, len)``.
        """
        i = self._normalize(index)
        return self._get(i).copy()

    def _get(self, i: int) -> np.ndarray:
        cached = self._cache.get(i)
        if cached is not None:
            return cached
        with self._lock:
            self._check_open()
            cached = self._cache.get(i)
            if cached is not None:
                return cached
            frame = self._source.read(i)
            frame.flags.writeable = False
            self._cache.put(i, frame)
            return frame

    def timestamp(self, i: int) -> float:
        """Presentation time of frame ``i`` (negative counts from the end) in seconds from
        the first frame: ``timestamps[i]``."""
        return float(self._timestamps[self._normalize(i)])

    def index_at(self, seconds: float) -> int:
        """The frame shown at ``seconds`` from the first frame: the last one whose timestamp is
        at or before it (0 before the start, the last frame after the end)."""
        # a nanosecond of slack: a frame's own time, written in decimal, finds that frame
        found = int(np.searchsorted(self._timestamps, float(seconds) + 1e-9, side="right")) - 1
        return min(max(found, 0), len(self) - 1)

    def clip(self, start: int, count: int, stride: int = 1) -> np.ndarray:
        """Frames ``start, start + stride, ..., start + (count - 1) * stride``.

        Parameters
        ----------
        start:
            First frame (negative counts from the end).
        count:
            Number of frames (>= 1).
        stride:
            Step between frames (>= 1).

        Returns
        -------
        np.ndarray
            uint8 [count, H, W, 3].

        Raises
        ------
        UsageError
            When count or stride is < 1 or the range leaves the video.
        """
        n = len(self)
        if count < 1 or stride < 1:
            raise UsageError(f"a clip needs count >= 1 and stride >= 1, got count={count}, stride={stride}")
        first = start + n if start < 0 else start
        last = first + (count - 1) * stride
        if first < 0 or last >= n:
            raise UsageError(
                f"clip of {count} frames from frame {start} with stride {stride} ends at frame {last}, "
                f"but '{self.path.name}' has frames 0..{n - 1}"
            )
        out = np.empty((count, self.info.height, self.info.width, 3), dtype=np.uint8)
        with self._lock:
            for k in range(count):
                out[k] = self._get(first + k * stride)
        return out

    def iter_frames(self, start: int = 0, stop: int | None = None, step: int = 1) -> Iterator[tuple[int, np.ndarray]]:
        """Stream ``(index, frame)`` pairs for ``range(start, stop, step)`` in order.

        Decodes sequentially with its own file handle (one seek to the start, none per
        frame), bypasses the cache, and holds only a few frames at a time, so memory does
        not grow with the video's length. Negative ``start``/``stop`` count from the end.

        Yields
        ------
        tuple[int, np.ndarray]
            The frame index and a fresh uint8 [H, W, 3] RGB frame.
        """
        self._check_open()
        if step < 1:
            raise UsageError(f"step must be >= 1, got {step}")
        first, last, _ = slice(start, stop).indices(len(self))
        return self._source.iter_range(first, last, step)


def open_video(path: str | os.PathLike, cache_size: int = 64, cache_mb: float = DEFAULT_FRAME_CACHE_MB) -> Video:
    """Open a video file (mp4, mov, mkv, webm, avi, ...) or a folder of images.

    Parameters
    ----------
    path:
        The file, or a folder of png/jpg images (all the same size), taken in natural order.
    cache_size:
        How many decoded frames to keep (least recently used are dropped); 0 disables.
    cache_mb:
        The most memory those frames may take, in MB (default
        :data:`~jepa_studio.video.frame_cache.DEFAULT_FRAME_CACHE_MB`); a 4K frame is 24.9 MB.

    Raises
    ------
    VideoError
        When the path is missing, not a video, empty, truncated or undecodable; the message
        names the file and says what went wrong.
    """
    p = Path(path).expanduser()
    try:
        if not p.exists():
            raise VideoError(f"No such file or folder: '{p}'.")
        is_dir, size = p.is_dir(), p.stat().st_size
    except OSError as error:  # e.g. a folder on the way that may not be searched
        raise VideoError(os_error_message(p, error)) from None
    if is_dir:
        return Video(ImageFolderSource(p), cache_size=cache_size, cache_mb=cache_mb)
    if size == 0:
        raise VideoError(f"'{p.name}' is empty (0 bytes); it holds no video.")
    return Video(PyAVSource(p), cache_size=cache_size, cache_mb=cache_mb)
