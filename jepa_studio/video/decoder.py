"""Frame-accurate decoding of one video file with PyAV.

How frames are found
--------------------
When a file is opened, the video stream's packets are demuxed (not decoded) once and
their presentation timestamps (pts) sorted: frame ``i`` is the frame whose pts is the
``i``-th smallest. The header's frame count (``stream.frames``) is not used, since it is
often 0, and pts is never taken to be a frame number. To read frame ``i`` the container
seeks backwards to the keyframe at or before it and decodes forward until the frame with
exactly that pts comes out. When frame ``i`` directly follows the last frame decoded (or
lies before the next keyframe), decoding simply continues without a seek.

Damaged files
-------------
A packet the decoder rejects is skipped and decoding goes on, so one corrupt packet does
not lose the rest of the video. A frame index whose frame cannot be decoded returns the
nearest earlier frame that did decode (what a player shows: the picture holds), or, when
there is none, the nearest later one. Only when nothing decodes at all is
:class:`~jepa_studio.errors.VideoError` raised.
"""

from __future__ import annotations

import itertools
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import av
import av.error
import numpy as np

from jepa_studio.errors import VideoError
from jepa_studio.video.file_errors import describe_error, os_error_message
from jepa_studio.video.info import VideoInfo, apply_rotation, normalize_rotation

log = logging.getLogger(__name__)

# How many keyframes further back a read retries when a seek lands after its target.
_SEEK_RETRIES = 2
_NO_TS = -(2**62)


@dataclass(frozen=True)
class FrameIndex:
    """Where every frame of a stream is, from its packets.

    Attributes
    ----------
    pts:
        int64 [N], sorted presentation timestamps in the stream's time base; frame i has
        pts ``pts[i]``.
    key_positions:
        int64 [K], sorted frame indices at which decoding can start (always holds 0).
    seek_ts:
        int64 [K], a fallback timestamp to seek to for each keyframe: its dts when known
        (<= its pts), for demuxers that index by dts (avi). The first try is its pts.
    """

    pts: np.ndarray
    key_positions: np.ndarray
    seek_ts: np.ndarray

    def __len__(self) -> int:
        return int(self.pts.shape[0])

    def key_pts(self, slot: int) -> int:
        """Presentation timestamp of keyframe ``slot``."""
        return int(self.pts[self.key_positions[slot]])

    def keyframe_slot(self, index: int) -> int:
        """Slot in ``key_positions`` of the last keyframe at or before frame ``index``."""
        return int(np.searchsorted(self.key_positions, index, side="right")) - 1

    def position(self, ts: int) -> int:
        """Frame index of timestamp ``ts`` (-1 when it lies before the first frame)."""
        return int(np.searchsorted(self.pts, ts, side="right")) - 1


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


def build_frame_index(container: av.container.InputContainer, stream: av.video.stream.VideoStream, name: str) -> FrameIndex:
    """Demux every packet of ``stream`` (without decoding) and index its frames.

    Raises
    ------
    VideoError
        When no packet could be read or the packets carry no timestamps.
    """
    timestamps: list[int] = []
    keys: dict[int, int] = {}
    earliest: int | None = None
    without_ts = 0
    try:
        for packet in container.demux(stream):
            if packet.size == 0:
                continue  # the flush packet at the end
            if getattr(packet, "is_discard", False):
                continue  # dropped by an edit list: never shown
            ts = packet.pts if packet.pts is not None else packet.dts
            if ts is None:
                without_ts += 1
                continue
            timestamps.append(ts)
            start = min(ts, packet.dts) if packet.dts is not None else ts
            earliest = start if earliest is None else min(earliest, start)
            if packet.is_keyframe:
                keys[ts] = start
    except av.error.FFmpegError as error:
        if not timestamps:
            raise VideoError(f"Cannot read '{name}': no video data could be read ({describe_error(error)}).") from None
        log.warning("'%s' is damaged after %d frames (%s); reading what is there.", name, len(timestamps), error)
    if not timestamps:
        if without_ts:
            raise VideoError(
                f"Cannot index '{name}': its packets carry no timestamps. Remux it, e.g. "
                f"`ffmpeg -i '{name}' -c copy fixed.mkv`, and open that."
            )
        raise VideoError(f"'{name}' contains no video frames (empty or truncated file).")
    pts = np.unique(np.asarray(timestamps, dtype=np.int64))
    key_ts = np.asarray(sorted(keys), dtype=np.int64)
    key_positions = np.searchsorted(pts, key_ts).astype(np.int64)
    seek_ts = np.asarray([keys[int(t)] for t in key_ts], dtype=np.int64)
    if key_positions.size == 0 or key_positions[0] != 0:
        key_positions = np.concatenate([[0], key_positions])
        seek_ts = np.concatenate([[earliest], seek_ts])
    return FrameIndex(pts=pts, key_positions=key_positions, seek_ts=seek_ts.astype(np.int64))


