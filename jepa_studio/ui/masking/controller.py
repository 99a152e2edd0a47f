"""Masking in the studio window: paint a mask on the frame pane, see what the encoder recovers.

:class:`MaskingFeature` binds the Qt-free :class:`~jepa_studio.state.masking.MaskingState`
(options, the mask document, mask mode) to the window:

- **mask mode** (Mask menu, toolbar, ``M``): the :class:`~.painter.MaskPainter` on the frame
  pane edits the document (brush, eraser, rectangle, ``[`` / ``]``, invert, clear, Ctrl+Z /
  Ctrl+Shift+Z), with the chosen encoder's token grid drawn while painting; presets; the
  whole clip or chosen time steps;
- **masked-prediction panes** (:class:`~.panes.MaskedPane`): the PCA of the full encoding,
  context + predicted through the same basis, and the cosine error map with the mean score;
  V-JEPA 2's leaky variant beside them (labelled), inpainting for encoders without a
  predictor; computed by :class:`~jepa_studio.engine.masking.MaskingEngine` on the GPU lane
  after each stroke ends (latest wins), never on the GUI thread;
- **files**: load and save the mask (PNG), the mask kept with the session (a PNG per video
  beside the settings file), and export of the comparison through ``jepa-studio mask``'s code.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Callable

from PySide6.QtCore import QObject, Qt, QTimer
from PySide6.QtGui import QActionGroup, QKeySequence
from PySide6.QtWidgets import QDockWidget, QListWidgetItem, QScrollArea, QToolBar

from ...analysis.masked_view import MaskedView
from ...engine.masking import MaskError, MaskGridReady, MaskingEngine
from ...engine.messages import Progress
from ...errors import JepaStudioError
from ...state.mask import MaskDocument
from ..shell import theme
from ..shell.host import WindowHost
from ..shell.labels import wrap
from . import dialogs
from .painter import MaskPainter
from .panel import PRESET_LABELS, TOOL_LABELS, MaskingPanel
from .panes import MaskedPane, show_view_step



class MaskingFeature(QObject):
    """Masking in a window (see the module docstring)."""

    name = "masking"

    def __init__(self, host: WindowHost) -> None:
        super().__init__(host.widget)
        self.host = host
        self.session = host.session
        self.store = host.store
        self.state = host.masking_state  # type: ignore[attr-defined]
        self.state.options.load(self.store, "mask")
        self.masking = MaskingEngine(host.engine, host.deliver)
        self.painter = MaskPainter(host.frame_pane.view_box, host.frame_pane.frame_item, self.document, self)
        self.painter.set_overlay_visible(False)
        self.view: MaskedView | None = None
        self._request_frames: tuple[int, ...] = ()
        self._request_channels: tuple[int, ...] = tuple(self.session.view.channels)
        self._unsubscribe_doc: Callable[[], None] | None = None
        self._video_path: Path | None = None
        self.last_error = ""
        #: ``() -> Path | None`` for each dialog (tests replace them)
        self.ask_export_path: Callable[[], Path | None] = lambda: dialogs.ask_export_path(
            host.widget, host.export_folder(), self._video_path)
        self.ask_open_mask_path: Callable[[], Path | None] = lambda: dialogs.ask_open_mask_path(host.widget, self.store)
        self.ask_save_mask_path: Callable[[], Path | None] = lambda: dialogs.ask_save_mask_path(
            host.widget, self.store, self._video_path)

        self.panes = {
            "full": MaskedPane("full"),
            "predicted": MaskedPane("predicted"),
            "error": MaskedPane("error"),
            "leaky_predicted": MaskedPane("predicted", 1),
            "leaky_error": MaskedPane("error", 1),
        }
        self._shown: list[MaskedPane] = []
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
        self._set_document(MaskDocument(1, 1))
        for kind, handler in ((MaskGridReady, self._on_grid), (MaskedView, self._on_view),
                              (MaskError, self._on_error), (Progress, self._on_progress)):
            host.on_message(kind, handler)
        self.session.subscribe(self._on_session)
        self.state.subscribe(self._on_state)
        self.state.options.subscribe(self._on_options)

    @property
    def document(self) -> MaskDocument:
        return self.state.document

    @property
    def mode(self) -> bool:
        """True while mask mode is on (painting, masked panes shown)."""
        return self.state.mode

    @property
    def encoder(self) -> str | None:
        """The encoder whose masked prediction is shown."""
        return self.state.encoder

    # -- building -------------------------------------------------------------------------
    def _build_panel(self) -> None:
        self.panel = MaskingPanel()
        self.panel.bind(self.state)
        dock = QDockWidget("Mask", self.host.widget)
        dock.setObjectName("maskingDock")
        scroll = QScrollArea()  # the dock never forces the window taller than the screen
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setWidget(self.panel)
        scroll.setMaximumWidth(320)
        dock.setWidget(scroll)
        self.panel.setMaximumWidth(320)
        self.host.add_dock(dock)
        self.dock = dock
        p = self.panel
        p.mode.toggled.connect(self.set_mode)
        for key, button in p.tool_buttons.items():
            button.toggled.connect(lambda on, k=key: on and self.set_tool(k))
        p.brush.valueChanged.connect(lambda v: self._updating_brush or self.document.set_brush_size(float(v)))
        p.undo.clicked.connect(lambda: self.document.undo())
        p.redo.clicked.connect(lambda: self.document.redo())
        p.invert.clicked.connect(lambda: self.document.invert())
        p.clear.clicked.connect(lambda: self.document.clear())
        p.applies.currentIndexChanged.connect(self._commit_steps)
        p.steps.itemChanged.connect(lambda _item: self._commit_steps())
        p.this_step.clicked.connect(self.only_current_step)
        for key, button in p.preset_buttons.items():
            button.clicked.connect(lambda _c=False, k=key: self.apply_preset(k))
        p.export.clicked.connect(lambda: self.export())
        self._updating_brush = False
        self._updating_steps = False

    def _build_actions(self) -> None:
        a, h = self.host.actions, self.host
        menu = h.menu("&Mask")
        self.menu = menu
        self.mode_action = a.add("masking.mode", "&Mask mode (paint on the frame)", lambda: self.set_mode(not self.mode),
                                 menu=menu, shortcut="M", checkable=True)
        menu.addSeparator()
        self.tool_actions = QActionGroup(self)
        for key, text in TOOL_LABELS.items():
            act = a.add(f"masking.tool.{key}", text, lambda k=key: self.set_tool(k), menu=menu, checkable=True,
                        checked=key == "brush")
            act.setData(key)
            self.tool_actions.addAction(act)
        a.add("masking.smaller", "Smaller brush", lambda: self.document.shrink_brush(), menu=menu, shortcut="[")
        a.add("masking.larger", "Larger brush", lambda: self.document.grow_brush(), menu=menu, shortcut="]")
        menu.addSeparator()
        self.undo_action = a.add("masking.undo", "&Undo", lambda: self.document.undo(), menu=menu, shortcut="Ctrl+Z")
        self.redo_action = a.add("masking.redo", "&Redo", lambda: self.document.redo(), menu=menu, shortcut="Ctrl+Shift+Z")
        a.add("masking.invert", "&Invert", lambda: self.document.invert(), menu=menu, shortcut="I")
        a.add("masking.clear", "&Clear", lambda: self.document.clear(), menu=menu)
        presets = menu.addMenu("&Presets")
        for key, text in PRESET_LABELS.items():
            a.add(f"masking.preset.{key}", text, lambda k=key: self.apply_preset(k), menu=presets)
        menu.addSeparator()
        self.leaky_action = a.add("masking.leaky", "Show the &leaky variant",
                                  lambda: self.state.options.update(leaky=not self.state.options.leaky),
                                  menu=menu, checkable=True, checked=self.state.options.leaky)
        menu.addAction(self.dock.toggleViewAction())

        file_menu, slot = h.menu("&File"), h.file_menu_slot()
        self.load_action = a.add("masking.load", "&Load mask…", lambda: self.load_mask(), menu=file_menu, before=slot)
        self.save_action = a.add("masking.save", "Save mas&k…", lambda: self.save_mask(), menu=file_menu, before=slot)
        self.export_action = a.add("masking.export", "Export &masked prediction…", lambda: self.export(),
                                   menu=file_menu, shortcut=QKeySequence("Ctrl+Shift+E"), before=slot)

        bar = QToolBar("Mask", h.widget)
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
        h.widget.addToolBar(Qt.ToolBarArea.TopToolBarArea, bar)  # type: ignore[attr-defined]
        self.toolbar = bar

    # -- settings and files ---------------------------------------------------------------
    def autosave_path(self, video: Path | None = None) -> Path | None:
        """The PNG that keeps ``video``'s mask with the session, beside the settings file
        (None without a settings file)."""
        video, folder = video or self._video_path, self.host.settings_folder()
        if video is None or folder is None:
            return None
        digest = hashlib.sha1(str(Path(video).resolve()).encode()).hexdigest()[:16]
        return folder / "jepa-studio-masks" / f"{digest}.png"

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
        """The window closes: keep the mask and the masking options."""
        self.autosave()
        self.state.options.save(self.store, "mask")
        self.store.set_value("mask/mode", "true" if self.mode else "false")

    def shutdown(self, timeout: float) -> None:
        pass

    # -- document -------------------------------------------------------------------------
    def _set_document(self, document: MaskDocument) -> None:
        if self._unsubscribe_doc is not None:
            self._unsubscribe_doc()
        self.state.set_document(document)
        self._unsubscribe_doc = document.subscribe(self._on_document)
        self.painter.set_document(document)
        self._updating_brush = True
        try:
            self.panel.brush.setValue(int(round(document.brush_size)))
        finally:
            self._updating_brush = False
        self._sync_history()
        self._refresh_steps()

    def _on_document(self, name: str, value: object) -> None:
        if name == "mask":
            self._sync_overlay()
            self._sync_history()
            self._refresh_steps()
            self._autosave.start()
            if not self.document.painting:  # a command, undo or redo: recompute now
                self.schedule()
        elif name == "stroke_end":
            if value:
                self.schedule()  # a stroke ended: recompute once, not on every move
        elif name == "brush_size":
            self._updating_brush = True
            try:
                self.panel.brush.setValue(int(round(float(value))))  # type: ignore[arg-type]
            finally:
                self._updating_brush = False

    def _sync_history(self) -> None:
        doc = self.document
        for widget, ok in ((self.panel.undo, doc.can_undo), (self.undo_action, doc.can_undo),
                           (self.panel.redo, doc.can_redo), (self.redo_action, doc.can_redo)):
            widget.setEnabled(ok)

    # -- mode, tools, presets, steps ------------------------------------------------------
    def set_mode(self, on: bool) -> None:
        """Turn mask mode on (painter, token grid, masked panes) or off."""
        self.state.set_mode(bool(on))

    def _apply_mode(self, on: bool) -> None:
        for widget in (self.mode_action, self.panel.mode):
            if widget.isChecked() != on:
                widget.blockSignals(True)
                widget.setChecked(on)
                widget.blockSignals(False)
        self.painter.set_enabled(on)
        self._sync_overlay()
        if on:
            self.dock.show()
            self.dock.raise_()
            self._sync_panes()
            self.schedule()
        else:
            self._show_panes([])
            self.panel.busy.hide()
            self.host.clear_error("masking")

    def _forget_grid(self) -> None:
        """The encoder, its input or the video changed: the token grid is not known any more."""
        self.state.grid = None
        self.painter.set_token_grid(None)

    def _sync_overlay(self) -> None:
        """Tint the mask on the frame in mask mode, on the frames it applies to only."""
        frames = self.document.frames
        self.painter.set_overlay_visible(self.mode and (frames is None or self.session.playhead in frames))

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
        view = self.view
        if view is not None and self._request_frames == self.session.clip_frames():
            return view.frame_indices
        return self.state.clip_steps()

    def apply_preset(self, name: str) -> None:
        """Replace the mask with a preset (one undo step) and turn mask mode on."""
        if self.session.video is None:
            self.host.show_error("Open a video before choosing a preset mask.", "masking")
            return
        try:
            self.state.apply_preset(name)
        except JepaStudioError as error:
            self.host.show_error(str(error), "masking")

    def only_current_step(self) -> None:
        """Apply the mask to the time step under the playhead only."""
        for covered in self.clip_steps():
            if self.session.playhead in covered:
                self.document.set_frames(covered)
                return

    def _refresh_steps(self) -> None:
        p = self.panel
        self._updating_steps = True
        try:
            frames = self.document.frames
            p.applies.setCurrentIndex(0 if frames is None else 1)
            p.steps.clear()
            for covered in self.clip_steps():
                span = f"frame {covered[0]}" if len(covered) == 1 else f"frames {covered[0]}–{covered[-1]}"
                item = QListWidgetItem(span)
                item.setData(Qt.ItemDataRole.UserRole, tuple(covered))
                item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
                checked = frames is None or any(f in frames for f in covered)
                item.setCheckState(Qt.CheckState.Checked if checked else Qt.CheckState.Unchecked)
                p.steps.addItem(item)
            p.steps.setEnabled(frames is not None)
        finally:
            self._updating_steps = False

    def _commit_steps(self) -> None:
        if self._updating_steps:
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

    # -- requests -------------------------------------------------------------------------
    def schedule(self) -> None:
        """Recompute soon (coalesces the events of one command)."""
        if self.mode:
            self._timer.start()

    def current_request(self):
        """The :class:`~jepa_studio.state.MaskRequest` for the mask and clip now (or None)."""
        return self.state.request(self.host.video_key)

    def request(self) -> int | None:
        """Ask the engine for the masked panes of the current mask and clip (never blocks)."""
        self._timer.stop()
        if not self.mode:
            return None
        req = self.current_request()
        if req is None:
            return None
        rid, view = self.masking.request(req)
        self.state.set_latest(rid)
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

    # -- results (GUI thread) -------------------------------------------------------------
    def _on_grid(self, message: MaskGridReady) -> None:
        if message.request == self.state.latest:
            self.state.tubelet_size = message.tubelet_size
            self.state.grid = message.grid
            self.painter.set_token_grid(message.grid)
            self._refresh_steps()

    def _on_view(self, message: MaskedView) -> None:
        if message.request == self.state.latest:
            self._show(message)

    def _on_progress(self, message: Progress) -> None:
        if message.cancelled and self.panel.busy.isVisible():  # the status bar's Cancel stopped it
            self.panel.busy.hide()
            self.panel.status.setText("cancelled: paint, or change a setting, to compute again")

    def _on_error(self, message: MaskError) -> None:
        if message.request != self.state.latest:
            return
        self.panel.busy.hide()
        self.view = None
        self.last_error = message.message
        self.panel.status.setText(f'<span style="color:{theme.ERROR}">{message.message}</span>')
        for pane in self._shown:
            pane.set_title("", "")  # no score of an older mask stays above the error
            pane.clear_map(wrap(message.message, 44) if pane.role == "error" else "", theme.ERROR)
        self.host.show_error(f"Masked prediction with {message.encoder} failed: {message.message}", "masking")

    def _show(self, view: MaskedView) -> None:
        self.view = view
        self.last_error = ""
        self.host.clear_error("masking")
        self.panel.busy.hide()
        self.state.tubelet_size = view.tubelet_size
        self.state.grid = view.grid
        self.painter.set_token_grid(view.grid)
        self._sync_panes()
        self._refresh_steps()
        self.show_step()

    def _show_panes(self, panes: list[MaskedPane]) -> None:
        video = self.session.video
        for pane in panes:
            if pane not in self._shown and video is not None:
                pane.set_frame_size(video.size)
        self._shown = panes
        self.host.set_panes(self.name, panes)

    def _sync_panes(self) -> None:
        """Show the panes the current encoder and options call for."""
        if not self.mode:
            return
        view = self.view
        current = view is not None and view.encoder == self.encoder
        variants = len(view.variants) if current else (2 if self.state.options.leaky else 1)  # type: ignore[union-attr]
        wanted = [self.panes[k] for k in self.state.options.pane_keys(variants)]
        if wanted != self._shown:
            self._show_panes(wanted)

    def show_step(self) -> None:
        """Show the playhead's time step of the current view (no computation)."""
        view = self.view
        if view is None or not self.mode:
            return
        t = view.time_step(self.session.playhead)
        if t is not None:
            self.panel.status.setText(show_view_step(self.panes, self._shown, view, t))

    # -- state changes --------------------------------------------------------------------
    def _on_state(self, name: str, value: object) -> None:
        if name == "mode":
            self._apply_mode(bool(value))

    def _on_options(self, name: str, value: object) -> None:
        self.leaky_action.setChecked(self.state.options.leaky)
        if name.startswith("show_"):
            self._sync_panes()
            if self.view is not None:
                self.show_step()
            return
        if name == "future_steps":
            return
        self._forget_grid()
        if self.mode:
            self._sync_panes()
            self.schedule()

    def _on_session(self, name: str, value: object) -> None:
        if name == "video":
            self._on_video(value)
        elif name == "playhead":
            self._sync_overlay()
            if self.view is not None and self.session.clip_frames() == self._request_frames:
                self.show_step()
            else:
                self._refresh_steps()
                self.schedule()
        elif name == "encoders":
            self._on_options("encoder", None)
        elif name in ("clip", "resolution", "device"):
            self._forget_grid()
            self._refresh_steps()
            self.schedule()
        elif name == "view":
            if tuple(self.session.view.channels) != self._request_channels:
                self.schedule()  # the masked panes show the same components as the others

    def _on_video(self, meta: object) -> None:
        self.autosave()  # the previous video's mask
        self.view = None
        self._forget_grid()
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
            pane.set_title("", "")
            pane.clear_map("paint a mask on the frame")
        if str(self.store.value("mask/mode", "false")).lower() == "true" and not self.mode:
            self.set_mode(True)
        self.schedule()

    # -- files ----------------------------------------------------------------------------
    def load_mask(self, path: Path | None = None) -> bool:
        """Load a mask PNG (one undo step) and turn mask mode on; errors show in the window."""
        if self.session.video is None:
            self.host.show_error("Open a video before loading a mask.", "masking")
            return False
        path = path or self.ask_open_mask_path()
        if path is None:
            return False
        try:
            self.document.load_png(path)
        except JepaStudioError as error:
            self.host.show_error(str(error), "masking")
            return False
        self.store.set_value("mask/last_path", str(path))
        self.set_mode(True)
        return True

    def save_mask(self, path: Path | None = None) -> bool:
        """Save the mask as a PNG (white = hidden, the chosen frames in a text chunk)."""
        if self.session.video is None:
            self.host.show_error("Open a video and paint a mask before saving it.", "masking")
            return False
        path = path or self.ask_save_mask_path()
        if path is None:
            return False
        if not path.suffix:
            path = path.with_suffix(".png")
        try:
            self.document.save_png(path)
        except JepaStudioError as error:
            self.host.show_error(str(error), "masking")
            return False
        self.store.set_value("mask/last_path", str(path))
        self.host.show_status(f"saved the mask to {path}", 6000)
        return True

    def export(self, path: Path | None = None) -> int | None:
        """Export the masked-prediction comparison of the clip (PNG, JPEG, MP4, GIF) in the
        background, through the same functions as ``jepa-studio mask``."""
        req = self.current_request()
        if req is None:
            self.host.show_error("Open a video and choose an encoder before exporting a masked prediction.", "masking")
            return None
        if not req.mask.pixels.any():
            self.host.show_error("Paint a mask (or choose a preset) before exporting a masked prediction.", "masking")
            return None
        path = path or self.ask_export_path()
        if path is None:
            return None
        if not path.suffix:
            path = path.with_suffix(".png")
        self.host.stop_playback()
        try:
            return self.masking.export(path, req)
        except JepaStudioError as error:
            self.host.show_error(str(error), "masking")
            return None
