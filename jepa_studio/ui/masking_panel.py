"""Masking in the studio window: paint a mask on the frame pane, see what the encoder recovers.

:class:`MaskingController` wires the Qt-free pieces into :class:`~jepa_studio.ui.main_window.MainWindow`:

- a **Mask mode** (Mask menu, toolbar, ``M``): the :class:`~jepa_studio.ui.mask_painter.MaskPainter`
  on the frame pane edits a :class:`~jepa_studio.state.mask.MaskDocument` (brush, eraser,
  rectangle, ``[`` / ``]``, invert, clear, Ctrl+Z / Ctrl+Shift+Z), with the chosen encoder's
  token grid drawn while painting; presets; the whole clip or chosen time steps;
- **masked-prediction panes** (:class:`MaskedPane`): the PCA of the full encoding, context +
  predicted through the same basis, and the cosine error map with the mean score written on
  it; V-JEPA 2's leaky variant beside them (labelled), inpainting for encoders without a
  predictor; computed by :class:`~jepa_studio.engine.masking.MaskingEngine` on the GPU lane
  after each stroke ends (latest wins), never on the GUI thread;
- **files**: load and save the mask (PNG), the mask kept with the session (a PNG per video
  beside the settings file), and export of the comparison (image or video) through the
  same functions as ``jepa-studio mask``.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import TYPE_CHECKING, Callable

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QObject, QRectF, Qt, QTimer
from PySide6.QtGui import QAction, QActionGroup, QColor, QKeySequence, QPainterPath, QPen
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDockWidget,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGraphicsPathItem,
    QGridLayout,
    QGroupBox,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSpinBox,
    QToolBar,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ..analysis.inpaint import FILLS
from ..analysis.masking import PixelMask, TokenGrid, preset_mask
from ..encoders.base import group_frame_indices
from ..engine.masking import MaskedView, MaskError, MaskGridReady, MaskingEngine
from ..state.requests import MaskRequest
from ..engine.messages import Progress
from ..errors import JepaStudioError
from ..state.mask import MaskDocument
from . import theme
from .mask_painter import MaskPainter
from .panes import Pane, _wrap, short_label

if TYPE_CHECKING:
    from .main_window import MainWindow

MASK_FILTER = "Mask PNG (*.png);;All files (*)"
EXPORT_FILTER = "PNG image (*.png);;MP4 video (*.mp4);;GIF (*.gif)"
TOOL_LABELS = {"brush": "Brush", "eraser": "Eraser", "rectangle": "Rectangle"}
PRESET_LABELS = {"centre": "Centre block", "tubes": "Random tubes", "future": "Future steps"}


def _fmt(value: float) -> str:
    return "–" if value != value else f"{value:.3f}"  # NaN -> dash


class MaskedPane(Pane):
    """One masked-prediction pane: a map at token resolution over the encoder's crop box,
    an optional outline of the hidden tokens, and an optional score box (screen-sized text).

    ``role`` is ``"full"``, ``"predicted"`` or ``"error"``; ``variant`` 0 (true masking or
    inpainting) or 1 (leaky).
    """

    def __init__(self, role: str, variant: int = 0) -> None:
        super().__init__(f"masked-{role}-{variant}", "")
        self.role, self.variant = role, variant
        self.frame_item.setVisible(False)
        self.map_item = pg.ImageItem()
        self.map_item.setZValue(10)
        self.view_box.addItem(self.map_item)
        self.outline = QGraphicsPathItem()
        pen = QPen(QColor(255, 255, 255, 200))
        pen.setCosmetic(True)
        pen.setWidthF(1.2)
        pen.setStyle(Qt.PenStyle.DashLine)
        self.outline.setPen(pen)
        self.outline.setZValue(15)
        self.view_box.addItem(self.outline, ignoreBounds=True)
        self.score_item = pg.TextItem("", anchor=(0, 0), fill=pg.mkBrush(0, 0, 0, 190))
        self.score_item.setZValue(25)
        self.view_box.addItem(self.score_item, ignoreBounds=True)
        self.score_text = ""
        self.image: np.ndarray | None = None
        self.set_note("paint a mask on the frame")

    def clear_map(self, note: str = "", colour: str = theme.MUTED) -> None:
        self.image = None
        self.map_item.clear()
        self.outline.setPath(QPainterPath())
        self.set_score("")
        self.set_note(note, colour)

    def set_frame_size(self, size: tuple[int, int]) -> None:
        """Centre the note in a frame of (width, height) and let the pane fit it."""
        w, h = size
        self.frame_size = (w, h)
        self.note_item.setPos(w / 2, h / 2)

    def set_score(self, text: str, at: tuple[float, float] = (0.0, 0.0), warn: bool = False) -> None:
        """The score box at source pixel ``at`` ("" hides it)."""
        self.score_text = text
        self.score_item.setVisible(bool(text))
        colour = theme.WARN if warn else "#ffffff"
        html = "<br>".join(text.split("\n"))
        self.score_item.setHtml(f'<div style="color:{colour}; font-size:8.5pt">{html}</div>')
        self.score_item.setPos(*at)

    def show_map(self, image: np.ndarray, crop_box: tuple[int, int, int, int]) -> None:
        """uint8 [h, w, 3] at token resolution, laid over ``crop_box`` of the source frame."""
        self.image = image
        self.map_item.setImage(image, autoLevels=False)
        x0, y0, x1, y1 = crop_box
        self.map_item.setRect(QRectF(x0, y0, x1 - x0, y1 - y0))
        self.set_note("")

    def show_outline(self, hidden: np.ndarray | None, crop_box: tuple[int, int, int, int]) -> None:
        """Outline the hidden tokens (bool [h, w]) in source pixels; None clears it."""
        path = QPainterPath()
        if hidden is not None and hidden.any():
            h, w = hidden.shape
            x0, y0, x1, y1 = crop_box
            sx, sy = (x1 - x0) / w, (y1 - y0) / h
            padded = np.pad(hidden, 1)
            for r, c in zip(*np.nonzero(hidden)):
                px, py = x0 + c * sx, y0 + r * sy
                if not padded[r, c + 1]:  # above
                    path.moveTo(px, py)
                    path.lineTo(px + sx, py)
                if not padded[r + 2, c + 1]:  # below
                    path.moveTo(px, py + sy)
                    path.lineTo(px + sx, py + sy)
                if not padded[r + 1, c]:  # left
                    path.moveTo(px, py)
                    path.lineTo(px, py + sy)
                if not padded[r + 1, c + 2]:  # right
                    path.moveTo(px + sx, py)
                    path.lineTo(px + sx, py + sy)
        self.outline.setPath(path)


class MaskingPanel(QWidget):
    """The Masking dock: tools, time steps, presets, encoder and variant settings, scores, export."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.setSpacing(10)

        self.mode = QPushButton("Paint mask (M)")
        self.mode.setCheckable(True)
        layout.addWidget(self.mode)

        tools = QGroupBox("Paint")
        grid = QGridLayout(tools)
        self.tool_buttons: dict[str, QToolButton] = {}
        for i, (key, text) in enumerate(TOOL_LABELS.items()):
            b = QToolButton()
            b.setCheckable(True)
            b.setAutoExclusive(True)
            b.setText(text)
            b.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
            b.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
            grid.addWidget(b, 0, i)
            self.tool_buttons[key] = b
        self.tool_buttons["brush"].setChecked(True)
        grid.addWidget(QLabel("Brush"), 1, 0)
        self.brush = QSpinBox()
        self.brush.setRange(1, 512)
        self.brush.setSuffix(" px")
        self.brush.setToolTip("brush diameter in source pixels ([ smaller, ] larger)")
        grid.addWidget(self.brush, 1, 1, 1, 2)
        self.undo, self.redo = QPushButton("Undo"), QPushButton("Redo")
        self.invert, self.clear = QPushButton("Invert"), QPushButton("Clear")
        for i, b in enumerate((self.undo, self.redo, self.invert)):
            grid.addWidget(b, 2, i)
        grid.addWidget(self.clear, 3, 0)
        hint = QLabel("Shift+drag erases")
        hint.setStyleSheet(f"color: {theme.MUTED};")
        grid.addWidget(hint, 3, 1, 1, 2)
        layout.addWidget(tools)

        steps = QGroupBox("Applies to")
        form = QVBoxLayout(steps)
        self.applies = QComboBox()
        self.applies.addItem("the whole clip", "all")
        self.applies.addItem("chosen time steps", "steps")
        form.addWidget(self.applies)
        self.steps = QListWidget()
        self.steps.setMaximumHeight(96)
        form.addWidget(self.steps)
        self.this_step = QPushButton("Only the step under the playhead")
        form.addWidget(self.this_step)
        layout.addWidget(steps)

        presets = QGroupBox("Presets")
        row = QGridLayout(presets)
        self.preset_buttons: dict[str, QPushButton] = {}
        for i, (key, text) in enumerate(PRESET_LABELS.items()):
            b = QPushButton(text)
            self.preset_buttons[key] = b
            row.addWidget(b, i // 2, i % 2)
        self.future_k = QSpinBox()
        self.future_k.setRange(1, 64)
        self.future_k.setPrefix("k = ")
        self.future_k.setToolTip("the future preset hides the last k time steps")
        row.addWidget(self.future_k, 1, 1)
        layout.addWidget(presets)

        prediction = QGroupBox("Prediction")
        form2 = QFormLayout(prediction)
        self.encoder = QComboBox()
        self.encoder.setToolTip("the encoder whose prediction the masked panes show (and whose token grid is drawn)")
        form2.addRow("Encoder", self.encoder)
        self.leaky = QCheckBox("Leaky variant beside it (V-JEPA 2)")
        self.leaky.setToolTip("also mask after a full encoder pass, as transformers' VJEPA2Model.forward does")
        form2.addRow(self.leaky)
        self.fill = QComboBox()
        for f in FILLS:
            self.fill.addItem(f, f)
        self.fill.setToolTip("encoders without a predictor (DINO, pixels): how hidden pixels are filled before re-encoding")
        form2.addRow("Fill", self.fill)
        self.threshold = QDoubleSpinBox()
        self.threshold.setRange(0.0, 0.95)
        self.threshold.setSingleStep(0.05)
        self.threshold.setToolTip("hide a token when more than this fraction of its pixels is masked (0: any)")
        form2.addRow("Token threshold", self.threshold)
        layout.addWidget(prediction)

        self.busy = QProgressBar()
        self.busy.setRange(0, 0)
        self.busy.setTextVisible(False)
        self.busy.setMaximumHeight(6)
        self.busy.hide()
        layout.addWidget(self.busy)
        self.status = QLabel("Turn on mask mode and paint on the frame.")
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.status)
        self.export = QPushButton("Export masked prediction…")
        layout.addWidget(self.export)
        layout.addStretch(1)


