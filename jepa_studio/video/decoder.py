"""Frame-accurate decoding of one video file with PyAV.

How frames are found
--------------------
When a file is opened, the video stream's packets are demuxed (not decoded) once and
their presentation timestamps (pts) sorted (:mod:`jepa_studio.video.frame_index`): frame
``i`` is the frame whose pts is the ``i``-th smallest. The header's frame count
(``stream.frames``) is not used, since it is often 0, and pts is never taken to be a frame
number. To read frame ``i`` the container seeks backwards to the keyframe at or before it
and decodes forward until the frame with exactly that pts comes out. When frame ``i`` lies
ahead in the keyframe interval being decoded, decoding simply continues without a seek.

Damaged files
-------------
Frame ``i`` is what a plain sequential decode of the whole file without threads gives for
its pts, skipping the packets the decoder rejects (as ``ffmpeg`` does). Every access pattern
(random, sequential, backwards, :meth:`PyAVSource.iter_range`) gives exactly those pixels:

- Decoding uses FFmpeg's frame threads, which give the same pixels as one thread on intact
  data but not around damage (errors are concealed differently; at a truncation the frames
  in flight are lost). A run of decoding that meets damage (a rejected packet, a frame
  missing or flagged corrupt, the demuxer stopping at bad data) is thrown away, and from
  then on the file is decoded with one thread.
- With one thread, decoding from a keyframe gives what sequential decoding gives as long as
  nothing on the way needs concealing; FFmpeg's concealment depends on what was decoded
  before, even across IDR frames. So before a frame is given, decoding goes on to its
  reference horizon (the frames it may refer to); when damage was met, the keyframe
  intervals it lies in are remembered and frames there are decoded from the start of the
  file (slow, but only there).
- A frame that does not come out of the decoder raises
  :class:`~jepa_studio.errors.VideoError` naming it; it is never replaced by a neighbour.
"""

from __future__ import annotations

import logging
from collections import deque
from pathlib import Path
from typing import Iterator

import av
import av.error
import numpy as np

from jepa_studio.errors import VideoError
from jepa_studio.video.file_errors import describe_error, os_error_message
from jepa_studio.video.frame_index import FrameIndex, build_frame_index
from jepa_studio.video.info import VideoInfo, apply_rotation, normalize_rotation
from jepa_studio.video.timing import is_variable_rate

log = logging.getLogger(__name__)

# How many keyframes further back a read retries when a seek lands after its target.
_SEEK_RETRIES = 2
_NO_TS = -(2**62)

__all__ = ["FrameIndex", "PyAVSource", "build_frame_index", "open_container"]


def open_container(path: Path) -> av.container.InputContainer:
    """Open ``path`` with PyAV, turning every failure into a :class:`VideoError`."""
    try:
        return av.open(str(path), mode="r")
    except OSError as error:  # before FFmpegError: PyAV's PermissionError is both
        raise VideoError(os_error_message(path, error)) from None
    except av.error.FFmpegError as error:
        raise VideoError(
            f"Cannot read '{path.name}': it is not a video file FFmpeg understands, or it is "
            f"damaged or truncated ({describe_error(error)})."
        ) from None
    except UnicodeDecodeError as error:
        raise VideoError(f"Cannot open '{path.name}': {describe_error(error)}.") from None


def _set_threads(stream: av.video.stream.VideoStream, threaded: bool) -> None:
    """Frame and slice threads (fast), or a single thread (exact on damaged data).

    Threaded decoding also turns every error the decoder detects into a rejected packet
    (``err_detect=explode``): whether frame threads flag a concealed frame as corrupt
    depends on their timing, a detected bitstream error does not. It only detects damage;
    the single-threaded decoding that then takes over conceals as plain decoding does.
    """
    context = stream.codec_context
    try:
        if threaded:
            context.thread_type = "AUTO"
            context.options = {**dict(context.options or {}), "err_detect": "explode"}
        else:
            context.thread_count = 1
            context.thread_type = "NONE"
    except (AttributeError, ValueError, av.error.FFmpegError):  # pragma: no cover - old PyAV
        pass


def _frame_ts(frame: av.VideoFrame) -> int:
    ts = frame.pts if frame.pts is not None else frame.dts
    return int(ts) if ts is not None else _NO_TS


class _Damaged(Exception):
    """A threaded run of decoding met damage: decode again with one thread."""


