"""The encoder panes: one pane per chosen encoder showing its map of the playhead's time step.

:class:`ViewerFeature` owns the Settings dock (map kind, PCA, overlay, clip window), the
Encoders and View menus (one entry per map kind of :data:`jepa_studio.maps.KINDS`), the
similarity click, the value read-out under the mouse, and the exports of the view.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Callable

from PySide6.QtCore import QObject
from PySide6.QtGui import QActionGroup
from PySide6.QtWidgets import QDockWidget, QFileDialog, QInputDialog

from ... import maps
from ...engine import PaneError, PaneImage, make_request
from ...errors import JepaStudioError
from ...state import Reading
from ..shell.host import WindowHost
from .controls import ControlPanel
from .export_dialog import ExportRange, ask_export_range
from .panes import EncoderPane
from .view_export import ViewExporter

EXPORT_FILTER = "PNG image (*.png);;MP4 video (*.mp4);;GIF (*.gif)"


class ViewerFeature(QObject):
    """The encoder panes of a window (see the module docstring)."""

    name = "viewer"

    def __init__(self, host: WindowHost) -> None:
        super().__init__(host.widget)
        self.host = host
        self.session = host.session
        self.encoder_panes: dict[str, EncoderPane] = {}
        self._view_generation = 0
        #: ``() -> Path | None`` for File › Export current view (tests replace it)
        self.ask_export_path: Callable[[], Path | None] = self._ask_export_path
        #: ``(defaults) -> ExportRange | None`` for File › Export range (tests replace it)
        self.ask_export_range: Callable[[ExportRange], ExportRange | None] = self._ask_export_range
        self.exporter = ViewExporter(host)

        self._restore_reading()
        self.controls = ControlPanel(self.session)
        dock = QDockWidget("Settings", host.widget)
        dock.setObjectName("settingsDock")
        dock.setWidget(self.controls)
        self.controls.setMaximumWidth(300)
        host.add_dock(dock)
        self.dock = dock
        self._build_actions()
        host.on_message(PaneImage, self._on_pane_image)
        host.on_message(PaneError, self._on_pane_error)
        host.on_pane_click(self.name, self._on_pane_clicked)
        host.grid.hovered.connect(self._on_hover)  # type: ignore[attr-defined]
        self.session.subscribe(self._on_state)
        host.masking_state.subscribe(lambda name, _v: name == "mode" and self._rebuild_panes())
        host.masking_state.options.subscribe(lambda name, _v: name == "show_encoders" and self._rebuild_panes())
        self._rebuild_panes()

    # -- building -------------------------------------------------------------------------
    def _build_actions(self) -> None:
        a, h, s = self.host.actions, self.host, self.session
        file_menu, slot = h.menu("&File"), h.file_menu_slot()
        a.add("viewer.export", "&Export current view…", lambda: self.export_view(), menu=file_menu,
              shortcut="Ctrl+E", before=slot)
        a.add("viewer.export_range", "Export &range…", lambda: self.export_range(), menu=file_menu,
              shortcut="Ctrl+Shift+R", before=slot)
        view_menu = h.menu("&View")
        self.map_actions = QActionGroup(self)
        for kind in maps.KINDS.values():
            act = a.add(f"viewer.map.{kind.name}", kind.menu, lambda k=kind.name: s.update_view(map_kind=k),
                        menu=view_menu, shortcut=kind.shortcut or None, checkable=True)
            act.setData(kind.name)
            self.map_actions.addAction(act)
        view_menu.addSeparator()
        self.overlay_action = a.add("viewer.overlay", "&Overlay map on frame",
                                    lambda: s.update_view(overlay=not s.view.overlay), menu=view_menu,
                                    shortcut="O", checkable=True)
        a.add("viewer.centred", "&Centred similarity", lambda: s.update_view(centred=not s.view.centred),
              menu=view_menu, shortcut="C", checkable=True,
              tip="similarity of features with the clip's mean removed (keeps raw-pixel panes readable)")
        self.encoders_menu = h.menu("&Encoders")
        self.encoders_menu.aboutToShow.connect(self._refresh_encoders_menu)
        self._refresh_encoders_menu()
        self._sync_view_actions()

    def _refresh_encoders_menu(self) -> None:
        from ...encoders.registry import CHECKPOINTS, list_encoders

        menu = self.encoders_menu
        menu.clear()
        chosen = set(self.session.encoders)
        family = None

        def add(text: str, name: str, checked: bool) -> None:
            act = menu.addAction(text)
            act.setCheckable(True)
            act.setChecked(checked)
            act.triggered.connect(lambda _c=False, n=name: self.toggle_encoder(n))

        for name in list_encoders():
            info = CHECKPOINTS.get(name)
            fam = info.family if info else "pixels"
            if family is not None and fam != family:
                menu.addSeparator()
            family = fam
            text = name
            if info is not None:
                text += f"   ({info.params_m:g}M params, ~{info.memory_gb_fp16:g} GB fp16{', gated' if info.gated else ''})"
            add(text, name, name in chosen)
        others = [n for n in self.session.encoders if n not in list_encoders()]
        if others:
            menu.addSeparator()
            for name in others:
                add(name, name, True)
        menu.addSeparator()
        menu.addAction("Add by hub id…").triggered.connect(lambda _c=False: self._add_encoder_by_id())
        menu.addAction("Add from folder…").triggered.connect(lambda _c=False: self._add_encoder_folder())

    def toggle_encoder(self, name: str) -> None:
        if name in self.session.encoders:
            self.session.remove_encoder(name)
        else:
            self.session.add_encoder(name)

    def _add_encoder_by_id(self) -> None:
        text, ok = QInputDialog.getText(self.host.widget, "Add encoder", "Hub id (e.g. facebook/dinov2-small):")
        if ok and text.strip():
            self.session.add_encoder(text.strip())

    def _add_encoder_folder(self) -> None:
        path = QFileDialog.getExistingDirectory(self.host.widget, "Folder saved with save_pretrained")
        if path:
            self.session.add_encoder(path)

    # -- panes ----------------------------------------------------------------------------
    def _rebuild_panes(self) -> None:
        names = self.session.encoders
        self.encoder_panes = {n: self.encoder_panes.get(n) or EncoderPane(n) for n in names}
        view = self.session.view
        frame = self.host.current_frame  # type: ignore[attr-defined]
        for name, pane in self.encoder_panes.items():
            pane.set_overlay(view.overlay, view.overlay_opacity)
            pane.make_lookup = lambda n=name: self._lookup_for(n)
            if frame is not None:
                pane.set_frame(frame)
        hidden = self.host.masking_state.hides_encoder_panes  # mask mode gives the painter their room
        self.host.set_panes(self.name, [] if hidden else list(self.encoder_panes.values()))
        self._update_marker()

    def current_request(self):
        """The :class:`~jepa_studio.state.ViewRequest` for what the session shows now."""
        s = self.session
        return make_request(self.host.video_key, s.playhead, s.clip, s.n_frames, s.encoders, s.view, s.device,
                            s.resolution, s.reading)

    def _lookup_for(self, name: str) -> Callable[[int], PaneImage | None]:
        """``lookup(frame)``: encoder ``name``'s cached pane image of ``frame`` for the view as it
        is now (dictionary look-ups only; safe on a worker)."""
        req = self.current_request()
        engine = self.host.engine

        def lookup(frame: int) -> PaneImage | None:
            return engine.cached_panes(replace(req, playhead=int(frame), encoders=(name,))).get(name)

        return lookup

    def request_view(self) -> None:
        """Ask the engine for the panes of the playhead: what is cached shows at once."""
        if self.session.video is None or not self.session.encoders:
            return
        generation, ready = self.host.engine.request_view(self.current_request())
        self._view_generation = generation
        for name, pane_image in ready.items():
            pane = self.encoder_panes.get(name)
            if pane is not None:
                pane.show_result(pane_image)
        if len(ready) < len(self.session.encoders):
            for name, pane in self.encoder_panes.items():
                if name not in ready and pane.last is None:
                    pane.set_note("computing…")

    def _on_pane_image(self, message: PaneImage) -> None:
        if message.generation == self._view_generation:
            pane = self.encoder_panes.get(message.encoder)
            if pane is not None:
                pane.show_result(message)

    def _on_pane_error(self, message: PaneError) -> None:
        if message.generation != self._view_generation:
            return
        pane = self.encoder_panes.get(message.encoder)
        if pane is not None:
            pane.show_error(message.message)
        if message.kind == "memory":
            self.host.show_error(message.message, "viewer")

    # -- state ----------------------------------------------------------------------------
    def _on_state(self, name: str, value: object) -> None:
        if name == "video":
            for pane in self.encoder_panes.values():
                pane.clear()
        elif name == "encoders":
            self._rebuild_panes()
            self.request_view()
        elif name == "view":
            self._sync_view_actions()
            view = self.session.view
            for pane in self.encoder_panes.values():
                pane.set_overlay(view.overlay, view.overlay_opacity)
            self._update_marker()
            self.request_view()
        elif name in ("playhead", "clip", "resolution", "device", "reading"):
            self.request_view()

    def _sync_view_actions(self) -> None:
        view = self.session.view
        for act in self.map_actions.actions():
            act.setChecked(act.data() == view.map_kind)
        self.overlay_action.setChecked(view.overlay)
        self.host.actions["viewer.centred"].setChecked(view.centred)

    def _update_marker(self) -> None:
        view = self.session.view
        point = view.query[:2] if view.query is not None and maps.get(view.map_kind).needs_query else None
        for pane in self.encoder_panes.values():
            pane.set_marker(point)
        self.host.frame_pane.set_marker(point)

    def _on_pane_clicked(self, x: float, y: float, key: str) -> None:
        video = self.session.video
        if video is None:
            return
        w, h = video.size
        if 0 <= x < w and 0 <= y < h:
            kind = self.session.view.map_kind if maps.get(self.session.view.map_kind).needs_query else "similarity"
            self.session.update_view(map_kind=kind, query=(x, y, self.session.playhead))

    def _on_hover(self, x: float, y: float, key: str) -> None:
        pane = self.encoder_panes.get(key)
        text = pane.value_at(x, y) if pane is not None else ""
        if text:
            self.host.show_status(text, 3000)

    # -- export ---------------------------------------------------------------------------
    def _ask_export_path(self) -> Path | None:
        video = self.session.video
        start = self.host.export_folder() / ((video.path.stem if video else "view") + ".view.png")
        path, _ = QFileDialog.getSaveFileName(self.host.widget, "Export current view", str(start), EXPORT_FILTER)
        return Path(path) if path else None

    def _ask_export_range(self, defaults: ExportRange) -> ExportRange | None:
        meta = self.session.video
        return ask_export_range(self.host.widget, defaults, meta) if meta is not None else None

    def export_view(self, path: Path | None = None) -> int | None:
        """Ctrl+E: every pane as it is on screen, as an image (.png, .jpg) or, over the clip
        window, a video (.mp4, .gif, .webm)."""
        if self.session.video is None:
            self.host.show_error("Open a video before exporting.", "export")
            return None
        path = path or self.ask_export_path()
        if path is None:
            return None
        if not path.suffix:
            path = path.with_suffix(".png")
        self.host.stop_playback()
        try:
            return self.exporter.export(path)
        except JepaStudioError as error:
            self.host.show_error(str(error), "export")
            return None

    def export_range(self) -> int | None:
        """File › Export range…: frames START:STOP:STEP (default: the clip window) as a video or
        an image, through :func:`jepa_studio.export.export_comparison` like the CLI."""
        s = self.session
        if s.video is None:
            self.host.show_error("Open a video before exporting.", "export")
            return None
        clip = s.clip_frames()
        step = clip[1] - clip[0] if len(clip) > 1 else 1
        defaults = ExportRange(clip[0], clip[-1] + 1, step, self.host.export_folder() / (s.video.path.stem + ".comparison.mp4"))
        choice = self.ask_export_range(defaults)
        if choice is None:
            return None
        frames = [f for f in choice.frames if 0 <= f < s.n_frames]
        if not frames:
            self.host.show_error(
                f"Frames {choice.start}:{choice.stop}:{choice.step} select no frame of this video "
                f"(it has {s.n_frames} frames: 0 to {s.n_frames - 1}).", "export"
            )
            return None
        out = choice.path if choice.path.suffix else choice.path.with_suffix(".mp4")
        self.host.stop_playback()
        try:
            return self.host.engine.export(out, s.encoders, frames, s.view, s.device, s.resolution, s.reading)
        except JepaStudioError as error:
            self.host.show_error(str(error), "export")
            return None

    # -- the window closes ----------------------------------------------------------------
    def _restore_reading(self) -> None:
        store = self.host.store
        try:
            final = str(store.value("reading/final_norm", "true")).lower() != "false"
            self.session.set_reading(Reading.parse(str(store.value("reading/layer", "last") or "last"), final))
        except ValueError:
            pass  # an edited settings file: keep the default

    def save_state(self) -> None:
        reading = self.session.reading
        self.host.store.set_value("reading/layer", str(reading.layer))
        self.host.store.set_value("reading/final_norm", "true" if reading.final_norm else "false")

    def shutdown(self, timeout: float) -> None:
        pass
