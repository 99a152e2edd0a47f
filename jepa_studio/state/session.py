"""The session: one open video, the playhead, the clip window, encoders and view settings.

Qt-free. Every setter validates, stores, and emits ``(name, value)`` to subscribers
(see :class:`~jepa_studio.state.events.Observable`) only when the value changed.
Names emitted: ``"video"``, ``"playhead"``, ``"clip"``, ``"encoders"``, ``"view"``,
``"device"``, ``"resolution"``, ``"reading"``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from ..video.timing import FALLBACK_FPS, frame_time, is_variable_rate
from .clip import ClipWindow
from .events import Observable
from .view import Reading, ViewSettings


@dataclass(frozen=True)
class VideoMeta:
    """What the session needs to know about the open video.

    ``timestamps``: float64 [n_frames], each frame's presentation time in seconds from the
    first frame (None: frame / fps), so a variable frame rate is labelled and paced as recorded.
    """

    path: Path
    n_frames: int
    fps: float
    size: tuple[int, int]  # (width, height)
    timestamps: np.ndarray | None = field(default=None, compare=False, repr=False)

    def time_of(self, frame: int) -> float:
        """Seconds from the first frame at which ``frame`` is shown."""
        return frame_time(self, frame)

    @property
    def variable_rate(self) -> bool:
        """Whether the gaps between frames differ by more than 10% (a variable frame rate)."""
        return is_variable_rate(self.timestamps)

    def frame_at(self, seconds: float) -> int:
        """The frame shown at ``seconds`` (the last one that starts at or before it)."""
        if self.timestamps is None or len(self.timestamps) == 0:
            return min(max(0, int(seconds * (self.fps if self.fps > 0 else FALLBACK_FPS) + 1e-9)), max(0, self.n_frames - 1))
        found = int(np.searchsorted(self.timestamps, seconds + 1e-9, side="right")) - 1
        return min(max(found, 0), self.n_frames - 1)

    def gap_after(self, frame: int) -> float:
        """Seconds that ``frame`` stays on screen at normal speed (until the next frame)."""
        if self.timestamps is not None and 0 <= frame < len(self.timestamps) - 1:
            gap = float(self.timestamps[frame + 1] - self.timestamps[frame])
            if gap > 0:
                return gap
        return 1.0 / (self.fps if self.fps > 0 else FALLBACK_FPS)


class Session(Observable):
    """Application state of the studio window (no Qt).

    Parameters
    ----------
    encoders:
        initially chosen encoder names (registry names, hub ids or folders).
    """

    def __init__(self, encoders: tuple[str, ...] = ("pixels", "pixels-tubelet")) -> None:
        super().__init__()
        self.video: VideoMeta | None = None
        self.playhead: int = 0
        self.clip: ClipWindow = ClipWindow()
        self.encoders: tuple[str, ...] = tuple(encoders)
        self.view: ViewSettings = ViewSettings()
        self.device: str = "auto"
        #: short side in pixels the encoders see; None: each encoder's default
        self.resolution: int | None = None
        #: which layer of each encoder the panes read
        self.reading: Reading = Reading()

    # -- video and playhead ---------------------------------------------------------------
    def set_video(self, meta: VideoMeta | None) -> None:
        """A new video is open (playhead back to 0 and the similarity query cleared)."""
        self.video = meta
        self.playhead = 0
        self._emit("video", meta)
        if self.view.query is not None:
            self.update_view(query=None)
        self._emit("playhead", 0)

    @property
    def n_frames(self) -> int:
        """Frames in the open video (0 when none is open)."""
        return 0 if self.video is None else self.video.n_frames

    def set_playhead(self, frame: int) -> int:
        """Move the playhead to ``frame`` (clamped to the video); returns the new playhead."""
        frame = min(max(0, int(frame)), max(0, self.n_frames - 1))
        if frame != self.playhead:
            self.playhead = frame
            self._emit("playhead", frame)
        return frame

    def step(self, delta: int) -> int:
        """Move the playhead by ``delta`` frames."""
        return self.set_playhead(self.playhead + delta)

    def time_of(self, frame: int) -> float:
        """Seconds from the first frame at which ``frame`` is shown (0 without a video)."""
        return 0.0 if self.video is None else self.video.time_of(frame)

    def clip_frames(self) -> tuple[int, ...]:
        """Source frames of the clip around the playhead."""
        return self.clip.frames_around(self.playhead, self.n_frames) if self.n_frames else ()

    # -- clip window, encoders, view ------------------------------------------------------
    def set_clip(self, frames_per_clip: int | None = None, stride: int | None = None) -> None:
        """Change the clip window (frames per clip, stride)."""
        clip = ClipWindow(
            frames_per_clip if frames_per_clip is not None else self.clip.frames_per_clip,
            stride if stride is not None else self.clip.stride,
        )
        if clip != self.clip:
            self.clip = clip
            self._emit("clip", clip)

    def set_encoders(self, names: tuple[str, ...] | list[str]) -> None:
        """Choose the encoders shown side by side (order kept, duplicates dropped)."""
        unique = tuple(dict.fromkeys(str(n) for n in names if str(n).strip()))
        if unique != self.encoders:
            self.encoders = unique
            self._emit("encoders", unique)

    def add_encoder(self, name: str) -> None:
        """Add one encoder pane (no-op if already shown)."""
        self.set_encoders((*self.encoders, name))

    def remove_encoder(self, name: str) -> None:
        """Remove one encoder pane."""
        self.set_encoders(tuple(n for n in self.encoders if n != name))

    def update_view(self, **changes: Any) -> None:
        """Change view settings, e.g. ``update_view(map_kind="similarity", query=(10.0, 20.0, 5))``."""
        view = replace(self.view, **changes)
        if view != self.view:
            self.view = view
            self._emit("view", view)

    def set_resolution(self, short_side: int | None) -> None:
        """Input short side in pixels for every encoder (None: each encoder's default)."""
        if short_side is not None and short_side < 1:
            raise ValueError("resolution must be a positive number of pixels")
        if short_side != self.resolution:
            self.resolution = short_side
            self._emit("resolution", short_side)

    def set_reading(self, reading: Reading) -> None:
        """Read every encoder at ``reading`` (layer, final norm)."""
        if reading != self.reading:
            self.reading = reading
            self._emit("reading", reading)

    def set_device(self, device: str) -> None:
        """``"auto"``, ``"cpu"``, ``"cuda"``, ``"cuda:1"``, ``"mps"``."""
        if device != self.device:
            self.device = device
            self._emit("device", device)
