"""The surprise timeline in the studio window: where an encoder's predictions of what comes
next fail, over the whole video, with the pixel difference beside it as the control.

:class:`SurpriseFeature` binds :class:`~jepa_studio.state.surprise.SurpriseState` to a strip
under the timeline (:class:`~.strip.SurpriseStrip`: click a peak to jump there), a pane with
the per-patch surprise of the playhead's step (:class:`~.pane.SurprisePane`), and the Surprise
menu (compute, export CSV and PNG). The curve is computed by
:class:`~jepa_studio.engine.surprise.SurpriseEngine` on the GPU lane, with progress and Cancel.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QFileDialog

from ...analysis.surprise import SurpriseCurve
from ...engine.surprise import SurpriseEngine, SurpriseFailed, SurpriseReady
from ...errors import JepaStudioError
from ..shell.host import WindowHost
from .pane import SurprisePane
from .strip import SurpriseStrip


class SurpriseFeature(QObject):
    """The surprise timeline of a window (see the module docstring)."""

    name = "surprise"

    def __init__(self, host: WindowHost) -> None:
        super().__init__(host.widget)
        self.host = host
        self.session = host.session
        self.state = host.surprise_state  # type: ignore[attr-defined]
        self.state.options.load(host.store, "surprise")
        self.engine = SurpriseEngine(host.engine, host.deliver)
        self.curve: SurpriseCurve | None = None
        self._latest = 0
        self.pane = SurprisePane()
        self.strip = SurpriseStrip()
        host.add_strip(self.strip)  # type: ignore[attr-defined]
        self.strip.jumped.connect(self.session.set_playhead)
        self.strip.compute.clicked.connect(lambda: self.compute())
        self.strip.export.clicked.connect(lambda: self.export())
        self.strip.encoder.activated.connect(
            lambda _i: self.state.options.update(encoder=str(self.strip.encoder.currentData() or "")))
        self.strip.method.activated.connect(
            lambda _i: self.state.options.update(method=str(self.strip.method.currentData() or "")))
        #: ``() -> Path | None``: the folder to export into (tests replace the dialog)
        self.ask_export_folder = self._ask_export_folder

        a = host.actions
        menu = host.menu("&Surprise")
        a.add("surprise.compute", "&Compute the surprise timeline", lambda: self.compute(), menu=menu, shortcut="Ctrl+U")
        a.add("surprise.export", "&Export the curve (CSV, PNG)…", lambda: self.export(), menu=menu)
        self.pane_action = a.add("surprise.pane", "Show the surprise &pane",
                                 lambda: self.state.options.update(show_pane=not self.state.options.show_pane),
                                 menu=menu, checkable=True, checked=self.state.options.show_pane)
        self.strip_action = a.add("surprise.strip", "Show the surprise &strip", lambda: self.strip.setVisible(not self.strip.isVisible()),
                                  menu=menu, checkable=True, checked=True)
        host.on_message(SurpriseReady, self._on_ready)
        host.on_message(SurpriseFailed, self._on_failed)
        self.session.subscribe(self._on_session)
        self.state.options.subscribe(self._on_options)
        self._refresh_encoders()

    # -- computing ------------------------------------------------------------------------
    def compute(self) -> int | None:
        """Compute (or show, when computed before) the curve of the chosen encoder."""
        req = self.state.request(self.host.video_key)
        if req is None:
            self.host.show_error("Open a video and choose an encoder before computing surprise.", "surprise")
            return None
        self._latest, curve = self.engine.compute(req)
        if curve is not None:
            self._show(curve)
        else:
            self.strip.status.setText(f"computing the surprise of {req.encoder} over {req.n_frames} frames…")
        return self._latest

    def _on_ready(self, message: SurpriseReady) -> None:
        if message.request == self._latest:
            self._show(message.curve)

    def _on_failed(self, message: SurpriseFailed) -> None:
        if message.request == self._latest:
            self.strip.status.setText("failed")
            self.host.show_error(f"The surprise timeline failed: {message.message}", "surprise")

    def _show(self, curve: SurpriseCurve | None) -> None:
        self.curve = curve
        self.host.clear_error("surprise")
        self.strip.show_curve(curve)
        if curve is not None:
            peaks = ", ".join(str(int(curve.frames[s])) for s in curve.peaks(3))
            self.strip.status.setText(f"orange: {curve.method}, grey dashes: pixel difference · peaks at frames {peaks}")
        else:
            self.strip.status.setText("")
        self._sync_pane()

    def _sync_pane(self) -> None:
        show = self.curve is not None and self.state.options.show_pane and self.session.video is not None
        if show:
            self.pane.set_frame_size(self.session.video.size)  # type: ignore[union-attr]
            self.pane.show_step(self.curve, self.session.playhead)  # type: ignore[arg-type]
        self.host.set_panes(self.name, [self.pane] if show else [])

    # -- state ----------------------------------------------------------------------------
    def _refresh_encoders(self) -> None:
        combo = self.strip.encoder
        combo.clear()
        for name in self.session.encoders:
            combo.addItem(Path(name).name if "/" in name and Path(name).exists() else name, name)
        if self.state.encoder in self.session.encoders:
            combo.setCurrentIndex(list(self.session.encoders).index(self.state.encoder))
        self.strip.method.setCurrentIndex(max(0, self.strip.method.findData(self.state.options.method)))

    def _on_options(self, name: str, value: object) -> None:
        self.pane_action.setChecked(self.state.options.show_pane)
        if name == "show_pane":
            self._sync_pane()
        else:
            self._refresh_encoders()
            self._show(None)  # the shown curve no longer answers the options

    def _on_session(self, name: str, value: object) -> None:
        if name == "playhead":
            self.strip.set_playhead(self.session.playhead)
            if self.curve is not None and self.state.options.show_pane:
                self.pane.show_step(self.curve, self.session.playhead)
        elif name == "encoders":
            self._refresh_encoders()
        elif name in ("video", "resolution", "device"):
            self._show(None)  # another video or input: the curve is stale

    # -- export ---------------------------------------------------------------------------
    def _ask_export_folder(self) -> Path | None:
        path = QFileDialog.getExistingDirectory(self.host.widget, "Export the surprise curve into", str(self.host.export_folder()))
        return Path(path) if path else None

    def export(self, folder: Path | None = None) -> list[Path]:
        """Write surprise.csv and surprise.png of the shown curve into a folder."""
        from ...export.surprise import surprise_plot, write_csv
        from ...video import save_image

        if self.curve is None:
            self.host.show_error("Compute the surprise timeline before exporting it.", "surprise")
            return []
        folder = folder or self.ask_export_folder()
        if folder is None:
            return []
        try:
            written = [write_csv(folder / "surprise.csv", self.curve), save_image(folder / "surprise.png", surprise_plot(self.curve))]
        except (OSError, JepaStudioError) as error:
            self.host.show_error(f"Could not write the surprise curve: {error}", "surprise")
            return []
        self.host.remember_export(written[0])
        self.host.show_status(f"wrote {written[0]} and {written[1].name}", 8000)
        return written

    def save_state(self) -> None:
        self.state.options.save(self.host.store, "surprise")

    def shutdown(self, timeout: float) -> None:
        pass