class PyAVSource:
    """Frames of one video file, decoded on demand. Not thread-safe: :class:`Video` locks.

    Parameters
    ----------
    path:
        A video file (mp4, mov, mkv, webm, avi, ...).

    Raises
    ------
    VideoError
        When the file is missing a video stream, holds no frames, or none decodes.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._container = open_container(path)
        self._gen: Iterator[av.VideoFrame] | None = None
        self._pushback: av.VideoFrame | None = None
        self._last_pos: int | None = None
        self._last_frame: av.VideoFrame | None = None
        self._last_target: int | None = None
        self._seek_by_dts = False
        self.skipped_packets = 0
        self.seeks = 0
        try:
            if not self._container.streams.video:
                raise VideoError(f"'{path.name}' has no video stream (is it an audio file?).")
            self._stream = self._container.streams.video[0]
            self._prepare_stream(self._stream)
            self.index = build_frame_index(self._container, self._stream, path.name)
            first = self._first_frame()
            self.rotation = normalize_rotation(-getattr(first, "rotation", 0) or 0)
            self.info = self._make_info(first)
        except BaseException:
            self._container.close()
            raise

    # ------------------------------------------------------------------ set-up

    @staticmethod
    def _prepare_stream(stream: av.video.stream.VideoStream) -> None:
        try:
            stream.codec_context.thread_type = "AUTO"
        except (AttributeError, ValueError, av.error.FFmpegError):  # pragma: no cover - old PyAV
            pass

    def _first_frame(self) -> av.VideoFrame:
        try:
            frame = self._decode_at(0)
        except VideoError:
            raise VideoError(
                f"Cannot decode '{self.path.name}': no frame of it could be decoded "
                f"(damaged file, or a codec this FFmpeg lacks)."
            ) from None
        return frame

    def _make_info(self, first: av.VideoFrame) -> VideoInfo:
        stream = self._stream
        count = len(self.index)
        rate = stream.average_rate or stream.guessed_rate or stream.base_rate
        fps = float(rate) if rate else 0.0
        if not (0.0 < fps < 1000.0):
            span = float((self.index.pts[-1] - self.index.pts[0]) * stream.time_base) if count > 1 else 0.0
            fps = (count - 1) / span if span > 0 else 25.0
        width, height = first.width, first.height
        if self.rotation in (90, 270):
            width, height = height, width
        return VideoInfo(
            path=self.path,
            frame_count=count,
            fps=fps,
            width=int(width),
            height=int(height),
            duration=count / fps,
            rotation=self.rotation,
            codec=stream.codec_context.name,
            is_image_folder=False,
        )

    # ----------------------------------------------------------------- public

    def timestamp(self, index: int) -> float:
        """Seconds from the first frame to frame ``index``."""
        return float((self.index.pts[index] - self.index.pts[0]) * self._stream.time_base)

    def read(self, index: int) -> np.ndarray:
        """Frame ``index`` (0 <= index < len) as uint8 [H, W, 3] RGB, upright."""
        return self.to_rgb(self._decode_at(index))

    def iter_range(self, start: int, stop: int, step: int) -> Iterator[tuple[int, np.ndarray]]:
        """Yield ``(i, frame)`` for i in ``range(start, stop, step)`` by decoding sequentially.

        Uses its own container, so it neither disturbs nor waits for :meth:`read`; memory
        stays constant whatever the length.
        """
        if start >= stop:
            return
        container = open_container(self.path)
        try:
            stream = container.streams.video[0]
            self._prepare_stream(stream)
            wanted = start
            held: av.VideoFrame | None = None
            held_rgb: np.ndarray | None = None
            for frame in self._start_decoding(container, stream, start):
                pos = self.index.position(_frame_ts(frame))
                if pos < wanted:
                    held, held_rgb = frame, None
                    continue
                while wanted < pos and wanted < stop:  # frames that failed to decode
                    if held_rgb is None:
                        held_rgb = self.to_rgb(held if held is not None else frame)
                    yield wanted, held_rgb.copy()
                    wanted += step
                if wanted >= stop:
                    return
                held, held_rgb = frame, None
                if pos == wanted:
                    held_rgb = self.to_rgb(frame)
                    yield wanted, held_rgb.copy()
                    wanted += step
                    if wanted >= stop:
                        return
            if held is None:
                raise VideoError(f"Cannot decode frames {wanted}..{stop - 1} of '{self.path.name}'.")
            held_rgb = self.to_rgb(held) if held_rgb is None else held_rgb
            while wanted < stop:  # the tail did not decode: hold the last good frame
                yield wanted, held_rgb.copy()
                wanted += step
        finally:
            container.close()

    def close(self) -> None:
        """Close the container (idempotent)."""
        self._gen = None
        self._pushback = None
        self._last_frame = None
        self._container.close()

    # --------------------------------------------------------------- decoding

    def to_rgb(self, frame: av.VideoFrame) -> np.ndarray:
        """A decoded frame as C-contiguous uint8 [H, W, 3] RGB, display rotation applied."""
        try:
            rgb = frame.to_ndarray(format="rgb24")
        except (av.error.FFmpegError, ValueError) as error:
            raise VideoError(f"Cannot convert a frame of '{self.path.name}' to RGB ({describe_error(error)}).") from None
        return apply_rotation(rgb, self.rotation)

    def _next(self) -> av.VideoFrame | None:
        if self._pushback is not None:
            frame, self._pushback = self._pushback, None
            return frame
        assert self._gen is not None
        return next(self._gen, None)

    def _can_continue(self, target: int) -> bool:
        if self._gen is None or self._last_pos is None or self._last_pos >= target:
            return False
        if self._pushback is not None and self.index.position(_frame_ts(self._pushback)) > target:
            return False
        next_key = int(self.index.key_positions[self.index.keyframe_slot(target)])
        return next_key <= self._last_pos + 1

    def _seek_candidates(self, target: int) -> list[int]:
        """Timestamps to seek to for ``target``, best first: its keyframe's pts (exact for
        mp4, mov, mkv, webm), that keyframe's dts (avi indexes by dts), then earlier
        keyframes and the very start."""
        index = self.index
        slot = index.keyframe_slot(target)
        found: list[int] = [] if self._seek_by_dts else [index.key_pts(slot)]
        for earlier in range(slot, slot - _SEEK_RETRIES - 1, -1):
            found.append(int(index.seek_ts[max(earlier, 0)]))
        found.append(int(index.seek_ts[0]))
        return list(dict.fromkeys(found))

    def _start_decoding(self, container: av.container.InputContainer, stream: av.video.stream.VideoStream, target: int) -> Iterator[av.VideoFrame]:
        """Seek so that decoding starts at or before ``target``; the decoded frames from there.

        A seek that lands after the target (a demuxer that indexes differently, or a
        keyframe that does not decode) is retried further back.
        """
        overshot: Iterator[av.VideoFrame] | None = None
        for attempt, ts in enumerate(self._seek_candidates(target)):
            try:
                container.seek(ts, stream=stream, backward=True)
            except av.error.FFmpegError as error:
                raise VideoError(f"Cannot seek in '{self.path.name}' ({describe_error(error)}).") from None
            self.seeks += 1
            frames = _decode_frames(container, stream, self)
            first = next(frames, None)
            if first is None:
                continue
            frames = itertools.chain([first], frames)
            if self.index.position(_frame_ts(first)) <= target:
                if attempt > 0 and not self._seek_by_dts and first.key_frame:
                    self._seek_by_dts = True  # this demuxer seeks by dts: skip the pts try
                return frames
            overshot = overshot or frames
        return overshot if overshot is not None else iter(())

    def _scan(self, target: int) -> tuple[av.VideoFrame | None, av.VideoFrame | None, av.VideoFrame | None]:
        """Decode forward to ``target``: (exact frame, nearest earlier, nearest later)."""
        earlier: av.VideoFrame | None = None
        while True:
            frame = self._next()
            if frame is None:
                self._gen = None
                return None, earlier, None
            pos = self.index.position(_frame_ts(frame))
            if pos < target:
                earlier = frame
                self._last_pos = pos
            elif pos == target:
                self._last_pos = pos
                return frame, earlier, None
            else:
                self._pushback = frame
                return None, earlier, frame

    def _decode_at(self, target: int) -> av.VideoFrame:
        """The decoded frame at index ``target`` (or its stand-in if it is broken)."""
        frame = self._locate(target)
        self._last_frame, self._last_target = frame, target
        return frame

    def _locate(self, target: int) -> av.VideoFrame:
        if target == self._last_target and self._last_frame is not None:
            return self._last_frame
        if self._can_continue(target):
            exact, earlier, _ = self._scan(target)
            if exact is not None:
                return exact
            if earlier is not None:
                self._report_missing(target)
                return earlier
        self._gen = self._start_decoding(self._container, self._stream, target)
        self._pushback = None
        self._last_pos = None
        exact, earlier, later = self._scan(target)
        if exact is not None:
            return exact
        self._report_missing(target)
        if earlier is not None:
            return earlier
        if later is not None:
            return later
        raise VideoError(f"Cannot decode frame {target} of '{self.path.name}'.")

    def _report_missing(self, target: int) -> None:
        log.warning("Frame %d of '%s' could not be decoded; showing the nearest frame that could.", target, self.path.name)


def _frame_ts(frame: av.VideoFrame) -> int:
    ts = frame.pts if frame.pts is not None else frame.dts
    return int(ts) if ts is not None else _NO_TS


def _decode_frames(container: av.container.InputContainer, stream: av.video.stream.VideoStream, owner: PyAVSource) -> Iterator[av.VideoFrame]:
    """Decoded frames from the container's current position, skipping broken packets."""
    packets = container.demux(stream)
    while True:
        try:
            packet = next(packets)
        except StopIteration:
            return
        except av.error.FFmpegError as error:
            log.warning("Stopped reading '%s' at damaged data (%s).", owner.path.name, error)
            try:
                frames = stream.decode(None)  # drain what the decoder still holds
            except av.error.FFmpegError:
                return
            yield from frames
            return
        try:
            frames = packet.decode()
        except av.error.FFmpegError as error:
            owner.skipped_packets += 1
            log.debug("Skipped a broken packet of '%s' (%s).", owner.path.name, error)
            continue
        yield from frames
