"""Point tracking in the studio window: click points, see where each encoder's features put them.

:class:`TrackingFeature` binds the Qt-free :class:`~jepa_studio.state.tracking.TrackingState`
(the points, with undo, and the options) to the window: the Track tool (``T``) takes clicks on
any pane; :class:`~jepa_studio.engine.tracking.TrackingEngine` tracks the points through the
clip on the GPU lane (:func:`~jepa_studio.analysis.tracking.track_points`, cosine similarity
of the query's feature and a local soft-argmax); every encoder pane draws its trails
(:class:`~.overlay.TrackOverlay`), which follow the playhead, and the frame pane marks the
clicked points.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Qt
from PySide6.QtWidgets import QDockWidget, QScrollArea

import pyqtgraph as pg

from ...analysis.tracking import Tracks
from ...engine.tracking import TrackError, TrackingEngine, TracksReady
from ...render.trails import point_colour
from ..shell.host import WindowHost
from .overlay import TrackOverlay
from .panel import TrackingPanel


class TrackingFeature(QObject):
    """Point tracking in a window (see the module docstring)."""

    name = "tracking"

    def __init__(self, host: WindowHost) -> None:
        super().__init__(host.widget)
        self.host = host
        self.session = host.session
        self.state = host.tracking_state
        self.state.options.load(host.store, "tracking")
        self.engine = TrackingEngine(host.engine, host.deliver)
        #: the latest request's id, its clip, and the tracks per encoder
        self._latest = 0
        self._frames: tuple[int, ...] = ()
        self.tracks: dict[str, Tracks] = {}
        self.errors: dict[str, str] = {}
        self._overlays: dict[int, TrackOverlay] = {}  # id(pane) -> its overlay
        self.queries = pg.ScatterPlotItem(size=14, symbol="o", pxMode=True, brush=None)
        self.queries.setZValue(45)
        host.frame_pane.view_box.addItem(self.queries, ignoreBounds=True)

        self.panel = TrackingPanel()
        self.panel.bind(self.state)
        dock = QDockWidget("Track", host.widget)
        dock.setObjectName("trackingDock")
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setWidget(self.panel)
        scroll.setMaximumWidth(320)
        dock.setWidget(scroll)
        host.add_dock(dock)
        self.dock = dock
        p = self.panel
        p.mode.toggled.connect(self.state.set_mode)
        p.remove.clicked.connect(self._remove_selected)
        p.clear.clicked.connect(self.state.clear)
        p.undo.clicked.connect(self.state.undo)
        p.redo.clicked.connect(self.state.redo)

        a = host.actions
        menu = host.menu("&Track")
        self.mode_action = a.add("tracking.mode", "&Track points (click a pane)", lambda: self.state.set_mode(not self.state.mode),
                                 menu=menu, shortcut="T", checkable=True)
        a.add("tracking.remove_last", "&Remove the last point", lambda: self.state.remove(len(self.state.points) - 1),
              menu=menu, shortcut="Backspace")
        a.add("tracking.clear", "&Clear points", self.state.clear, menu=menu)
        a.add("tracking.undo", "&Undo (points)", self.state.undo, menu=menu)
        a.add("tracking.redo", "Re&do (points)", self.state.redo, menu=menu)
        menu.addAction(dock.toggleViewAction())

        host.on_pane_click(self.name, self._on_click)
        host.on_message(TracksReady, self._on_tracks)
        host.on_message(TrackError, self._on_error)
        self.state.subscribe(self._on_state)
        self.state.options.subscribe(self._on_options)
        self.session.subscribe(self._on_session)

    # -- input ----------------------------------------------------------------------------
    def _on_click(self, x: float, y: float, key: str) -> None:
        video = self.session.video
        if video is None:
            return
        w, h = video.size
        if 0 <= x < w and 0 <= y < h:
            self.state.add(self.session.playhead, x, y)

    def _remove_selected(self) -> None:
        item = self.panel.points.currentItem()
        if item is not None:
            self.state.remove(int(item.data(Qt.ItemDataRole.UserRole)))

    # -- requests and results -------------------------------------------------------------
    def request(self) -> int | None:
        """Track the points through the clip around the playhead (never blocks)."""
        req = self.state.request(self.host.video_key)
        if req is None:
            self.tracks.clear()
            self.draw()
            return None
        if req.frames != self._frames:
            self.tracks.clear()
        self._latest, ready = self.engine.request(req)
        self._frames = req.frames
        self.errors.clear()
        self.tracks.update(ready)
        self.draw()
        if len(ready) < len(req.encoders):
            self.panel.status.setText("tracking…")
        return self._latest

    def _on_tracks(self, message: TracksReady) -> None:
        if message.request == self._latest:
            self.tracks[message.encoder] = message.tracks
            self.draw()

    def _on_error(self, message: TrackError) -> None:
        if message.request == self._latest:
            self.errors[message.encoder] = message.message
            self.panel.status.setText(self._summary())

    def _summary(self) -> str:
        lines = [f"{name}: mean confidence {t.confidence.mean():.2f}" for name, t in self.tracks.items()]
        lines += [f'<span style="color:#f2665c">{name}: {msg}</span>' for name, msg in self.errors.items()]
        return "<br>".join(lines)

    # -- drawing --------------------------------------------------------------------------
    def draw(self) -> None:
        """Trails on every encoder pane and the clicked points on the frame pane, at the playhead."""
        playhead, tail = self.session.playhead, self.state.options.tail
        shown = set()
        for name in self.session.encoders:
            pane = self.host.grid.pane(name)  # type: ignore[attr-defined]
            if pane is None:
                continue
            overlay = self._overlays.get(id(pane))
            if overlay is None:
                overlay = self._overlays[id(pane)] = TrackOverlay(pane.view_box)
            overlay.show(self.tracks.get(name), self._frames, playhead, tail)
            shown.add(id(pane))
        for key, overlay in list(self._overlays.items()):
            if key not in shown:
                overlay.clear()
        spots = [{"pos": (x, y), "pen": pg.mkPen(point_colour(n), width=2)}
                 for n, (frame, x, y) in enumerate(self.state.points) if frame == playhead]
        self.queries.setData(spots)
        self.panel.status.setText(self._summary())

    # -- state ----------------------------------------------------------------------------
    def _on_state(self, name: str, value: object) -> None:
        if name == "mode":
            self.mode_action.setChecked(bool(value))
            self.host.claim_clicks(self.name, bool(value))
            if value:
                self.dock.show()
                self.dock.raise_()
        elif name == "points":
            self.request()

    def _on_options(self, name: str, value: object) -> None:
        if name == "tail":
            self.draw()
        else:
            self.request()

    def _on_session(self, name: str, value: object) -> None:
        if name == "video":
            self.state.forget()
            self._frames = ()
        elif name == "playhead":
            if self.session.clip_frames() != self._frames:
                self.request()
            else:
                self.draw()
        elif name in ("encoders", "clip", "resolution", "device", "reading"):
            self.request()

    def save_state(self) -> None:
        self.state.options.save(self.host.store, "tracking")

    def shutdown(self, timeout: float) -> None:
        pass