class _Cursor:
    """A container open on the file and a position in its decoding.

    Not thread-safe. Reads frames by index, continuing forward without a seek where it can.
    Before it gives a frame it decodes on to the frame's reference horizon (the frames it
    may refer to), so damage to those is seen too. A threaded cursor raises
    :class:`_Damaged` when a run meets damage; a single-threaded one decodes from the start
    of the file when a run that started later meets damage, then gives the reference pixels
    or a :class:`VideoError` naming the frame.
    """

    def __init__(self, source: PyAVSource, threaded: bool, container: av.container.InputContainer | None = None) -> None:
        self.source = source
        self.threaded = threaded
        self.container = container if container is not None else open_container(source.path)
        self.stream = self.container.streams.video[0]
        if container is None:
            _set_threads(self.stream, threaded)
        self._frames: Iterator[av.VideoFrame] | None = None
        self._last: tuple[int, av.VideoFrame] | None = None
        self._begin_run(0)

    def close(self) -> None:
        self._frames = self._last = None
        self._buffer.clear()
        self.container.close()

    # ------------------------------------------------------------------ reads

    def frame(self, target: int) -> av.VideoFrame:
        """The decoded frame at index ``target``.

        Raises
        ------
        _Damaged
            (threaded cursors) when the run that reached, or failed to reach, ``target`` met damage.
        VideoError
            (single-threaded cursors) when frame ``target`` cannot be decoded.
        """
        if self._last is not None and self._last[0] == target:
            return self._last[1]
        index = self.source.index
        from_start = False
        while True:
            if from_start or not self._can_continue(target):
                self._start(target, from_start)
            found = self._find(target)
            if self.threaded:
                if found is None or self._damage:
                    raise _Damaged
            elif self._slot > 0 and self._damage:
                # FFmpeg conceals damage with state from before the keyframe (even across
                # IDR frames): only a decode from the start of the file gives the reference
                self.source.bad_keys.update(index.keyframe_slot(p) for p in self._damage)
                from_start = True
                continue
            if found is None:
                raise VideoError(
                    f"Frame {target} of '{self.source.path.name}' cannot be decoded: the file is damaged "
                    f"or truncated there."
                )
            self._last = (target, found)
            return found

    def any_frame(self) -> av.VideoFrame | None:
        """The first frame that decodes from the start of the file, whatever its index."""
        self._start(0)
        frame = self._buffer[0][1] if self._buffer else None
        self._frames = None
        return frame

    # --------------------------------------------------------------- runs

    def _can_continue(self, target: int) -> bool:
        if self._frames is None or self._consumed is None or self._consumed >= target:
            return False
        if self._buffer and min(pos for pos, _ in self._buffer) > target:
            return False
        index = self.source.index
        next_key = int(index.key_positions[index.keyframe_slot(target)])
        return next_key <= self._consumed + 1

    def _start_slot(self, target: int) -> int:
        slot = self.source.index.keyframe_slot(target)
        return 0 if slot in self.source.bad_keys else slot

    def _seek_candidates(self, slot: int) -> list[int]:
        """Timestamps to seek to for keyframe ``slot``, best first: its pts (exact for mp4,
        mov, mkv, webm), its dts (avi indexes by dts), then earlier keyframes and the start."""
        index = self.source.index
        found: list[int] = [] if self.source.seek_by_dts else [index.key_pts(slot)]
        for earlier in range(slot, slot - _SEEK_RETRIES - 1, -1):
            found.append(int(index.seek_ts[max(earlier, 0)]))
        found.append(int(index.seek_ts[0]))
        return list(dict.fromkeys(found))

    def _start(self, target: int, from_start: bool = False) -> None:
        """Seek so that decoding starts at or before ``target`` (at the file's start with
        ``from_start``, or when the target's keyframe interval holds damage).

        A seek that lands after the target (a demuxer that indexes differently, or a
        keyframe that does not decode) is retried further back.
        """
        slot = 0 if from_start else self._start_slot(target)
        index = self.source.index
        candidates = self._seek_candidates(slot)
        for attempt, ts in enumerate(candidates):
            try:
                self.container.seek(ts, stream=self.stream, backward=True)
            except av.error.FFmpegError as error:
                raise VideoError(f"Cannot seek in '{self.source.path.name}' ({describe_error(error)}).") from None
            self.source.seeks += 1
            self._begin_run(slot)
            self._frames = self._decode()
            if not self._pull():
                continue
            first_pos, first = self._buffer[0]
            if first_pos <= target or attempt == len(candidates) - 1:
                if attempt > 0 and not self.source.seek_by_dts and first.key_frame:
                    self.source.seek_by_dts = True  # this demuxer seeks by dts: skip the pts try
                self._slot = min(slot, max(0, index.keyframe_slot(first_pos)))
                return

    def _begin_run(self, slot: int) -> None:
        self._slot = slot
        self._buffer: deque[tuple[int, av.VideoFrame]] = deque()  # decoded, not yet taken
        self._consumed: int | None = None  # the last frame index taken from the buffer
        self._max_pos = -1  # the furthest frame index decoded
        self._damage: set[int] = set()  # frame indices found damaged in this run
        self._last = None

    def _decode(self) -> Iterator[av.VideoFrame]:
        """Decoded frames from the container's current position; rejected packets are
        skipped (and their frames noted as damaged), as plain sequential decoding does."""
        index = self.source.index
        packets = self.container.demux(self.stream)
        while True:
            try:
                packet = next(packets)
            except StopIteration:
                return
            except av.error.FFmpegError as error:
                log.warning("Stopped reading '%s' at damaged data (%s).", self.source.path.name, error)
                self._damage.add(self._max_pos + 1)
                try:
                    frames = self.stream.decode(None)  # drain what the decoder still holds
                except av.error.FFmpegError:
                    return
                yield from frames
                return
            try:
                frames = packet.decode()
            except av.error.FFmpegError as error:
                self.source.skipped_packets += 1
                ts = packet.pts if packet.pts is not None else packet.dts
                self._damage.add(max(0, index.position(int(ts))) if ts is not None else self._max_pos + 1)
                log.debug("Skipped a broken packet of '%s' (%s).", self.source.path.name, error)
                continue
            yield from frames

    def _pull(self) -> bool:
        """Decode one more frame into the buffer, noting damage; False at the end."""
        frame = next(self._frames, None) if self._frames is not None else None
        if frame is None:
            self._frames = None
            return False
        index = self.source.index
        ts = _frame_ts(frame)
        pos = index.position(ts)
        if frame.is_corrupt or (pos >= 0 and int(index.pts[pos]) != ts):
            self._damage.add(max(pos, 0))  # concealed errors, or a frame the index lacks
        key_pos = int(index.key_positions[self._slot])
        if pos > self._max_pos and pos >= key_pos:
            self._damage.update(range(max(key_pos, self._max_pos + 1), pos))  # never came out
        self._max_pos = max(self._max_pos, pos)
        self._buffer.append((pos, frame))
        return True

    def _find(self, target: int) -> av.VideoFrame | None:
        """Decode forward to ``target`` and on to its reference horizon: its frame, or None.

        Around damage the decoder may hold a frame back and give later ones first (frame 39
        after 48 when keyframe 40 is broken); a keyframe that decodes flushes everything
        before it. So once damage was seen, decoding goes on until the target came out or a
        decoded keyframe after it did (or the stream ended)."""
        horizon = max(target, int(self.source.index.ref_horizon[target]))
        found: av.VideoFrame | None = None
        while True:
            if self._buffer and min(pos for pos, _ in self._buffer) <= target:
                kept: deque[tuple[int, av.VideoFrame]] = deque()
                for pos, frame in self._buffer:
                    if pos == target:
                        found = frame
                    elif pos > target:
                        kept.append((pos, frame))
                self._buffer = kept
            done = found is not None or not self._damage or self._key_after(target)
            if (done and self._max_pos >= horizon) or not self._pull():
                break
        self._consumed = target if self._consumed is None else max(self._consumed, target)
        if found is None:
            self._damage.add(target)
        return found

    def _key_after(self, target: int) -> bool:
        """Whether a keyframe after ``target`` has come out of the decoder."""
        return any(pos > target and frame.key_frame for pos, frame in self._buffer)


