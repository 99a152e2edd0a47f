"""File > Export range…: choose START, STOP, STEP and the output file (its suffix picks the kind)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from ...export import IMAGE_SUFFIXES, VIDEO_SUFFIXES
from ...export.comparison import MAX_IMAGE_FRAMES
from ...state.session import VideoMeta
from ...video.timing import span_seconds, video_timing

EXPORT_FILTER = "MP4 video (*.mp4);;GIF (*.gif);;WebM video (*.webm);;PNG image (*.png);;JPEG image (*.jpg)"


@dataclass(frozen=True)
class ExportRange:
    """Frames ``range(start, stop, step)`` (stop excluded, as the CLI's ``--frames START:STOP:STEP``)
    written to ``path``: .png/.jpg give a labelled grid, .mp4/.gif/.webm a side-by-side video."""

    start: int
    stop: int
    step: int
    path: Path

    @property
    def frames(self) -> range:
        return range(int(self.start), int(self.stop), max(1, int(self.step)))


def parse_path(text: str) -> Path | None:
    """The file a typed path names (no suffix: .mp4), or None when it names no file
    (empty, a folder such as ``/`` or ``out/``)."""
    text = text.strip()
    if not text or text.endswith(("/", "\\")):
        return None
    path = Path(text).expanduser()
    if path.name in ("", ".", "..") or path.is_dir():
        return None
    return path if path.suffix else path.with_suffix(".mp4")


def problem(choice: ExportRange | None) -> str:
    """Why the dialog cannot export ``choice`` ("" when it can)."""
    if choice is None:
        return "type a file name to export to, e.g. comparison.mp4"
    if not choice.path.parent.is_dir():
        return f"the folder {choice.path.parent} does not exist"
    if choice.path.suffix.lower() not in IMAGE_SUFFIXES + VIDEO_SUFFIXES:
        return "choose a .mp4, .gif, .webm, .png or .jpg file"
    if len(choice.frames) == 0:
        return "the range selects no frame"
    if choice.path.suffix.lower() in IMAGE_SUFFIXES and len(choice.frames) > MAX_IMAGE_FRAMES:
        return f"an image holds at most {MAX_IMAGE_FRAMES} frames: take a larger step, or export a video"
    return ""


def describe(choice: ExportRange, video: VideoMeta) -> str:
    """One line saying what the export will hold (for the dialog's hint); a video lasts as
    long as its frames do in ``video`` (their timestamps, so a variable frame rate too)."""
    n = len(choice.frames)
    if n == 0:
        return "the range selects no frame"
    suffix = choice.path.suffix.lower()
    if suffix in IMAGE_SUFFIXES:
        text = f"{n} frames → one image, a column per frame"
        return text + (" (wide: a larger step gives fewer columns)" if n > 12 else "")
    if suffix in VIDEO_SUFFIXES:
        frames = list(choice.frames)
        rate, times = video_timing(video, frames)
        pace = f"at {rate:g} fps" if times is None or not video.variable_rate else f"at the video's own variable rate (~{rate:g} fps)"
        return f"{n} frames → a {suffix[1:]} video, {span_seconds(video, frames):.1f} s {pace}"
    return "choose a .mp4, .gif, .webm, .png or .jpg file"


class ExportRangeDialog(QDialog):
    """A small dialog returning an :class:`ExportRange` (see :meth:`choice`)."""

    def __init__(self, defaults: ExportRange, video: VideoMeta, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Export range")
        self.video = video
        n_frames = video.n_frames
        layout = QVBoxLayout(self)
        form = QFormLayout()
        self.start, self.stop, self.step = QSpinBox(), QSpinBox(), QSpinBox()
        self.start.setRange(0, max(0, n_frames - 1))
        self.stop.setRange(1, max(1, n_frames))
        self.step.setRange(1, max(1, n_frames))
        self.start.setToolTip("first frame")
        self.stop.setToolTip("the range ends before this frame (as --frames START:STOP:STEP)")
        self.step.setToolTip("every n-th frame")
        self.start.setValue(defaults.start)
        self.stop.setValue(defaults.stop)
        self.step.setValue(defaults.step)
        form.addRow("Start frame", self.start)
        form.addRow("Stop frame (excluded)", self.stop)
        form.addRow("Step", self.step)
        row = QHBoxLayout()
        self.path = QLineEdit(str(defaults.path))
        self.path.setToolTip("the suffix chooses the kind: .mp4/.gif/.webm video, .png/.jpg image")
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        row.addWidget(self.path, 1)
        row.addWidget(browse)
        form.addRow("Save to", row)
        layout.addLayout(form)
        self.hint = QLabel()
        self.hint.setStyleSheet("color: #8c8f94;")
        self.hint.setWordWrap(True)
        layout.addWidget(self.hint)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Export")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)
        for spin in (self.start, self.stop, self.step):
            spin.valueChanged.connect(self._update_hint)
        self.path.textChanged.connect(self._update_hint)
        self._update_hint()
        self.setMinimumWidth(460)

    def choice(self) -> ExportRange | None:
        """What the dialog shows now (a missing suffix becomes .mp4); None while the path
        names no file."""
        path = parse_path(self.path.text())
        if path is None:
            return None
        return ExportRange(self.start.value(), self.stop.value(), self.step.value(), path)

    def _update_hint(self) -> None:
        choice = self.choice()
        why = problem(choice)
        self.hint.setText(why or describe(choice, self.video))  # type: ignore[arg-type]
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(not why)

    def _browse(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export range to", self.path.text(), EXPORT_FILTER)
        if path:
            self.path.setText(path)


def ask_export_range(parent: QWidget, defaults: ExportRange, video: VideoMeta) -> ExportRange | None:
    """Show the dialog; the user's choice, or None when cancelled."""
    dialog = ExportRangeDialog(defaults, video, parent)
    if dialog.exec() != QDialog.DialogCode.Accepted:
        return None
    return dialog.choice()


__all__ = ["ExportRange", "ExportRangeDialog", "ask_export_range", "describe", "parse_path", "problem"]