class MaskingController(QObject):
    """Masking in a :class:`MainWindow` (see the module docstring). Create it once the window
    has its panes, menus and engine; call :meth:`save_state` when the window closes."""

    def __init__(self, window: "MainWindow") -> None:
        super().__init__(window)
        self.window = window
        self.session = window.session
        self.store = window.store
        self.masking = MaskingEngine(window.engine, window.bridge.deliver)
        self.document = MaskDocument(1, 1)
        self._unsubscribe_doc: Callable[[], None] | None = None
        self.painter = MaskPainter(window.frame_pane.view_box, window.frame_pane.frame_item, self.document, self)
        self.painter.set_overlay_visible(False)
        self.view: MaskedView | None = None
        self.grid: TokenGrid | None = None
        self._tubelet = 2
        self._latest = 0
        self._request_frames: tuple[int, ...] = ()
        self._request_channels: tuple[int, ...] = tuple(self.session.view.channels)
        self._video_path: Path | None = None
        self._updating = False
        self.last_error = ""
        #: ``() -> Path | None`` for each dialog (tests replace them)
        self.ask_export_path: Callable[[], Path | None] = self._ask_export_path
        self.ask_open_mask_path: Callable[[], Path | None] = self._ask_open_mask_path
        self.ask_save_mask_path: Callable[[], Path | None] = self._ask_save_mask_path

        self.panes = {
            "full": MaskedPane("full"),
            "predicted": MaskedPane("predicted"),
            "error": MaskedPane("error"),
            "leaky_predicted": MaskedPane("predicted", 1),
            "leaky_error": MaskedPane("error", 1),
        }
        self._shown: list[MaskedPane] = []
        #: ``listener(on)`` called after mask mode turns on or off (other features' panes)
        self.mode_listeners: list[Callable[[bool], None]] = []
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(30)  # coalesces the events of one command (a preset, a load)
        self._timer.timeout.connect(self.request)
        self._autosave = QTimer(self)
        self._autosave.setSingleShot(True)
        self._autosave.setInterval(1500)
        self._autosave.timeout.connect(self.autosave)

        self._build_panel()
        self._build_actions()
        self._restore_settings()
        self._set_document(MaskDocument(1, 1))
        window.bridge.delivered.connect(self._on_message)
        self.session.subscribe(self._on_state)
        self._refresh_encoders()

    # -- building -------------------------------------------------------------------------
    def _build_panel(self) -> None:
        w = self.window
        self.panel = MaskingPanel()
        dock = QDockWidget("Masking", w)
        dock.setObjectName("maskingDock")
        scroll = QScrollArea()  # the dock never forces the window taller than the screen
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setWidget(self.panel)
        scroll.setMaximumWidth(320)
        dock.setWidget(scroll)
        self.panel.setMaximumWidth(320)
        dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable | QDockWidget.DockWidgetFeature.DockWidgetClosable)
        w.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
        w.tabifyDockWidget(w.settings_dock, dock)
        w.settings_dock.raise_()
        self.dock = dock
        p = self.panel
        p.mode.toggled.connect(self.set_mode)
        for key, button in p.tool_buttons.items():
            button.toggled.connect(lambda on, k=key: on and self.set_tool(k))
        p.brush.valueChanged.connect(lambda v: self._updating or self.document.set_brush_size(float(v)))
        p.undo.clicked.connect(lambda: self.document.undo())
        p.redo.clicked.connect(lambda: self.document.redo())
        p.invert.clicked.connect(lambda: self.document.invert())
        p.clear.clicked.connect(lambda: self.document.clear())
        p.applies.currentIndexChanged.connect(self._commit_steps)
        p.steps.itemChanged.connect(lambda _item: self._commit_steps())
        p.this_step.clicked.connect(self.only_current_step)
        for key, button in p.preset_buttons.items():
            button.clicked.connect(lambda _c=False, k=key: self.apply_preset(k))
        p.encoder.currentIndexChanged.connect(self._on_settings_changed)
        p.leaky.toggled.connect(self._on_settings_changed)
        p.fill.currentIndexChanged.connect(self._on_settings_changed)
        p.threshold.valueChanged.connect(self._on_settings_changed)
        p.export.clicked.connect(self.export)

    def _build_actions(self) -> None:
        w = self.window
        menu = w.menuBar().addMenu("&Mask")
        self.menu = menu

        def action(text: str, slot: Callable[[], object], shortcut: str | QKeySequence | None = None) -> QAction:
            act = QAction(text, w)
            if shortcut is not None:
                act.setShortcut(shortcut if isinstance(shortcut, QKeySequence) else QKeySequence(shortcut))
            act.triggered.connect(lambda _c=False: slot())
            menu.addAction(act)
            return act

        self.mode_action = action("&Mask mode (paint on the frame)", lambda: None, "M")
        self.mode_action.setCheckable(True)
        self.mode_action.toggled.connect(self.set_mode)
        menu.addSeparator()
        self.tool_actions = QActionGroup(w)
        for key, text in TOOL_LABELS.items():
            act = action(text, lambda k=key: self.set_tool(k))
            act.setCheckable(True)
            act.setData(key)
            act.setChecked(key == "brush")
            self.tool_actions.addAction(act)
        action("Smaller brush", lambda: self.document.shrink_brush(), "[")
        action("Larger brush", lambda: self.document.grow_brush(), "]")
        menu.addSeparator()
        self.undo_action = action("&Undo", lambda: self.document.undo(), QKeySequence("Ctrl+Z"))
        self.redo_action = action("&Redo", lambda: self.document.redo(), QKeySequence("Ctrl+Shift+Z"))
        action("&Invert", lambda: self.document.invert(), "I")
        action("&Clear", lambda: self.document.clear())
        presets = menu.addMenu("&Presets")
        for key, text in PRESET_LABELS.items():
            act = QAction(text, w)
            act.triggered.connect(lambda _c=False, k=key: self.apply_preset(k))
            presets.addAction(act)
        menu.addSeparator()
        self.leaky_action = action("Show the &leaky variant", lambda: None)
        self.leaky_action.setCheckable(True)
        self.leaky_action.toggled.connect(self.panel.leaky.setChecked)
        self.panel.leaky.toggled.connect(self.leaky_action.setChecked)
        menu.addAction(self.dock.toggleViewAction())

        # File menu: before its last separator (Quit)
        file_menu = w.file_menu
        quit_action = [a for a in file_menu.actions() if not a.isSeparator()][-1]
        self.load_action = QAction("&Load mask…", w)
        self.load_action.triggered.connect(lambda _c=False: self.load_mask())
        self.save_action = QAction("Save mas&k…", w)
        self.save_action.triggered.connect(lambda _c=False: self.save_mask())
        self.export_action = QAction("Export &masked prediction…", w)
        self.export_action.setShortcut(QKeySequence("Ctrl+Shift+E"))
        self.export_action.triggered.connect(lambda _c=False: self.export())
        for act in (self.load_action, self.save_action, self.export_action):
            file_menu.insertAction(quit_action, act)
        file_menu.insertSeparator(quit_action)

        bar = QToolBar("Mask", w)
        bar.setObjectName("maskToolbar")
        bar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        bar.addAction(self.mode_action)
        self.mode_action.setIconText("Mask (M)")
        bar.addSeparator()
        for act in self.tool_actions.actions():
            bar.addAction(act)
        bar.addSeparator()
        bar.addAction(self.undo_action)
        bar.addAction(self.redo_action)
        w.addToolBar(Qt.ToolBarArea.TopToolBarArea, bar)
        self.toolbar = bar

    # -- settings -------------------------------------------------------------------------
    def _restore_settings(self) -> None:
        s = self.store
        p = self.panel
        self._updating = True
        try:
            p.leaky.setChecked(str(s.value("mask/leaky", "true")).lower() == "true")
            fill = str(s.value("mask/fill", "blur") or "blur")
            p.fill.setCurrentIndex(max(0, p.fill.findData(fill)))
            p.threshold.setValue(float(s.value("mask/threshold", 0.0) or 0.0))
            p.future_k.setValue(int(s.value("mask/future_steps", 1) or 1))
        finally:
            self._updating = False

    def _save_settings(self) -> None:
        s, p = self.store, self.panel
        s.set_value("mask/leaky", "true" if p.leaky.isChecked() else "false")
        s.set_value("mask/fill", p.fill.currentData())
        s.set_value("mask/threshold", float(p.threshold.value()))
        s.set_value("mask/future_steps", int(p.future_k.value()))
        if p.encoder.currentData():
            s.set_value("mask/encoder", p.encoder.currentData())

    def masks_folder(self) -> Path | None:
        """Where the mask of each video is kept between runs: beside the settings file."""
        qsettings = getattr(self.store, "qsettings", None)
        name = qsettings.fileName() if qsettings is not None else ""
        return Path(name).parent / "jepa-studio-masks" if name else None

    def autosave_path(self, video: Path | None = None) -> Path | None:
        """The PNG that keeps ``video``'s mask with the session (None without a settings file)."""
        video = video or self._video_path
        folder = self.masks_folder()
        if video is None or folder is None:
            return None
        digest = hashlib.sha1(str(Path(video).resolve()).encode()).hexdigest()[:16]
        return folder / f"{digest}.png"

    def autosave(self) -> None:
        """Keep the current mask with the session (the PNG beside the settings)."""
        self._autosave.stop()
        path = self.autosave_path()
        if path is None or self.document.size == (1, 1):
            return
        try:
            if self.document.empty and self.document.frames is None:
                path.unlink(missing_ok=True)
                return
            path.parent.mkdir(parents=True, exist_ok=True)
            self.document.save_png(path)
        except (OSError, JepaStudioError):
            pass  # keeping the mask is a convenience; never an error for the user

    def save_state(self) -> None:
        """The window closes: keep the mask and the masking settings."""
        self.autosave()
        self._save_settings()
        self.store.set_value("mask/mode", "true" if self.mode else "false")

    # -- document -------------------------------------------------------------------------
    def _set_document(self, document: MaskDocument) -> None:
        if self._unsubscribe_doc is not None:
            self._unsubscribe_doc()
        self.document = document
        self._unsubscribe_doc = document.subscribe(self._on_document)
        self.painter.set_document(document)
        self._updating = True
        try:
            self.panel.brush.setValue(int(round(document.brush_size)))
        finally:
            self._updating = False
        self._sync_history()
        self._refresh_steps()

    def _on_document(self, name: str, value: object) -> None:
        if name == "mask":
            self._sync_history()
            self._refresh_steps()
            self._autosave.start()
            if not self.document.painting:  # a command, undo or redo: recompute now
                self.schedule()
        elif name == "stroke_end":
            if value:
                self.schedule()  # a stroke ended: recompute once, not on every move
        elif name == "brush_size":
            self._updating = True
            try:
                self.panel.brush.setValue(int(round(float(value))))  # type: ignore[arg-type]
            finally:
                self._updating = False

    def _sync_history(self) -> None:
        doc = self.document
        for widget, ok in ((self.panel.undo, doc.can_undo), (self.undo_action, doc.can_undo),
                           (self.panel.redo, doc.can_redo), (self.redo_action, doc.can_redo)):
            widget.setEnabled(ok)

    # -- mode, tools, presets, steps --------------------------------------------------------
    @property
    def mode(self) -> bool:
        """True while mask mode is on (painting, masked panes shown)."""
        return self.mode_action.isChecked()

    def set_mode(self, on: bool) -> None:
        """Turn mask mode on (painter, token grid, masked panes) or off."""
        on = bool(on)
        for widget in (self.mode_action, self.panel.mode):
            if widget.isChecked() != on:
                widget.blockSignals(True)
                widget.setChecked(on)
                widget.blockSignals(False)
        self.painter.set_enabled(on)
        self.painter.set_overlay_visible(on)
        if on:
            self.dock.show()
            self.dock.raise_()
            self._sync_panes()
            self.schedule()
        else:
            for pane in self._shown:
                self.window.remove_pane(pane)
            self._shown = []
            self.panel.busy.hide()
        for listener in list(self.mode_listeners):
            listener(on)

    def set_tool(self, tool: str) -> None:
        self.painter.set_tool(tool)
        for act in self.tool_actions.actions():
            if act.data() == tool and not act.isChecked():
                act.setChecked(True)
        button = self.panel.tool_buttons[tool]
        if not button.isChecked():
            button.setChecked(True)

    def clip_steps(self) -> tuple[tuple[int, ...], ...]:
        """The time steps of the clip around the playhead (source frames each covers)."""
        if self.grid is not None and self._request_frames == self.session.clip_frames():
            return self.grid.frame_indices
        return group_frame_indices(self.session.clip_frames(), self._tubelet)

    def apply_preset(self, name: str) -> None:
        """Replace the mask with a preset (one undo step) and turn mask mode on."""
        if self.session.video is None:
            self.window.show_error("Open a video before choosing a preset mask.")
            return
        frames = self.session.clip_frames()
        try:
            mask = preset_mask(
                name, self.document.size, frames, future_steps=int(self.panel.future_k.value()),
                tubelet_size=self._tubelet,
            )
        except JepaStudioError as error:
            self.window.show_error(str(error))
            return
        self.document.set_mask(mask.pixels, mask.frames)
        self.set_mode(True)

    def only_current_step(self) -> None:
        """Apply the mask to the time step under the playhead only."""
        for covered in self.clip_steps():
            if self.session.playhead in covered:
                self.document.set_frames(covered)
                return

    def _refresh_steps(self) -> None:
        p = self.panel
        self._updating = True
        try:
            frames = self.document.frames
            p.applies.setCurrentIndex(0 if frames is None else 1)
            p.steps.clear()
            for i, covered in enumerate(self.clip_steps()):
                span = f"frame {covered[0]}" if len(covered) == 1 else f"frames {covered[0]}–{covered[-1]}"
                item = QListWidgetItem(f"step {i + 1} · {span}")
                item.setData(Qt.ItemDataRole.UserRole, tuple(covered))
                item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
                checked = frames is None or any(f in frames for f in covered)
                item.setCheckState(Qt.CheckState.Checked if checked else Qt.CheckState.Unchecked)
                p.steps.addItem(item)
            p.steps.setEnabled(frames is not None)
        finally:
            self._updating = False

    def _commit_steps(self) -> None:
        if self._updating:
            return
        p = self.panel
        if p.applies.currentData() == "all":
            self.document.set_frames(None)
            return
        chosen: set[int] = set()
        for i in range(p.steps.count()):
            item = p.steps.item(i)
            if item.checkState() == Qt.CheckState.Checked:
                chosen.update(item.data(Qt.ItemDataRole.UserRole))
        self.document.set_frames(chosen)

    # -- encoders and settings ------------------------------------------------------------
    def _refresh_encoders(self) -> None:
        combo = self.panel.encoder
        current = combo.currentData() or self.store.value("mask/encoder")
        names = list(self.session.encoders)
        self._updating = True
        try:
            combo.clear()
            for name in names:
                combo.addItem(Path(name).name if "/" in name and Path(name).exists() else name, name)
            if current in names:
                combo.setCurrentIndex(names.index(current))
            else:
                preferred = [i for i, n in enumerate(names) if "vjepa" in n.lower()]
                combo.setCurrentIndex(preferred[0] if preferred else 0)
        finally:
            self._updating = False

    @property
    def encoder(self) -> str | None:
        """The encoder whose masked prediction is shown."""
        return self.panel.encoder.currentData()

    def _on_settings_changed(self, *_args: object) -> None:
        if self._updating:
            return
        self._save_settings()
        self.grid = None
        if self.mode:
            self._sync_panes()
            self.schedule()

    # -- requests -------------------------------------------------------------------------
    def schedule(self) -> None:
        """Recompute soon (coalesces the events of one command)."""
        if self.mode:
            self._timer.start()

    def current_request(self) -> MaskRequest | None:
        s = self.session
        if s.video is None or not self.encoder or self.document.size != (s.video.size[1], s.video.size[0]):
            return None
        p = self.panel
        return MaskRequest(
            video_key=self.window.engine.video_key,
            frames=s.clip_frames(),
            encoder=self.encoder,
            mask=self.document.to_pixel_mask(),
            device=s.device,
            resolution=s.resolution,
            fill=str(p.fill.currentData()),
            threshold=float(p.threshold.value()),
            leaky=p.leaky.isChecked(),
            channels=s.view.channels,
        )

    def request(self) -> int | None:
        """Ask the engine for the masked panes of the current mask and clip (never blocks)."""
        self._timer.stop()
        if not self.mode:
            return None
        req = self.current_request()
        if req is None:
            return None
        rid, view = self.masking.request(req)
        self._latest = rid
        self._request_frames = req.frames
        self._request_channels = tuple(req.channels)
        if view is not None:
            self._show(view)
        else:
            self.panel.busy.show()
            self.panel.status.setText("computing the masked prediction…")
            if self.view is None:
                for pane in self._shown:
                    pane.set_note("computing…")
        return rid

    # -- results (GUI thread) ---------------------------------------------------------------
    def _on_message(self, message: object) -> None:
        if self.window._closed:
            return
        if isinstance(message, MaskGridReady):
            if message.request == self._latest:
                self.grid = message.grid
                self._tubelet = message.tubelet_size
                self.painter.set_token_grid(message.grid)
                self._refresh_steps()
        elif isinstance(message, MaskedView):
            if message.request == self._latest:
                self._show(message)
        elif isinstance(message, Progress) and message.text == "cancelled":
            if self.panel.busy.isVisible():  # the status bar's Cancel stopped the prediction
                self.panel.busy.hide()
                self.panel.status.setText("cancelled: paint, or change a setting, to compute again")
        elif isinstance(message, MaskError):
            if message.request == self._latest:
                self.panel.busy.hide()
                self.last_error = message.message
                self.panel.status.setText(f'<span style="color:{theme.ERROR}">{message.message}</span>')
                for pane in self._shown:
                    pane.clear_map(_wrap(message.message, 44) if pane.role == "error" else "", theme.ERROR)
                self.window.show_error(f"Masked prediction with {message.encoder} failed: {message.message}")

    def _show(self, view: MaskedView) -> None:
        self.view = view
        self.last_error = ""
        self.panel.busy.hide()
        self.grid = view.grid
        self._tubelet = view.tubelet_size
        self.painter.set_token_grid(view.grid)
        self._sync_panes()
        self._refresh_steps()
        self.show_step()

    def _sync_panes(self) -> None:
        """Show the panes the current encoder and settings call for."""
        if not self.mode:
            return
        keys = ["full", "predicted", "error"]
        n = len(self.view.variants) if self.view is not None and self.view.encoder == self.encoder else None
        if (n is None and self.panel.leaky.isChecked()) or (n is not None and n > 1):
            keys += ["leaky_predicted", "leaky_error"]
        wanted = [self.panes[k] for k in keys]
        if wanted == self._shown:
            return
        for pane in self._shown:
            if pane not in wanted:
                self.window.remove_pane(pane)
        for pane in wanted:
            if pane not in self._shown:
                if self.session.video is not None:
                    pane.set_frame_size(self.session.video.size)
                self.window.add_pane(pane)
        self._shown = wanted

    def show_step(self) -> None:
        """Show the playhead's time step of the current view (no computation)."""
        view = self.view
        if view is None or not self.mode:
            return
        t = view.time_step(self.session.playhead)
        p = self.panes
        if t is None:
            return
        covered = view.frame_indices[t]
        span = f"frame {covered[0]}" if len(covered) == 1 else f"frames {covered[0]}–{covered[-1]}"
        where = f"{span} ({t + 1}/{len(view.frame_indices)})"
        short = short_label(view.label)
        label = short if "random" not in view.label else f'<span style="color:{theme.WARN}">{short}</span>'
        p["full"].set_title(f"{label}: full encoding", f"layer-normed PCA · {where}")
        if not view.variants:
            for pane in self._shown:
                pane.clear_map(view.note if pane.role == "predicted" else "")
            self.panel.status.setText(view.note)
            return
        x0, y0 = view.crop_box[:2]
        p["full"].show_map(view.full[t], view.crop_box)
        p["full"].show_outline(view.hidden[t], view.crop_box)
        lines = []
        for i, variant in enumerate(view.variants):
            pred, err = (p["predicted"], p["error"]) if i == 0 else (p["leaky_predicted"], p["leaky_error"])
            if variant.leaky:
                name = f'<span style="color:{theme.WARN}">LEAKY</span>: context + predicted'
                note = "mask applied after a full encoder pass: the context saw the hidden region"
            elif view.method == "predictor":
                name, note = "context + predicted", "true masking: hidden tokens never reach the encoder"
            else:
                name = f"context + re-encoded ({variant.variant})"
                if view.encoder.startswith("pixels"):
                    note = "pixel baseline, no predictor: the score measures the fill itself"
                else:
                    note = "no predictor: hidden pixels filled, frames re-encoded"
            pred.set_title(name, note)
            pred.show_map(variant.predicted[t], view.crop_box)
            pred.show_outline(view.hidden[t], view.crop_box)
            cos, l1, n = variant.step_scores(t)
            tag = "LEAKY " if variant.leaky else ""
            err.set_title(
                f"{tag}recovery: cos {_fmt(variant.mean_cosine)} · L1 {_fmt(variant.mean_l1)}",
                f"{variant.n_hidden} hidden tokens ({n} here) · cosine 0 → 1, grey: context",
            )
            err.show_map(variant.error[t], view.crop_box)
            score = f"cos {_fmt(variant.mean_cosine)}  L1 {_fmt(variant.mean_l1)}\nthis step: cos {_fmt(cos)}"
            if variant.leaky:
                score = "LEAKY " + score
            err.set_score(score, (x0, y0), warn=variant.leaky)
            lines.append(f"<b>{'LEAKY' if variant.leaky else variant.variant}</b>: {variant.summary}")
        self.panel.status.setText("<br>".join(lines))

    # -- state changes --------------------------------------------------------------------
    def _on_state(self, name: str, value: object) -> None:
        if name == "video":
            self._on_video(value)
        elif name == "playhead":
            if self.view is not None and self.session.clip_frames() == self._request_frames:
                self.show_step()
            else:
                self._refresh_steps()
                self.schedule()
        elif name == "encoders":
            self._refresh_encoders()
            self._on_settings_changed()
        elif name in ("clip", "resolution", "device"):
            self.grid = None
            self._refresh_steps()
            self.schedule()
        elif name == "view":
            if tuple(self.session.view.channels) != self._request_channels:
                self.schedule()  # the masked panes show the same components as the others

    def _on_video(self, meta: object) -> None:
        self.autosave()  # the previous video's mask
        self.view = None
        self.grid = None
        self.painter.set_token_grid(None)
        if meta is None:
            return
        width, height = meta.size  # type: ignore[attr-defined]
        self._video_path = Path(meta.path)  # type: ignore[attr-defined]
        brush = self.document.brush_size if self.document.size != (1, 1) else max(4.0, round(min(width, height) / 12))
        document = MaskDocument(height, width, brush_size=brush)
        path = self.autosave_path()
        if path is not None and path.exists():
            try:
                restored = MaskDocument.from_png(path, brush_size=brush)
                if restored.size == (height, width):
                    document = restored
            except JepaStudioError:
                pass
        self._set_document(document)
        for pane in self.panes.values():
            pane.set_frame_size((width, height))
            pane.clear_map("paint a mask on the frame")
        if str(self.store.value("mask/mode", "false")).lower() == "true" and not self.mode:
            self.set_mode(True)
        self.schedule()

    # -- files ----------------------------------------------------------------------------
    def _ask_open_mask_path(self) -> Path | None:
        start = str(self.store.value("mask/last_path", "") or "")
        path, _ = QFileDialog.getOpenFileName(self.window, "Load mask", start, MASK_FILTER)
        return Path(path) if path else None

    def _ask_save_mask_path(self) -> Path | None:
        start = str(self.store.value("mask/last_path", "") or "")
        if not start and self._video_path is not None:
            start = str(self._video_path.with_suffix(".mask.png"))
        path, _ = QFileDialog.getSaveFileName(self.window, "Save mask", start, MASK_FILTER)
        return Path(path) if path else None

    def _ask_export_path(self) -> Path | None:
        start = str(self._video_path.with_suffix(".masked.png")) if self._video_path else "masked.png"
        path, _ = QFileDialog.getSaveFileName(self.window, "Export masked prediction", start, EXPORT_FILTER)
        return Path(path) if path else None

    def load_mask(self, path: Path | None = None) -> bool:
        """Load a mask PNG (one undo step) and turn mask mode on; errors show in the window."""
        if self.session.video is None:
            self.window.show_error("Open a video before loading a mask.")
            return False
        path = path or self.ask_open_mask_path()
        if path is None:
            return False
        try:
            self.document.load_png(path)
        except JepaStudioError as error:
            self.window.show_error(str(error))
            return False
        self.store.set_value("mask/last_path", str(path))
        self.set_mode(True)
        return True

    def save_mask(self, path: Path | None = None) -> bool:
        """Save the mask as a PNG (white = hidden, the chosen frames in a text chunk)."""
        if self.session.video is None:
            self.window.show_error("Open a video and paint a mask before saving it.")
            return False
        path = path or self.ask_save_mask_path()
        if path is None:
            return False
        if not path.suffix:
            path = path.with_suffix(".png")
        try:
            self.document.save_png(path)
        except JepaStudioError as error:
            self.window.show_error(str(error))
            return False
        self.store.set_value("mask/last_path", str(path))
        self.window.statusBar().showMessage(f"saved the mask to {path}", 6000)
        return True

    def export(self, path: Path | None = None) -> int | None:
        """Export the masked-prediction comparison of the clip (PNG, JPEG, MP4, GIF) in the
        background, through the same functions as ``jepa-studio mask``."""
        req = self.current_request()
        if req is None:
            self.window.show_error("Open a video and choose an encoder before exporting a masked prediction.")
            return None
        if not req.mask.pixels.any():
            self.window.show_error("Paint a mask (or choose a preset) before exporting a masked prediction.")
            return None
        path = path or self.ask_export_path()
        if path is None:
            return None
        if not path.suffix:
            path = path.with_suffix(".png")
        self.window.stop()
        try:
            return self.masking.export(path, req)
        except JepaStudioError as error:
            self.window.show_error(str(error))
            return None


__all__ = ["MaskedPane", "MaskingController", "MaskingPanel", "PixelMask"]
