"""The studio window: the shell that hosts the features.

The shell owns what every feature shares: the pane grid with the frame pane, the timeline
and playback, the status bar and the error line, the File, View, Device and Help menus, the
table of actions and shortcuts, opening videos, and the dispatch of engine messages by type.
Everything else is a feature package (:data:`FEATURES`) that sees the window only through
:class:`~jepa_studio.ui.shell.host.WindowHost`.

The GUI thread only moves numbers and hands finished uint8 images to pyqtgraph; every
decode, model load, forward pass, PCA and export runs on the engine's worker threads, and
results come back through :class:`~jepa_studio.ui.shell.bridge.EngineBridge`'s queued signal.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable, Sequence, TypeVar

import numpy as np
from PySide6.QtCore import QMimeData, Qt, QTimer
from PySide6.QtGui import QActionGroup, QCloseEvent, QDragEnterEvent, QDropEvent, QKeySequence
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDockWidget,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QMenu,
    QSizePolicy,
    QStyle,
    QTabBar,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ...engine import ErrorReport, FrameReady, Progress, Status, StudioEngine, TaskDone, VideoOpened
from ...engine.devices import available_devices, describe_device
from ...state import AppSettings, Session, VideoMeta
from ...state.masking import MaskingState
from ...state.surprise import SurpriseState
from ...state.tracking import TrackingState
from ...state.settings import SettingsStore
from .actions import ActionTable
from .bridge import EngineBridge
from .gui_gc import collect_on_gui_thread
from .help import show_shortcuts
from .message_bar import MessageBar
from .panes import FramePane, Pane, PaneGrid
from .qsettings_store import QSettingsStore
from .status_bar import StatusBar
from .timeline import Timeline

M = TypeVar("M")

DEFAULT_ENCODERS = ("pixels", "pixels-tubelet")
VIDEO_FILTER = "Videos (*.mp4 *.mov *.mkv *.webm *.avi *.m4v);;All files (*)"
SPEEDS = (0.25, 0.5, 1.0, 2.0, 4.0)


def _features() -> tuple[type, ...]:
    """The feature packages, in the order their panes, docks and menus appear."""
    from ..masking import MaskingFeature
    from ..surprise import SurpriseFeature
    from ..tracking import TrackingFeature
    from ..viewer import ViewerFeature
    from ..world import WorldFeature

    return (ViewerFeature, MaskingFeature, TrackingFeature, SurpriseFeature, WorldFeature)


class MainWindow(QMainWindow):
    """The JEPA Studio window (a :class:`~.host.WindowHost` for its features).

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
        self.devices = available_devices()
        self.session.device = self._usable_device(self.app_settings.device())
        self.session.resolution = int(self.store.value("resolution", 0) or 0) or None
        #: the features' shared state (features talk to each other only through it)
        self.masking_state = MaskingState(self.session)
        self.tracking_state = TrackingState(self.session)
        self.surprise_state = SurpriseState(self.session)
        self.bridge = EngineBridge(self)
        self._handlers: dict[type, list[Callable[[Any], None]]] = {}
        self.bridge.delivered.connect(self._dispatch)
        self.engine = (engine_factory or StudioEngine)(self.bridge.deliver)
        self.actions = ActionTable(self)
        self._pending_open: dict[int, Path] = {}
        self._current_frame: np.ndarray | None = None
        self._closed = False
        #: the key of the video the session shows (set on VideoOpened, not read from the
        #: engine, whose key changes before that message arrives)
        self._video_key = ""
        self.last_export: Path | None = None
        self._pane_groups: dict[str, list[Pane]] = {}
        self._tabbed_docks: list[QDockWidget] = []
        #: who a click on a pane goes to: owner -> handler, and the owners that claimed clicks
        self._click_handlers: dict[str, Callable[[float, float, str], None]] = {}
        self._click_claims: list[str] = []

        self._build_central()
        self.status = StatusBar(self, self.cancel_work)
        self.status.show_device(self.session.device)
        self._build_menus()
        self._play_timer = QTimer(self)
        self._play_timer.timeout.connect(self._on_play_tick)
        for kind, handler in ((FrameReady, self._on_frame), (Progress, self.status.show_progress),
                              (VideoOpened, self._on_video_opened), (ErrorReport, self._on_error_report),
                              (Status, self.status.show_models), (TaskDone, self._on_task_done)):
            self.on_message(kind, handler)
        self.session.subscribe(self._on_state)
        self._show_panes()
        #: the features, by package name ("viewer", "masking", "world")
        self.features: dict[str, Any] = {}
        for feature in _features():
            self.features[feature.name] = feature(self)
        self._build_help_menu()
        self._restore_window()

    def feature(self, name: str) -> Any:
        """A feature's controller (scripts and tests; features never call each other)."""
        return self.features[name]

    # -- the WindowHost protocol --------------------------------------------------------
    @property
    def widget(self) -> QWidget:
        return self

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def video_key(self) -> str:
        return self._video_key

    def deliver(self, message: object) -> None:
        self.bridge.deliver(message)

    def on_message(self, kind: type[M], handler: Callable[[M], None]) -> None:
        self._handlers.setdefault(kind, []).append(handler)

    def _dispatch(self, message: object) -> None:
        if self._closed:
            return
        for handler in self._handlers.get(type(message), ()):
            handler(message)

    def set_panes(self, owner: str, panes: Sequence[Pane]) -> None:
        self._pane_groups[owner] = list(panes)
        self._show_panes()

    def _show_panes(self) -> None:
        panes = [self.frame_pane, *(p for group in self._pane_groups.values() for p in group)]
        self.grid.set_panes(panes)

    def add_strip(self, widget: QWidget) -> None:
        self._strips.addWidget(widget)

    def on_pane_click(self, owner: str, handler: Callable[[float, float, str], None]) -> None:
        self._click_handlers[owner] = handler

    def claim_clicks(self, owner: str, on: bool) -> None:
        if owner in self._click_claims:
            self._click_claims.remove(owner)
        if on:
            self._click_claims.append(owner)

    def _route_click(self, x: float, y: float, key: str) -> None:
        """A click on a pane goes to the last feature that claimed clicks (a tool), else to
        the first feature that handles clicks (the encoder panes' similarity)."""
        owners = self._click_claims[-1:] or list(self._click_handlers)[:1]
        for owner in owners:
            self._click_handlers[owner](x, y, key)

    def add_dock(self, dock: QDockWidget, area: Qt.DockWidgetArea = Qt.DockWidgetArea.RightDockWidgetArea,
                 tab: bool = True) -> None:
        dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable | QDockWidget.DockWidgetFeature.DockWidgetClosable
                         | QDockWidget.DockWidgetFeature.DockWidgetFloatable)
        self.addDockWidget(area, dock)
        if tab and area == Qt.DockWidgetArea.RightDockWidgetArea:
            if self._tabbed_docks:
                first = self._tabbed_docks[0]
                self.tabifyDockWidget(first, dock)
                first.raise_()  # the first feature's dock (Settings) stays in front
            self._tabbed_docks.append(dock)
            QTimer.singleShot(0, self._unelide_dock_tabs)  # Qt makes the tab bar after this returns
        self.view_menu.addAction(dock.toggleViewAction())

    def _unelide_dock_tabs(self) -> None:
        """Tabbed docks show whole titles ("Settings", not "Setti…"); scroll arrows if need be."""
        for bar in self.findChildren(QTabBar):
            if bar.parent() is self:  # the dock areas' tab bars, not a panel's tabs
                bar.setElideMode(Qt.TextElideMode.ElideNone)
                bar.setUsesScrollButtons(True)

    def menu(self, title: str) -> QMenu:
        plain = title.replace("&", "")
        for act in self.menuBar().actions():
            if act.menu() is not None and act.text().replace("&", "") == plain:
                return act.menu()
        menu = self.menuBar().addMenu(title)
        return menu

    def file_menu_slot(self) -> Any:
        return self._file_slot

    def show_error(self, text: str, source: str = "") -> None:
        self.message_bar.show_message(text, source)

    def clear_error(self, source: str) -> None:
        self.message_bar.clear(source)

    def show_status(self, text: str, msec: int = 0) -> None:
        self.status.show(text, msec)

    def stop_playback(self) -> None:
        self.stop()

    def fit_view(self) -> None:
        if self.session.video is not None:
            self.grid.fit(self.session.video.size)

    def settings_folder(self) -> Path | None:
        """The folder of the settings file (features keep their data beside it), or None when
        the settings live in no file."""
        qsettings = getattr(self.store, "qsettings", None)
        name = qsettings.fileName() if qsettings is not None else ""
        return Path(name).parent if name else None

    def export_folder(self) -> Path:
        last = self.store.value("export/last_folder")
        if last and Path(str(last)).is_dir():
            return Path(str(last))
        if self.session.video is not None:
            return self.session.video.path.parent
        return Path.home()

    def remember_export(self, path: Path) -> None:
        self.store.set_value("export/last_folder", str(Path(path).parent))

    # -- building -------------------------------------------------------------------------
    def _build_central(self) -> None:
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(6, 6, 6, 4)
        layout.setSpacing(6)
        self.message_bar = MessageBar()
        layout.addWidget(self.message_bar)
        self.grid = PaneGrid()
        self.grid.clicked.connect(self._route_click)
        layout.addWidget(self.grid, 1)
        self.frame_pane = FramePane()
        self.timeline = Timeline()
        self.timeline.scrubbed.connect(self.session.set_playhead)
        layout.addWidget(self.timeline)
        self._strips = QVBoxLayout()  # features' strips under the timeline (the surprise curve)
        self._strips.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(self._strips)
        layout.addLayout(self._build_transport())
        self.setCentralWidget(central)

    def _build_transport(self) -> QHBoxLayout:
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

        s = self.session
        button(QStyle.StandardPixmap.SP_MediaSkipBackward, "First frame (Home)", lambda: s.set_playhead(0))
        button(QStyle.StandardPixmap.SP_MediaSeekBackward, "Previous frame (Left)", lambda: s.step(-1))
        self.play_button = button(QStyle.StandardPixmap.SP_MediaPlay, "Play / pause (Space)", self.toggle_play)
        button(QStyle.StandardPixmap.SP_MediaSeekForward, "Next frame (Right)", lambda: s.step(1))
        button(QStyle.StandardPixmap.SP_MediaSkipForward, "Last frame (End)", lambda: s.set_playhead(s.n_frames - 1))
        transport.addSpacing(12)
        transport.addWidget(QLabel("Speed"))
        self.speed = QComboBox()
        for v in SPEEDS:
            self.speed.addItem(f"{v:g}×", v)
        self.speed.setCurrentIndex(SPEEDS.index(1.0))
        self.speed.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.speed.currentIndexChanged.connect(self._update_play_interval)
        transport.addWidget(self.speed)
        self.loop = QCheckBox("Loop")
        self.loop.setChecked(True)
        self.loop.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        transport.addWidget(self.loop)
        hint = QLabel("Space play · ←/→ step · Shift+←/→ jump a clip · F1 all keys")
        hint.setStyleSheet("color: #8c8f94;")
        hint.setMinimumWidth(0)
        hint.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        hint.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        transport.addWidget(hint, 1)
        return transport

    def _build_menus(self) -> None:
        a, s = self.actions, self.session
        file_menu = self.menu("&File")
        a.add("shell.open", "&Open video…", self.open_dialog, menu=file_menu, shortcut=QKeySequence.StandardKey.Open)
        self.recent_menu = file_menu.addMenu("Open &recent")
        a.add("shell.sample", "Open the &sample video", self.open_sample, menu=file_menu)
        file_menu.addSeparator()
        self._file_slot = file_menu.addSeparator()  # features insert their file actions before it
        a.add("shell.quit", "&Quit", self.close, menu=file_menu, shortcut=QKeySequence.StandardKey.Quit)
        self._refresh_recent_menu()

        self.view_menu = self.menu("&View")
        a.add("shell.fit", "&Fit frame in panes", self.fit_view, menu=self.view_menu, shortcut="F")
        self.view_menu.addSeparator()

        device_menu = self.menu("&Device")
        self.device_actions = QActionGroup(self)
        for dev in self.devices:
            act = a.add(f"shell.device.{dev}", describe_device(dev), lambda d=dev: s.set_device(d),
                        menu=device_menu, checkable=True, checked=dev == s.device)
            act.setData(dev)
            self.device_actions.addAction(act)

        for key, keys, slot in (
            ("play", "Space", self.toggle_play),
            ("previous", "Left", lambda: s.step(-1)),
            ("next", "Right", lambda: s.step(1)),
            ("back_clip", "Shift+Left", lambda: s.step(-s.clip.span)),
            ("forward_clip", "Shift+Right", lambda: s.step(s.clip.span)),
            ("first", "Home", lambda: s.set_playhead(0)),
            ("last", "End", lambda: s.set_playhead(s.n_frames - 1)),
        ):
            a.add(f"shell.{key}", key.replace("_", " ").capitalize(), slot, shortcut=keys)

    def _build_help_menu(self) -> None:
        help_menu = self.menu("&Help")
        self.actions.add("shell.shortcuts", "&Keyboard shortcuts", lambda: show_shortcuts(self, self.actions),
                         menu=help_menu, shortcut="F1")

    def _usable_device(self, device: str) -> str:
        """``device`` when this machine has it, else "auto" (a setting from another machine)."""
        return device if device in self.devices or device.split(":")[0] in ("auto", "cpu") else "auto"

    # -- state changes --------------------------------------------------------------------
    def _on_state(self, name: str, value: object) -> None:
        if name in ("playhead", "clip"):
            self._show_playhead()
        elif name == "video":
            meta: VideoMeta | None = value  # type: ignore[assignment]
            if meta is not None:
                self.timeline.set_video(meta)
                self.setWindowTitle(f"{meta.path.name} — JEPA Studio")
                self._update_play_interval()
        elif name == "encoders":
            self.app_settings.set_encoders(self.session.encoders)
            self.engine.forget_encoders(self.session.encoders)
        elif name == "resolution":
            self.store.set_value("resolution", self.session.resolution or 0)
        elif name == "device":
            usable = self._usable_device(self.session.device)
            if usable != self.session.device:
                self.show_error(f"{self.session.device} is not available on this machine; the Device menu lists what is.", "device")
                self.session.set_device(usable)
                return
            self.clear_error("device")
            self.app_settings.set_device(self.session.device)
            self.status.show_device(self.session.device)
            for act in self.device_actions.actions():
                act.setChecked(act.data() == self.session.device)

    def _show_playhead(self) -> None:
        frame = self.session.playhead
        self.timeline.set_playhead(frame, self.session.clip_frames())
        if self.session.video is None:
            return
        self.frame_pane.set_title("Frame", f"frame {frame} · {self.session.time_of(frame):.2f} s")
        image = self.engine.request_frame(frame)
        if image is not None:
            self._set_frame(image)

    def _set_frame(self, image: np.ndarray) -> None:
        self._current_frame = image
        self.frame_pane.set_frame(image)
        for pane in self.grid.panes:
            if pane.wants_frame:
                pane.set_frame(image)  # the underlay of panes that overlay the frame

    @property
    def current_frame(self) -> np.ndarray | None:
        """The source frame under the playhead, uint8 [H, W, 3] (None before it decoded)."""
        return self._current_frame

    # -- engine messages (GUI thread) -----------------------------------------------------
    def _on_frame(self, message: FrameReady) -> None:
        if message.video_key == self._video_key and message.frame == self.session.playhead:
            self._set_frame(message.image)

    def _on_error_report(self, message: ErrorReport) -> None:
        path = self._pending_open.pop(message.request, None)
        self.statusBar().clearMessage()
        if path is not None:
            self.show_error(f"Could not open {path.name}. {message.message}", "open")
        else:
            self.show_error(message.message, message.kind)

    def _on_task_done(self, message: TaskDone) -> None:
        self.last_export = Path(str(message.result))
        if message.kind == "export":
            self.remember_export(self.last_export)
        self.status.show(message.summary(), 8000, sticky=True)

    def _on_video_opened(self, message: VideoOpened) -> None:
        self._pending_open.pop(message.request, None)
        self.clear_error("open")
        self.statusBar().showMessage(f"opened {message.path.name}", 4000)
        self.app_settings.add_recent_file(message.path)
        self._refresh_recent_menu()
        self.stop()
        self._video_key = message.video_key
        self.session.set_video(VideoMeta(message.path, message.n_frames, message.fps, message.size, message.timestamps))
        self.grid.fit(message.size)

    def cancel_work(self) -> None:
        self.engine.cancel()

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
            from ...resources import sample_video_path

            self.open_path(sample_video_path())
        except Exception as error:  # noqa: BLE001 - shown to the user
            self.show_error(f"The sample video is not available: {error}", "open")

    def open_mime(self, mime: QMimeData) -> bool:
        """Open the first local file of a drop; False when there is none."""
        for url in mime.urls():
            if url.isLocalFile():
                self.open_path(url.toLocalFile())
                return True
        return False

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802 - Qt override
        if any(u.isLocalFile() for u in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802 - Qt override
        if self.open_mime(event.mimeData()):
            event.acceptProposedAction()

    def _refresh_recent_menu(self) -> None:
        self.recent_menu.clear()
        files = self.app_settings.recent_files()
        for path in files:
            act = self.recent_menu.addAction(str(path))
            act.triggered.connect(lambda _c=False, p=path: self.open_path(p))
        self.recent_menu.setEnabled(bool(files))

    # -- playback -------------------------------------------------------------------------
    def toggle_play(self) -> None:
        if self._play_timer.isActive():
            self.stop()
        elif self.session.video is not None:
            if self.session.playhead >= self.session.n_frames - 1:
                self.session.set_playhead(0)
            self._update_play_interval()
            self.engine.set_playback(1)  # prefetch the clips ahead
            self._play_timer.start()
            self.play_button.setIcon(self.style().standardIcon(QStyle.StandardPixmap.SP_MediaPause))

    def stop(self) -> None:
        self._play_timer.stop()
        self.engine.set_playback(0)
        self.play_button.setIcon(self.style().standardIcon(QStyle.StandardPixmap.SP_MediaPlay))

    @property
    def playing(self) -> bool:
        return self._play_timer.isActive()

    def _update_play_interval(self) -> None:
        """Show the playhead's frame as long as the video does (its own gap to the next frame,
        so a variable frame rate plays at its recorded pace), divided by the speed."""
        video = self.session.video
        gap = video.gap_after(self.session.playhead) if video is not None else 1 / 25.0
        speed = float(self.speed.currentData() or 1.0)
        self._play_timer.setInterval(max(1, int(round(1000.0 * gap / speed))))

    def _on_play_tick(self) -> None:
        if self.session.playhead >= self.session.n_frames - 1:
            if self.loop.isChecked():
                self.session.set_playhead(0)
            else:
                self.stop()
            return
        self.session.step(1)
        self._update_play_interval()

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

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt override
        self.stop()
        self.store.set_value("window/geometry", self.saveGeometry())
        self.store.set_value("window/state", self.saveState())
        self.app_settings.set_encoders(self.session.encoders)
        self.app_settings.set_device(self.session.device)
        self.app_settings.mark_started()
        for feature in self.features.values():
            feature.save_state()
        for feature in self.features.values():
            feature.shutdown(5.0)  # training stops; its last checkpoint is written
        sync = getattr(self.store, "sync", None)
        if sync is not None:
            sync()
        self._closed = True
        self.status.stop()
        self.engine.close()
        super().closeEvent(event)