class PyAVSource:
    """Frames of one video file, decoded on demand. Not thread-safe: :class:`Video` locks.

    Parameters
    ----------
    path:
        A video file (mp4, mov, mkv, webm, avi, ...).

    Attributes
    ----------
    index:
        The :class:`FrameIndex` built from the packets.
    threaded:
        False once damage was met: the file is then decoded with one thread.
    bad_keys:
        Keyframe slots whose interval holds damage (frames there decode from the start).
    seeks, skipped_packets:
        Counters of seeks made and packets the decoder rejected.

    Raises
    ------
    VideoError
        When the file is missing a video stream, holds no frames, or none decodes.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.threaded = True
        self.bad_keys: set[int] = set()
        self.seek_by_dts = False
        self.skipped_packets = 0
        self.seeks = 0
        container = open_container(path)
        try:
            if not container.streams.video:
                raise VideoError(f"'{path.name}' has no video stream (is it an audio file?).")
            self._stream = container.streams.video[0]
            _set_threads(self._stream, True)
            self.index = build_frame_index(container, self._stream, path.name)
            self._cursor = _Cursor(self, threaded=True, container=container)
            first = self._first_frame()
            self.rotation = normalize_rotation(-getattr(first, "rotation", 0) or 0)
            self.info = self._make_info(first)
        except BaseException:
            container.close()
            raise

    # ------------------------------------------------------------------ set-up

    def _first_frame(self) -> av.VideoFrame:
        """Frame 0, or (when it is damaged) the first frame that decodes: for the size."""
        try:
            return self._decode_at(0)
        except VideoError:
            frame = self._cursor.any_frame()
        if frame is None:
            raise VideoError(
                f"Cannot decode '{self.path.name}': no frame of it could be decoded "
                f"(damaged file, or a codec this FFmpeg lacks)."
            )
        return frame

    def _make_info(self, first: av.VideoFrame) -> VideoInfo:
        stream, index = self._stream, self.index
        count = len(index)
        duration = float(index.span() * stream.time_base)
        rate = stream.average_rate or stream.guessed_rate or stream.base_rate
        fps = float(rate) if rate else 0.0
        measured = count / duration if duration > 0 else 0.0
        if measured > 0 and not (0.0 < fps < 1000.0 and abs(fps - measured) <= 0.01 * measured):
            fps = measured  # the header's rate does not match the frames' timestamps
        if not 0.0 < fps < 1000.0:
            fps = 25.0
        if duration <= 0:
            duration = count / fps
        variable = is_variable_rate(index.pts)
        width, height = first.width, first.height
        if self.rotation in (90, 270):
            width, height = height, width
        return VideoInfo(
            path=self.path,
            frame_count=count,
            fps=fps,
            width=int(width),
            height=int(height),
            duration=duration,
            rotation=self.rotation,
            codec=stream.codec_context.name,
            is_image_folder=False,
            variable_frame_rate=variable,
        )

    # ----------------------------------------------------------------- public

    def timestamps(self) -> np.ndarray:
        """float64 [N]: every frame's presentation time in seconds from the first frame."""
        return self.index.seconds(self._stream.time_base)

    def read(self, index: int) -> np.ndarray:
        """Frame ``index`` (0 <= index < len) as uint8 [H, W, 3] RGB, upright.

        Raises VideoError naming the frame when it cannot be decoded."""
        return self.to_rgb(self._decode_at(index))

    def iter_range(self, start: int, stop: int, step: int) -> Iterator[tuple[int, np.ndarray]]:
        """Yield ``(i, frame)`` for i in ``range(start, stop, step)``, decoding forward.

        Uses its own container, so it neither disturbs nor waits for :meth:`read`; memory
        stays constant whatever the length. Gives the same pixels as :meth:`read`, and
        raises VideoError at the first frame that cannot be decoded.
        """
        if start >= stop:
            return
        cursor = _Cursor(self, threaded=self.threaded)
        try:
            for index in range(start, stop, step):
                while True:
                    try:
                        frame = cursor.frame(index)
                        break
                    except _Damaged:
                        cursor.close()
                        cursor = self._careful_cursor()
                yield index, self.to_rgb(frame)
        finally:
            cursor.close()

    def close(self) -> None:
        """Close the container (idempotent)."""
        self._cursor.close()

    # --------------------------------------------------------------- decoding

    def to_rgb(self, frame: av.VideoFrame) -> np.ndarray:
        """A decoded frame as C-contiguous uint8 [H, W, 3] RGB, display rotation applied."""
        try:
            rgb = frame.to_ndarray(format="rgb24")
        except (av.error.FFmpegError, ValueError) as error:
            raise VideoError(f"Cannot convert a frame of '{self.path.name}' to RGB ({describe_error(error)}).") from None
        return apply_rotation(rgb, self.rotation)

    def _careful_cursor(self) -> _Cursor:
        if self.threaded:
            self.threaded = False
            log.warning("'%s' is damaged; decoding it with one thread so that every read gives the same frames.", self.path.name)
        return _Cursor(self, threaded=False)

    def _decode_at(self, target: int) -> av.VideoFrame:
        while True:
            if self._cursor.threaded and not self.threaded:
                self._cursor.close()
                self._cursor = self._careful_cursor()
            try:
                return self._cursor.frame(target)
            except _Damaged:
                self._cursor.close()
                self._cursor = self._careful_cursor()
