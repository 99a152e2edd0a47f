"""Point tracking without Qt: the clicked query points (with undo), the tracking options and
the request they make.

A query is (source frame, x, y) in source-frame pixels. Listeners hear ``("points", points)``
after every change and ``("mode", on)``; option changes are heard on ``state.options``.
"""

from __future__ import annotations

from dataclasses import dataclass

from .events import Observable, Options
from .requests import TrackRequest
from .session import Session

Query = tuple[int, float, float]


@dataclass(frozen=True)
class TrackingOptions:
    """How points are tracked and drawn.

    temperature: soft-argmax temperature on cosine similarities; window: its side in tokens
    (odd); tail: time steps of trail drawn behind the playhead (0: the whole clip).
    """

    temperature: float = 0.05
    window: int = 5
    tail: int = 8

    def __post_init__(self) -> None:
        if not self.temperature > 0:
            raise ValueError("the temperature must be positive")
        if self.window < 1 or self.window % 2 == 0:
            raise ValueError("the soft-argmax window is an odd number of tokens")
        if self.tail < 0:
            raise ValueError("the trail length must not be negative")


class TrackingState(Observable):
    """The points a user tracks in the session's video, with undo and redo."""

    def __init__(self, session: Session, options: TrackingOptions | None = None, history: int = 100) -> None:
        super().__init__()
        self.session = session
        self.options: Options[TrackingOptions] = Options(options or TrackingOptions())
        self.points: tuple[Query, ...] = ()
        self.mode = False
        self._undo: list[tuple[Query, ...]] = []
        self._redo: list[tuple[Query, ...]] = []
        self._history = history

    def _set_points(self, points: tuple[Query, ...]) -> None:
        self._undo.append(self.points)
        del self._undo[: -self._history]
        self._redo.clear()
        self.points = points
        self._emit("points", points)

    def add(self, frame: int, x: float, y: float) -> None:
        """Track the point (x, y) of source frame ``frame`` (one undo step)."""
        self._set_points((*self.points, (int(frame), float(x), float(y))))

    def remove(self, index: int) -> None:
        """Stop tracking point ``index`` (one undo step)."""
        if 0 <= index < len(self.points):
            self._set_points(self.points[:index] + self.points[index + 1 :])

    def clear(self) -> None:
        if self.points:
            self._set_points(())

    def undo(self) -> bool:
        if not self._undo:
            return False
        self._redo.append(self.points)
        self.points = self._undo.pop()
        self._emit("points", self.points)
        return True

    def redo(self) -> bool:
        if not self._redo:
            return False
        self._undo.append(self.points)
        self.points = self._redo.pop()
        self._emit("points", self.points)
        return True

    def set_mode(self, on: bool) -> None:
        if bool(on) != self.mode:
            self.mode = bool(on)
            self._emit("mode", self.mode)

    def forget(self) -> None:
        """Another video: no point, no history."""
        self._undo.clear()
        self._redo.clear()
        if self.points:
            self.points = ()
            self._emit("points", ())

    def request(self, video_key: str) -> TrackRequest | None:
        """The request for the clip around the playhead (None without a video, encoders or points)."""
        s = self.session
        if s.video is None or not s.encoders or not self.points:
            return None
        o = self.options.value
        return TrackRequest(
            video_key=video_key, frames=s.clip_frames(), queries=self.points, encoders=s.encoders,
            clip=s.clip, n_frames=s.n_frames, device=s.device, resolution=s.resolution, reading=s.reading,
            temperature=o.temperature, window=o.window,
        )
