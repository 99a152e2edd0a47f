"""Where every frame of a video stream is, from its packets (demuxed, not decoded)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from fractions import Fraction

import av
import av.error
import numpy as np

from jepa_studio.errors import VideoError
from jepa_studio.video.file_errors import describe_error

log = logging.getLogger(__name__)


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
    ref_horizon:
        int64 [N]: for frame i, the furthest frame index (in display order) whose packet
        comes before frame i's in decode order; every frame i may refer to lies at or
        before it (i itself without B-frames). Decoding up to it shows whether any of
        them was damaged.
    last_duration:
        The last frame's packet duration in the time base (0: unknown).
    """

    pts: np.ndarray
    key_positions: np.ndarray
    seek_ts: np.ndarray
    ref_horizon: np.ndarray
    last_duration: int = 0

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

    def seconds(self, time_base: Fraction) -> np.ndarray:
        """float64 [N]: each frame's presentation time in seconds from the first frame."""
        return (self.pts - self.pts[0]).astype(np.float64) * float(time_base)

    def span(self) -> int:
        """From the first frame's pts to the end of the last frame, in the time base. The last
        frame lasts as long as the interval before it (containers often store a nominal
        duration, wrong for a variable frame rate); a single frame its packet's duration."""
        last = int(self.pts[-1] - self.pts[-2]) if len(self) > 1 else self.last_duration
        return int(self.pts[-1] - self.pts[0]) + max(0, last)


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
    last_ts, last_duration = None, 0
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
            if last_ts is None or ts >= last_ts:
                last_ts, last_duration = ts, int(packet.duration or 0)
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
    decode_order = np.asarray(timestamps, dtype=np.int64)
    pts = np.unique(decode_order)
    positions = np.searchsorted(pts, decode_order)
    ref_horizon = np.arange(pts.size, dtype=np.int64)
    np.maximum.at(ref_horizon, positions, np.maximum.accumulate(positions))
    key_ts = np.asarray(sorted(keys), dtype=np.int64)
    key_positions = np.searchsorted(pts, key_ts).astype(np.int64)
    seek_ts = np.asarray([keys[int(t)] for t in key_ts], dtype=np.int64)
    if key_positions.size == 0 or key_positions[0] != 0:
        key_positions = np.concatenate([[0], key_positions])
        seek_ts = np.concatenate([[earliest], seek_ts])
    return FrameIndex(
        pts=pts,
        key_positions=key_positions,
        seek_ts=seek_ts.astype(np.int64),
        ref_horizon=ref_horizon,
        last_duration=max(0, last_duration),
    )
