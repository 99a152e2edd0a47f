"""The studio window: a thin view over :class:`~jepa_studio.state.Session` and
:class:`~jepa_studio.engine.StudioEngine`.

The GUI thread only moves numbers and hands finished uint8 images to pyqtgraph; every
decode, model load, forward pass, PCA and export runs on the engine's worker threads, and
results come back through :class:`~jepa_studio.ui.bridge.EngineBridge`'s queued signal.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Callable

import numpy as np
from PySide6.QtCore import QMimeData, Qt, QTimer
from PySide6.QtGui import QAction, QActionGroup, QCloseEvent, QDragEnterEvent, QDropEvent, QKeySequence
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDockWidget,
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QMainWindow,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QStyle,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ..engine import (
    ErrorReport,
    FrameReady,
    PaneError,
    PaneImage,
    Progress,
    Status,
    StudioEngine,
    TaskDone,
    VideoOpened,
    make_request,
)
from ..state import AppSettings, Session, VideoMeta
from ..state.settings import SettingsStore
from .bridge import EngineBridge
from .controls import ControlPanel
from .export_dialog import ExportRange, ask_export_range
from .gui_gc import collect_on_gui_thread
from .panes import EncoderPane, FramePane, Pane, PaneGrid
from .qsettings_store import QSettingsStore
from .timeline import Timeline

DEFAULT_ENCODERS = ("pixels", "pixels-tubelet")
VIDEO_FILTER = "Videos (*.mp4 *.mov *.mkv *.webm *.avi *.m4v);;All files (*)"
SPEEDS = (0.25, 0.5, 1.0, 2.0, 4.0)
DEVICES = ("auto", "cpu", "cuda", "mps")


def _memory_text() -> str:
    """Resident memory of this process (and the CUDA allocator's, when there is one)."""
    text = ""
    try:
        with open("/proc/self/statm") as f:
            rss = int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        text = f"RAM {rss / 2**30:.1f} GiB"
    except (OSError, ValueError, IndexError, AttributeError):
        import resource

        text = f"RAM peak {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20:.1f} GiB"
    try:
        import torch

        if torch.cuda.is_available() and torch.cuda.is_initialized():
            text += f" · GPU {torch.cuda.memory_allocated() / 2**30:.1f} GiB"
    except Exception:  # noqa: BLE001 - the status bar never fails
        pass
    return text


def done_text(task: str, result: Path) -> str:
    """The status-bar line for a finished background task (what happened, and where)."""
    if task.startswith("saving world models"):
        return f"saved checkpoint to {result}"
    if task.startswith("writing the report"):
        return f"wrote report to {result}"
    if task.startswith("exporting"):
        return f"exported to {result}"
    return f"{task}: done ({result})"


class MessageBar(QFrame):
    """A dismissible error line at the top of the window (work is never lost behind it)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("messageBar")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 6, 6, 6)
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        close = QToolButton()
        close.setText("✕")
        close.setAutoRaise(True)
        close.clicked.connect(self.hide)
        layout.addWidget(self.label, 1)
        layout.addWidget(close)
        self.hide()

    def show_message(self, text: str) -> None:
        self.label.setText(text)
        self.show()

    def text(self) -> str:
        return self.label.text() if self.isVisible() else ""


class MainWindow(QMainWindow):
    """The JEPA Studio window.

    Parameters
    ----------
    settings:
        persistent settings (default: QSettings of the user); tests pass an ini-backed store.
    engine_factory:
        ``engine_factory(deliver) -> StudioEngine`` (tests and benchmarks inject options).
    """

    def __init__(
        self,
        settings: SettingsStore | None = None,
        engine_factory: Callable[[Callable[[object], None]], StudioEngine] | None = None,
    ) -> None:
        super().__init__()
        collect_on_gui_thread()  # workers must never delete Qt objects (see gui_gc)
        self.setWindowTitle("JEPA Studio")
        self.setAcceptDrops(True)
        self.store = settings if settings is not None else QSettingsStore()
        self.app_settings = AppSettings(self.store)
        self.session = Session(self.app_settings.encoders(DEFAULT_ENCODERS))
        self.session.device = self.app_settings.device()
        self.session.resolution = int(self.store.value("resolution", 0) or 0) or None
        self.bridge = EngineBridge(self)
        self.bridge.delivered.connect(self._on_message)
        self.engine = (engine_factory or StudioEngine)(self.bridge.deliver)
        self._view_generation = 0
        self._pending_open: dict[int, Path] = {}
        self._current_frame: np.ndarray | None = None
        self._closed = False
        #: the key of the video the session shows (set on VideoOpened, not read from the
        #: engine, whose key changes before that message arrives)
        self._video_key = ""
        self.last_export: Path | None = None
        self._sticky_until = 0.0  # a task's result line stays until then (progress won't replace it)
        self.ask_export_path: Callable[[], Path | None] = self._ask_export_path
        #: ``(defaults) -> ExportRange | None`` for File > Export range… (tests replace it)
        self.ask_export_range: Callable[[ExportRange], ExportRange | None] = self._ask_export_range

        self._build_central()
        self._build_dock()
        self._build_status_bar()
        self._build_menus()
        self._build_shortcuts()
        self._play_timer = QTimer(self)
        self._play_timer.timeout.connect(self._on_play_tick)
        self._memory_timer = QTimer(self)
        self._memory_timer.timeout.connect(lambda: self.memory_label.setText(_memory_text()))
        self._memory_timer.start(1000)
        self.session.subscribe(self._on_state)
        self._rebuild_panes()
        self._install_features()
        self._restore_window()

    def _install_features(self) -> None:
        """Features that live in their own modules and hook into the window."""
        from .masking_panel import MaskingController

        self.masking = MaskingController(self)
        from .world_panel import WorldController

        self.world = WorldController(self)

    # -- building -------------------------------------------------------------------------
    def _build_central(self) -> None:
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(6, 6, 6, 4)
        layout.setSpacing(6)
        self.message_bar = MessageBar()
        layout.addWidget(self.message_bar)
        self.grid = PaneGrid()
        self.grid.clicked.connect(self._on_pane_clicked)
        layout.addWidget(self.grid, 1)
        self.frame_pane = FramePane()
        self.encoder_panes: dict[str, EncoderPane] = {}
        #: extra panes other features add (see :meth:`add_pane`)
        self.extra_panes: list[Pane] = []

        self.timeline = Timeline()
        self.timeline.scrubbed.connect(self.session.set_playhead)
        layout.addWidget(self.timeline)

        transport = QHBoxLayout()
        transport.setSpacing(4)
        style = self.style()

        def button(icon: QStyle.StandardPixmap, tip: str, slot: Callable[[], object]) -> QToolButton:
            b = QToolButton()
            b.setIcon(style.standardIcon(icon))
            b.setToolTip(tip)
            b.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            b.clicked.connect(slot)
            transport.addWidget(b)
            return b

        button(QStyle.StandardPixmap.SP_MediaSkipBackward, "First frame (Home)", lambda: self.session.set_playhead(0))
        button(QStyle.StandardPixmap.SP_MediaSeekBackward, "Previous frame (Left)", lambda: self.session.step(-1))
        self.play_button = button(QStyle.StandardPixmap.SP_MediaPlay, "Play / pause (Space)", self.toggle_play)
        button(QStyle.StandardPixmap.SP_MediaSeekForward, "Next frame (Right)", lambda: self.session.step(1))
        button(QStyle.StandardPixmap.SP_MediaSkipForward, "Last frame (End)", lambda: self.session.set_playhead(self.session.n_frames - 1))
        transport.addSpacing(12)
        transport.addWidget(QLabel("Speed"))
        self.speed = QComboBox()
        for s in SPEEDS:
            self.speed.addItem(f"{s:g}×", s)
        self.speed.setCurrentIndex(SPEEDS.index(1.0))
        self.speed.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.speed.currentIndexChanged.connect(self._update_play_interval)
        transport.addWidget(self.speed)
        self.loop = QCheckBox("Loop")
        self.loop.setChecked(True)
        self.loop.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        transport.addWidget(self.loop)
        hint = QLabel("Space play · ←/→ step · Shift+←/→ jump a clip · click a patch: similarity")
        hint.setStyleSheet("color: #8c8f94;")
        hint.setMinimumWidth(0)
        hint.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        hint.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        transport.addWidget(hint, 1)
        layout.addLayout(transport)
        self.setCentralWidget(central)

    def _build_dock(self) -> None:
        self.controls = ControlPanel(self.session)
        dock = QDockWidget("Settings", self)
        dock.setObjectName("settingsDock")
        dock.setWidget(self.controls)
        self.controls.setMaximumWidth(300)
        dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable | QDockWidget.DockWidgetFeature.DockWidgetClosable)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
        self.settings_dock = dock

    def _build_status_bar(self) -> None:
        bar = self.statusBar()
        self.device_label = QLabel(f"device: {self.session.device}")
        self.model_label = QLabel("models: none loaded")
        self.memory_label = QLabel(_memory_text())
        self.progress = QProgressBar()
        self.progress.setFixedWidth(180)
        self.progress.setTextVisible(True)
        self.progress.hide()
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop the model or export that is running")
        self.cancel_button.clicked.connect(self.cancel_work)
        self.cancel_button.hide()
        for w in (self.device_label, self.model_label, self.memory_label):
            bar.addPermanentWidget(w)
        bar.addPermanentWidget(self.progress)
        bar.addPermanentWidget(self.cancel_button)

    def _build_menus(self) -> None:
        menu = self.menuBar()
        file_menu = menu.addMenu("&File")
        self.file_menu = file_menu
        self._action(file_menu, "&Open video…", self.open_dialog, QKeySequence.StandardKey.Open)
        self.recent_menu = file_menu.addMenu("Open &recent")
        self._action(file_menu, "Open the &sample video", self.open_sample)
        file_menu.addSeparator()
        self.export_action = self._action(file_menu, "&Export current view…", self.export_view, QKeySequence("Ctrl+E"))
        self.export_range_action = self._action(file_menu, "Export &range…", self.export_range, QKeySequence("Ctrl+Shift+R"))
        file_menu.addSeparator()
        self._action(file_menu, "&Quit", self.close, QKeySequence.StandardKey.Quit)
        self._refresh_recent_menu()

        view_menu = menu.addMenu("&View")
        self.map_actions = QActionGroup(self)
        for key, text, shortcut in (("pca", "&PCA map", "1"), ("difference", "Temporal &difference", "2"), ("similarity", "Patch &similarity", "3")):
            act = self._action(view_menu, text, lambda k=key: self.session.update_view(map_kind=k), QKeySequence(shortcut))
            act.setCheckable(True)
            act.setData(key)
            self.map_actions.addAction(act)
        view_menu.addSeparator()
        self.overlay_action = self._action(view_menu, "&Overlay map on frame", lambda: self.session.update_view(overlay=not self.session.view.overlay), QKeySequence("O"))
        self.overlay_action.setCheckable(True)
        self._action(view_menu, "&Fit frame in panes", self._fit_view, QKeySequence("F"))
        view_menu.addAction(self.settings_dock.toggleViewAction())

        self.encoders_menu = menu.addMenu("&Encoders")
        self.encoders_menu.aboutToShow.connect(self._refresh_encoders_menu)
        self._refresh_encoders_menu()

        device_menu = menu.addMenu("&Device")
        self.device_actions = QActionGroup(self)
        for dev in DEVICES:
            act = self._action(device_menu, dev if dev != "auto" else "auto (CUDA, else MPS, else CPU)", lambda d=dev: self.session.set_device(d))
            act.setCheckable(True)
            act.setData(dev)
            act.setChecked(dev == self.session.device)
            self.device_actions.addAction(act)
        self._sync_view_actions()

    def _action(self, menu, text: str, slot: Callable[[], object], shortcut=None) -> QAction:
        act = QAction(text, self)
        if shortcut is not None:
            act.setShortcut(shortcut)
        act.triggered.connect(lambda _checked=False: slot())
        menu.addAction(act)
        return act

    def _build_shortcuts(self) -> None:
        for keys, slot in (
            ("Space", self.toggle_play),
            ("Left", lambda: self.session.step(-1)),
            ("Right", lambda: self.session.step(1)),
            ("Shift+Left", lambda: self.session.step(-self.session.clip.span)),
            ("Shift+Right", lambda: self.session.step(self.session.clip.span)),
            ("Home", lambda: self.session.set_playhead(0)),
            ("End", lambda: self.session.set_playhead(self.session.n_frames - 1)),
        ):
            act = QAction(self)
            act.setShortcut(QKeySequence(keys))
            act.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            act.triggered.connect(lambda _c=False, s=slot: s())
            self.addAction(act)

    # -- panes ----------------------------------------------------------------------------
    def add_pane(self, pane: Pane) -> None:
        """Add a pane of another kind (masking, decoders...) after the encoder panes."""
        self.extra_panes.append(pane)
        self._rebuild_panes()

    def remove_pane(self, pane: Pane) -> None:
        if pane in self.extra_panes:
            self.extra_panes.remove(pane)
            self._rebuild_panes()

    def _rebuild_panes(self) -> None:
        names = self.session.encoders
        self.encoder_panes = {n: self.encoder_panes.get(n) or EncoderPane(n) for n in names}
        for pane in self.encoder_panes.values():
            pane.set_overlay(self.session.view.overlay, self.session.view.overlay_opacity)
            if self._current_frame is not None:
                pane.set_frame(self._current_frame)
        self.grid.set_panes([self.frame_pane, *self.encoder_panes.values(), *self.extra_panes])
        if self.session.video is not None:
            self.grid.fit(self.session.video.size)
        self._update_marker()

    def _fit_view(self) -> None:
        if self.session.video is not None:
            self.grid.fit(self.session.video.size)

    # -- opening --------------------------------------------------------------------------
    def open_path(self, path: str | os.PathLike) -> int:
        """Open a video in the background (the current one stays until it succeeds)."""
        path = Path(path)
        request = self.engine.open_video(path)
        self._pending_open[request] = path
        self.statusBar().showMessage(f"opening {path.name}…")
        return request

    def open_dialog(self) -> None:
        start = str(self.session.video.path.parent) if self.session.video else ""
        path, _ = QFileDialog.getOpenFileName(self, "Open video", start, VIDEO_FILTER)
        if path:
            self.open_path(path)

    def open_sample(self) -> None:
        try:
            from ..resources import sample_video_path

            self.open_path(sample_video_path())
        except Exception as error:  # noqa: BLE001 - shown to the user
            self.show_error(f"The sample video is not available: {error}")

    def open_mime(self, mime: QMimeData) -> bool:
        """Open the first local file of a drop; False when there is none."""
        for url in mime.urls():
            if url.isLocalFile():
                self.open_path(url.toLocalFile())
                return True
        return False

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if any(u.isLocalFile() for u in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        if self.open_mime(event.mimeData()):
            event.acceptProposedAction()

    def _refresh_recent_menu(self) -> None:
        self.recent_menu.clear()
        files = self.app_settings.recent_files()
        for path in files:
            self._action(self.recent_menu, str(path), lambda p=path: self.open_path(p))
        self.recent_menu.setEnabled(bool(files))

    # -- encoders menu --------------------------------------------------------------------
    def _refresh_encoders_menu(self) -> None:
        from ..encoders.registry import CHECKPOINTS, list_encoders

        self.encoders_menu.clear()
        chosen = set(self.session.encoders)
        family = None
        for name in list_encoders():
            info = CHECKPOINTS.get(name)
            fam = info.family if info else "pixels"
            if family is not None and fam != family:
                self.encoders_menu.addSeparator()
            family = fam
            text = name
            if info is not None:
                text += f"   ({info.params_m:g}M params, ~{info.memory_gb_fp16:g} GB fp16{', gated' if info.gated else ''})"
            act = self._action(self.encoders_menu, text, lambda n=name: self.toggle_encoder(n))
            act.setCheckable(True)
            act.setChecked(name in chosen)
        others = [n for n in self.session.encoders if n not in list_encoders()]
        if others:
            self.encoders_menu.addSeparator()
            for name in others:
                act = self._action(self.encoders_menu, name, lambda n=name: self.toggle_encoder(n))
                act.setCheckable(True)
                act.setChecked(True)
        self.encoders_menu.addSeparator()
        self._action(self.encoders_menu, "Add by hub id…", self._add_encoder_by_id)
        self._action(self.encoders_menu, "Add from folder…", self._add_encoder_folder)

    def toggle_encoder(self, name: str) -> None:
        if name in self.session.encoders:
            self.session.remove_encoder(name)
        else:
            self.session.add_encoder(name)

    def _add_encoder_by_id(self) -> None:
        text, ok = QInputDialog.getText(self, "Add encoder", "Hub id (e.g. facebook/dinov2-small):")
        if ok and text.strip():
            self.session.add_encoder(text.strip())

    def _add_encoder_folder(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Folder saved with save_pretrained")
        if path:
            self.session.add_encoder(path)

    # -- state changes --------------------------------------------------------------------
    def _on_state(self, name: str, value: object) -> None:
        if name == "playhead":
            self._show_playhead()
        elif name == "video":
            meta: VideoMeta | None = value  # type: ignore[assignment]
            if meta is not None:
                self.timeline.set_video(meta.n_frames, meta.fps)
                self.setWindowTitle(f"{meta.path.name} — JEPA Studio")
                self._update_play_interval()
        elif name == "encoders":
            self.app_settings.set_encoders(self.session.encoders)
            self.engine.forget_encoders(self.session.encoders)
            self._rebuild_panes()
            self._request_view()
        elif name == "clip":
            self._show_playhead()
        elif name == "view":
            self._sync_view_actions()
            for pane in self.encoder_panes.values():
                pane.set_overlay(self.session.view.overlay, self.session.view.overlay_opacity)
            self._update_marker()
            self._request_view()
        elif name == "resolution":
            self.store.set_value("resolution", self.session.resolution or 0)
            self._request_view()
        elif name == "device":
            self.app_settings.set_device(self.session.device)
            self.device_label.setText(f"device: {self.session.device}")
            for act in self.device_actions.actions():
                act.setChecked(act.data() == self.session.device)
            self._request_view()

    def _sync_view_actions(self) -> None:
        for act in self.map_actions.actions():
            act.setChecked(act.data() == self.session.view.map_kind)
        self.overlay_action.setChecked(self.session.view.overlay)

    def _update_marker(self) -> None:
        view = self.session.view
        point = view.query[:2] if view.query is not None and view.map_kind == "similarity" else None
        for pane in self.grid.panes:
            pane.set_marker(point)

    def _show_playhead(self) -> None:
        frame = self.session.playhead
        self.timeline.set_playhead(frame, self.session.clip_frames())
        if self.session.video is None:
            return
        fps = self.session.video.fps or 0.0
        self.frame_pane.set_title("Frame", f"frame {frame}" + (f" · {frame / fps:.2f} s" if fps else ""))
        image = self.engine.request_frame(frame)
        if image is not None:
            self._set_frame(image)
        self._request_view()

    def _set_frame(self, image: np.ndarray) -> None:
        self._current_frame = image
        self.frame_pane.set_frame(image)
        for pane in self.encoder_panes.values():
            pane.set_frame(image)  # the overlay underlay (a hidden item is not drawn)

    def current_request(self):
        """The :class:`~jepa_studio.engine.ViewRequest` for what the session shows now."""
        s = self.session
        return make_request(
            self._video_key, s.playhead, s.clip, s.n_frames, s.encoders, s.view, s.device, s.resolution
        )

    def _request_view(self) -> None:
        if self.session.video is None or not self.session.encoders:
            return
        generation, ready = self.engine.request_view(self.current_request())
        self._view_generation = generation
        for name, pane_image in ready.items():
            pane = self.encoder_panes.get(name)
            if pane is not None:
                pane.show_result(pane_image)
        if len(ready) < len(self.session.encoders):
            for name, pane in self.encoder_panes.items():
                if name not in ready and pane.last is None:
                    pane.set_note("computing…")

    # -- engine messages (GUI thread) -----------------------------------------------------
    def _on_message(self, message: object) -> None:
        if self._closed:
            return
        if isinstance(message, PaneImage):
            if message.generation == self._view_generation:
                pane = self.encoder_panes.get(message.encoder)
                if pane is not None:
                    pane.show_result(message)
        elif isinstance(message, FrameReady):
            if message.video_key == self._video_key and message.frame == self.session.playhead:
                self._set_frame(message.image)
        elif isinstance(message, PaneError):
            if message.generation == self._view_generation:
                pane = self.encoder_panes.get(message.encoder)
                if pane is not None:
                    pane.show_error(message.message)
                if message.kind == "memory":
                    self.show_error(message.message)
        elif isinstance(message, Progress):
            self._show_progress(message)
        elif isinstance(message, VideoOpened):
            self._on_video_opened(message)
        elif isinstance(message, ErrorReport):
            path = self._pending_open.pop(message.request, None)
            self.statusBar().clearMessage()
            if path is not None:
                self.show_error(f"Could not open {path.name}. {message.message}")
            else:
                self.show_error(message.message)
        elif isinstance(message, Status):
            self.device_label.setText(f"device: {message.device}")
            self.model_label.setText("models: " + (", ".join(Path(m).name for m in message.models) or "none loaded"))
        elif isinstance(message, TaskDone):
            self.last_export = Path(str(message.result))
            self.statusBar().showMessage(done_text(message.name, self.last_export), 8000)
            self._sticky_until = time.monotonic() + 8.0

    def _on_video_opened(self, message: VideoOpened) -> None:
        self._pending_open.pop(message.request, None)
        self.message_bar.hide()
        self.statusBar().showMessage(f"opened {message.path.name}", 4000)
        self.app_settings.add_recent_file(message.path)
        self._refresh_recent_menu()
        self.stop()
        for pane in self.encoder_panes.values():
            pane.last = None
            pane.map_item.clear()
        self._video_key = message.video_key
        self.session.set_video(VideoMeta(message.path, message.n_frames, message.fps, message.size))
        self.grid.fit(message.size)

    def _show_progress(self, message: Progress) -> None:
        finished = message.total > 0 and message.done >= message.total
        if finished:
            self.progress.hide()
            self.cancel_button.hide()
            if message.text.endswith("cancelled"):
                self.statusBar().showMessage(message.text, 4000)
            elif time.monotonic() >= self._sticky_until:
                self.statusBar().clearMessage()
            return
        self.progress.show()
        self.cancel_button.show()
        if message.total <= 0:
            self.progress.setRange(0, 0)
        else:
            self.progress.setRange(0, message.total)
            self.progress.setValue(message.done)
        self.progress.setFormat(f"{message.text} %p%" if message.total > 0 else message.text)
        if time.monotonic() >= self._sticky_until:
            self.statusBar().showMessage(message.text)

    def show_error(self, text: str) -> None:
        """A clear message in the window; nothing else changes."""
        self.message_bar.show_message(text)

    def cancel_work(self) -> None:
        self.engine.cancel()

    def _on_pane_clicked(self, x: float, y: float, key: str) -> None:
        if self.session.video is None:
            return
        w, h = self.session.video.size
        if 0 <= x < w and 0 <= y < h:
            self.session.update_view(map_kind="similarity", query=(x, y, self.session.playhead))

    # -- playback -------------------------------------------------------------------------
    def toggle_play(self) -> None:
        if self._play_timer.isActive():
            self.stop()
        elif self.session.video is not None:
            if self.session.playhead >= self.session.n_frames - 1:
                self.session.set_playhead(0)
            self._update_play_interval()
            self._play_timer.start()
            self.play_button.setIcon(self.style().standardIcon(QStyle.StandardPixmap.SP_MediaPause))

    def stop(self) -> None:
        self._play_timer.stop()
        self.play_button.setIcon(self.style().standardIcon(QStyle.StandardPixmap.SP_MediaPlay))

    @property
    def playing(self) -> bool:
        return self._play_timer.isActive()

    def _update_play_interval(self) -> None:
        fps = self.session.video.fps if self.session.video else 25.0
        speed = float(self.speed.currentData() or 1.0)
        self._play_timer.setInterval(max(1, int(round(1000.0 / (fps * speed)))))

    def _on_play_tick(self) -> None:
        if self.session.playhead >= self.session.n_frames - 1:
            if self.loop.isChecked():
                self.session.set_playhead(0)
            else:
                self.stop()
            return
        self.session.step(1)

    # -- export ---------------------------------------------------------------------------
    def _ask_export_path(self) -> Path | None:
        start = str(self.session.video.path.with_suffix(".comparison.png")) if self.session.video else "comparison.png"
        path, _ = QFileDialog.getSaveFileName(
            self, "Export comparison", start, "PNG image (*.png);;MP4 video (*.mp4);;GIF (*.gif)"
        )
        return Path(path) if path else None

    def export_frames(self, suffix: str) -> list[int]:
        """Frames exported: the clip window (at most 8 columns in an image)."""
        frames = list(self.session.clip_frames())
        if suffix.lower() in (".png", ".jpg", ".jpeg") and len(frames) > 8:
            step = -(-len(frames) // 8)
            frames = frames[::step]
        return frames

    def _ask_export_range(self, defaults: ExportRange) -> ExportRange | None:
        meta = self.session.video
        return ask_export_range(self, defaults, meta.n_frames if meta else 0, meta.fps if meta else 0.0)

    def export_range(self) -> int | None:
        """File > Export range…: frames START:STOP:STEP (default: the clip window) as a video or
        an image, through :func:`jepa_studio.export.export_comparison` like the CLI."""
        s = self.session
        if s.video is None:
            self.show_error("Open a video before exporting.")
            return None
        clip = s.clip_frames()
        step = clip[1] - clip[0] if len(clip) > 1 else 1
        defaults = ExportRange(clip[0], clip[-1] + 1, step, s.video.path.with_suffix(".comparison.mp4"))
        choice = self.ask_export_range(defaults)
        if choice is None:
            return None
        frames = [f for f in choice.frames if 0 <= f < s.n_frames]
        if not frames:
            self.show_error(
                f"Frames {choice.start}:{choice.stop}:{choice.step} select no frame of this video "
                f"(it has {s.n_frames} frames: 0 to {s.n_frames - 1})."
            )
            return None
        out = choice.path if choice.path.suffix else choice.path.with_suffix(".mp4")
        self.stop()
        return self.engine.export(out, s.encoders, frames, s.view, s.device, s.resolution)

    def export_view(self) -> int | None:
        """Ctrl+E: export the clip around the playhead as a labelled comparison (PNG) or video."""
        if self.session.video is None:
            self.show_error("Open a video before exporting.")
            return None
        out = self.ask_export_path()
        if out is None:
            return None
        if not out.suffix:
            out = out.with_suffix(".png")
        self.stop()
        s = self.session
        return self.engine.export(out, s.encoders, self.export_frames(out.suffix), s.view, s.device, s.resolution)

    # -- persistence ----------------------------------------------------------------------
    def _restore_window(self) -> None:
        geometry = self.store.value("window/geometry")
        state = self.store.value("window/state")
        if geometry is not None:
            self.restoreGeometry(geometry)
        else:
            self.resize(1440, 860)
        if state is not None:
            self.restoreState(state)

    def closeEvent(self, event: QCloseEvent) -> None:
        self.stop()
        self.store.set_value("window/geometry", self.saveGeometry())
        self.store.set_value("window/state", self.saveState())
        self.app_settings.set_encoders(self.session.encoders)
        self.app_settings.set_device(self.session.device)
        self.app_settings.mark_started()
        self.masking.save_state()
        self.world.save_state()
        self.world.shutdown(timeout=5.0)  # training stops; its last checkpoint is written
        sync = getattr(self.store, "sync", None)
        if sync is not None:
            sync()
        self._closed = True
        self._memory_timer.stop()
        self.engine.close()
        super().closeEvent(event)
