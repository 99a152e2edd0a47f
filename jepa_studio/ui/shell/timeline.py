"""The timeline: a scrubber with frame number and time, and the clip window drawn on it."""

from __future__ import annotations

from PySide6.QtCore import QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QMouseEvent, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from ...state.session import VideoMeta
from . import theme


def format_time(seconds: float) -> str:
    """``m:ss.cc``."""
    minutes, rest = divmod(max(0.0, seconds), 60.0)
    return f"{int(minutes)}:{rest:05.2f}"


class Timeline(QWidget):
    """Click or drag to move the playhead; shows the clip the encoders see around it.

    Signals
    -------
    scrubbed(frame): the user moved the playhead to ``frame``.
    """

    scrubbed = Signal(int)

    MARGIN = 12

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.n_frames = 0
        self.video: VideoMeta | None = None
        self.playhead = 0
        self.clip_frames: tuple[int, ...] = ()
        self.setMinimumHeight(54)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setToolTip("Click or drag to scrub. Shaded: the frames the encoders see (the clip window).")

    def sizeHint(self) -> QSize:
        return QSize(600, 54)

    def set_video(self, video: VideoMeta | None) -> None:
        """Show ``video`` (its frame count and the time of each frame)."""
        self.video = video
        self.n_frames = 0 if video is None else int(video.n_frames)
        self.update()

    def set_playhead(self, frame: int, clip_frames: tuple[int, ...]) -> None:
        self.playhead, self.clip_frames = int(frame), tuple(clip_frames)
        self.update()

    def label(self) -> str:
        """``frame 12 / 299 · 0:00.48 / 0:12.00`` (what the timeline writes)."""
        if self.n_frames == 0:
            return "no video"
        last = self.n_frames - 1
        time_of = self.video.time_of if self.video is not None else float
        return f"frame {self.playhead} / {last}  ·  {format_time(time_of(self.playhead))} / {format_time(time_of(last))}"

    # -- geometry -------------------------------------------------------------------------
    def _track(self) -> QRectF:
        return QRectF(self.MARGIN, 28, self.width() - 2 * self.MARGIN, 14)

    def x_of(self, frame: float) -> float:
        track = self._track()
        span = max(1, self.n_frames - 1)
        return track.left() + track.width() * frame / span

    def frame_at(self, x: float) -> int:
        track = self._track()
        if self.n_frames <= 1 or track.width() <= 0:
            return 0
        pos = (x - track.left()) / track.width()
        return int(round(min(1.0, max(0.0, pos)) * (self.n_frames - 1)))

    # -- events ---------------------------------------------------------------------------
    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton and self.n_frames:
            self.scrubbed.emit(self.frame_at(event.position().x()))

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if event.buttons() & Qt.MouseButton.LeftButton and self.n_frames:
            self.scrubbed.emit(self.frame_at(event.position().x()))

    def paintEvent(self, event: QPaintEvent) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        p.fillRect(self.rect(), QColor(theme.PANEL))
        font = QFont(self.font())
        font.setPointSizeF(9.5)
        p.setFont(font)
        p.setPen(QColor(theme.TEXT))
        p.drawText(QRectF(self.MARGIN, 4, self.width() - 2 * self.MARGIN, 20), Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, self.label())
        if self.clip_frames:
            p.setPen(QColor(theme.MUTED))
            first, last = self.clip_frames[0], self.clip_frames[-1]
            stride = self.clip_frames[1] - first if len(self.clip_frames) > 1 else 1
            p.drawText(
                QRectF(self.MARGIN, 4, self.width() - 2 * self.MARGIN, 20),
                Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                f"clip: frames {first}–{last}, {len(self.clip_frames)} frames, stride {stride}",
            )
        track = self._track()
        p.fillRect(track, QColor("#3a3d42"))
        if self.n_frames:
            if self.clip_frames:
                x0 = self.x_of(self.clip_frames[0])
                x1 = max(self.x_of(self.clip_frames[-1]), x0 + 3)
                clip_colour = QColor(theme.ACCENT)
                clip_colour.setAlpha(90)
                p.fillRect(QRectF(x0, track.top() - 3, x1 - x0, track.height() + 6), clip_colour)
                tick = QColor(theme.ACCENT)
                p.setPen(QPen(tick, 1))
                if (x1 - x0) / max(1, len(self.clip_frames)) >= 2:
                    for f in self.clip_frames:
                        x = self.x_of(f)
                        p.drawLine(int(x), int(track.bottom() + 3), int(x), int(track.bottom() + 7))
            # second ticks, at the frame shown at each second (uneven for a variable frame rate)
            p.setPen(QPen(QColor(theme.MUTED), 1))
            if self.video is not None:
                seconds = int(self.video.time_of(self.n_frames - 1))
                every = max(1, seconds // 20)
                for s in range(0, seconds + 1, every):
                    x = self.x_of(self.video.frame_at(s))
                    p.drawLine(int(x), int(track.top()), int(x), int(track.top() + 3))
            x = self.x_of(self.playhead)
            p.setPen(QPen(QColor("#ffffff"), 2))
            p.drawLine(int(x), int(track.top() - 6), int(x), int(track.bottom() + 6))
        p.end()
