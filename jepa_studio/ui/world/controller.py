"""World models in the studio window: train, watch the losses, see reconstructions and rollouts,
compare encoders.

:class:`WorldFeature` wires :class:`~jepa_studio.engine.world.WorldEngine` (Qt-free, on the
engine's GPU lane) into the window:

- the **World model** dock (:class:`~.panel.WorldPanel`): encoders, data (the open video's
  frames in a range, or the pendulum simulator), history, horizon, frameskip, steps, seed,
  the decoder's input (raw or layer-normed tokens); Train, Cancel, Resume, Load / Save
  checkpoint; a progress bar and a live loss plot (decoder and transition, training and held-out);
- panes: the decoder's **reconstruction** of the frame under the playhead, and **rollouts**
  from a context window ending at the playhead, decoded beside the real future frames, the
  rollout step chosen with a slider; the **decoded masked prediction** in mask mode when a
  decoder trained on layer-normed tokens of that encoder is loaded;
- the **comparison** dock (:class:`~.panel.ComparisonPanel`): ``compare_encoders`` in the
  background, the per-horizon table, plots against the copy baseline and the decoder's
  ceiling, the rollout grid, and the report folder written by ``jepa-studio compare``'s code.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import numpy as np
from PySide6.QtCore import QObject, QStandardPaths, Qt, QTimer
from PySide6.QtWidgets import QDockWidget, QFileDialog

from ...analysis.masked_view import MaskedView
from ...engine.world import (
    MaskDecoded,
    Reconstruction,
    RolloutView,
    WorldEngine,
    WorldProgress,
    WorldReady,
    WorldRunDone,
    WorldSettings,
    data_key,
)
from ...state.world import WorldState
from ...errors import JepaStudioError, UsageError
from ...world.checkpoints import safe_name
from ..shell import theme
from ..shell.host import WindowHost
from ..shell.labels import label_html
from .comparison import ComparisonController
from .loss_plot import LossPlot
from .panel import ComparisonPanel, WorldPanel
from .panes import WorldPane, place


class WorldFeature(QObject):
    """World models in a window (see the module docstring)."""

    name = "world"

    def __init__(self, host: WindowHost) -> None:
        super().__init__(host.widget)
        self.host = host
        self.session = host.session
        self.store = host.store
        self.masking_state = host.masking_state  # type: ignore[attr-defined]
        self.world = WorldEngine(host.engine, host.deliver)
        #: the dock's options, Qt-free (the panel binds to them)
        self.state = WorldState(self.session)
        self._run = 0
        self._updating = False
        self.recon_panes: dict[str, WorldPane] = {}
        self.rollout_panes: dict[str, WorldPane] = {}
        self.real_pane = WorldPane("world-real", "real", "Real future")
        self.masked_pane = WorldPane("world-masked", "masked", "Decoded masked prediction")
        self._shown: list[WorldPane] = []
        self.rollouts: dict[str, RolloutView] = {}
        self.reconstructions: dict[str, Reconstruction] = {}
        self.masked: MaskDecoded | None = None
        self._masked_view: MaskedView | None = None
        self._recon_ids: dict[str, int] = {}
        self._rollout_ids: dict[str, int] = {}
        self._masked_id = 0
        self.last_checkpoints: tuple[str, ...] = ()
        self.last_error = ""
        self._last_live_recon = 0.0
        #: ``() -> Path | None`` for each dialog (tests replace them)
        self.ask_load_path: Callable[[], Path | None] = self._ask_load_path
        self.ask_save_path: Callable[[], Path | None] = self._ask_save_path
        self._refresh_timer = QTimer(self)
        self._refresh_timer.setSingleShot(True)
        self._refresh_timer.setInterval(40)  # coalesces scrubbing into one request
        self._refresh_timer.timeout.connect(self.refresh_panes)

        self.state.options.load(self.store, "world")
        self._build()
        for kind, handler in ((WorldProgress, self._on_progress), (WorldReady, self._on_ready),
                              (WorldRunDone, self._on_done), (Reconstruction, self._on_reconstruction),
                              (RolloutView, self._on_rollout), (MaskedView, self._on_masked_view),
                              (MaskDecoded, self._on_mask_decoded)):
            host.on_message(kind, handler)
        self.session.subscribe(self._on_state)
        self.masking_state.subscribe(lambda name, _v: name == "mode" and self._sync_panes())
        self.state.options.subscribe(self._on_option)
        self._sync_source()

    # -- building -------------------------------------------------------------------------
    def _build(self) -> None:
        w = self.host.widget
        self.panel = WorldPanel()
        self.panel.bind(self.state)
        self.losses = LossPlot(self.panel.plot, self.panel.legend, self.panel.plot_empty)
        dock = QDockWidget("World", w)
        dock.setObjectName("worldDock")
        dock.setWidget(self.panel)
        self.panel.setMinimumWidth(280)
        self.panel.setMaximumWidth(340)
        self.host.add_dock(dock)
        self.dock = dock

        self.compare_panel = ComparisonPanel()
        self.comparison = ComparisonController(self, self.compare_panel)
        cdock = QDockWidget("World-model comparison", w)
        cdock.setObjectName("comparisonDock")
        cdock.setWidget(self.compare_panel)
        # the right docks reach down to the status bar; the comparison sits under the panes only
        w.setCorner(Qt.Corner.BottomRightCorner, Qt.DockWidgetArea.RightDockWidgetArea)  # type: ignore[attr-defined]
        self.host.add_dock(cdock, Qt.DockWidgetArea.BottomDockWidgetArea, tab=False)
        cdock.hide()
        self.compare_dock = cdock

        p = self.panel
        p.train.clicked.connect(lambda: self.train(resume=False))
        p.resume.clicked.connect(lambda: self.train(resume=True))
        p.cancel.clicked.connect(self.cancel)
        p.load.clicked.connect(lambda: self.load_checkpoint())
        p.save.clicked.connect(lambda: self.save_checkpoint())
        p.use_all.clicked.connect(self.state.use_all_frames)
        p.rollout_step.valueChanged.connect(self._on_rollout_step)
        p.show_recon.toggled.connect(lambda _on: self._sync_panes())
        p.show_rollout.toggled.connect(lambda _on: self._sync_panes())
        p.episode.valueChanged.connect(lambda _v: self.schedule())
        p.context_end.valueChanged.connect(lambda _v: self.schedule())
        p.compare.clicked.connect(self.show_comparison)

        menu = self.host.menu("&World")
        self.menu = menu
        a = self.host.actions
        for key, text, slot in (
            ("train", "&Train world models", lambda: self.train(resume=False)),
            ("resume", "&Resume training", lambda: self.train(resume=True)),
            ("cancel", "&Cancel training", self.cancel),
            (None, None, None),
            ("load", "&Load checkpoint…", lambda: self.load_checkpoint()),
            ("save", "&Save checkpoint…", lambda: self.save_checkpoint()),
            (None, None, None),
            ("compare", "Compare &encoders…", self.show_comparison),
        ):
            if key is None:
                menu.addSeparator()
            else:
                a.add(f"world.{key}", text, slot, menu=menu)
        menu.addAction(dock.toggleViewAction())
        menu.addAction(cdock.toggleViewAction())

    # -- settings -------------------------------------------------------------------------
    @property
    def overrides(self) -> dict[str, Any]:
        """Fields of the training settings (or of WorldSettings) that replace the dock's
        (tests use tiny models)."""
        return self.state.overrides

    @overrides.setter
    def overrides(self, value: dict[str, Any]) -> None:
        self.state.overrides = dict(value)

    def save_state(self) -> None:
        """The window closes: keep the dock's options."""
        self.state.options.save(self.store, "world")

    def chosen_encoders(self) -> tuple[str, ...]:
        """The checked encoders, in the window's order."""
        return self.state.chosen_encoders()

    def _on_option(self, name: str, _value: object) -> None:
        if name == "source":
            self._sync_source()

    def _sync_source(self) -> None:
        p = self.panel
        video = p.source.currentData() == "video"
        for widget, on in ((p.frames_row, video), (p.use_all, video), (p.episodes, not video), (p.episode_frames, not video)):
            widget.setVisible(on)
            label = p.data_form.labelForField(widget)
            if label is not None:
                label.setVisible(on)
        for widget in (p.episode, p.context_end):
            widget.setEnabled(not video)

    def settings(self) -> WorldSettings:
        """The :class:`WorldSettings` the dock describes (raises UsageError when it cannot)."""
        return self.state.settings()

    def data_folder(self) -> Path:
        """The app's data folder (beside the settings file, else the platform's app data)."""
        folder = self.host.settings_folder()
        if folder is not None:
            return folder / "jepa-studio-world"
        return Path(QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation)) / "world-models"

    def checkpoint_root(self, settings: WorldSettings | None = None) -> Path:
        """Where training checkpoints go by default: one folder per data source, one per encoder."""
        settings = settings or self.settings()
        video = self.session.video.path if self.session.video is not None else None
        return self.data_folder() / data_key(settings.data, video)

    # -- training -------------------------------------------------------------------------
    def train(self, resume: bool = False) -> int | None:
        """Train (or resume) the checked encoders' world models in the background."""
        if self.session.video is None and self.state.options.source == "video":
            self.host.show_error("Open a video first, or train on the pendulum simulator.")
            return None
        try:
            settings = self.settings()
            root = self.checkpoint_root(settings)
            if resume and not any((root / safe_name(n)).exists() for n in settings.encoders):
                raise UsageError(f"there is no checkpoint to resume in {root}: press Train")
            self._run = self.world.train(settings, root, resume=resume)
        except JepaStudioError as error:
            self.host.show_error(str(error))
            return None
        self.host.stop_playback()
        self.last_error = ""
        if not resume:
            self.losses.forget(settings.encoders)
        self.panel.rollout_step.setMaximum(settings.horizon)
        self._set_busy(True, "encoding…")
        return self._run

    def cancel(self) -> None:
        """Stop training (the last checkpoint is kept) and the comparison."""
        self.world.cancel()

    def _set_busy(self, busy: bool, text: str = "") -> None:
        p = self.panel
        p.train.setEnabled(not busy)
        p.resume.setEnabled(not busy)
        p.load.setEnabled(not busy)
        self.compare_panel.run.setEnabled(not busy)
        p.cancel.setEnabled(busy)
        self.compare_panel.cancel.setEnabled(busy)
        if busy:
            p.progress.setRange(0, 0)
            p.progress.setFormat(text)
        else:  # never a moving bar after the work ended (the caller says how it ended)
            p.progress.setRange(0, 1)
            p.progress.setValue(0)
            p.progress.setFormat("idle")
        if text:
            p.status.setText(text)

    # -- checkpoints ----------------------------------------------------------------------
    def _ask_load_path(self) -> Path | None:
        path = QFileDialog.getExistingDirectory(self.host.widget, "Load world-model checkpoint", str(self.data_folder()))
        return Path(path) if path else None

    def _ask_save_path(self) -> Path | None:
        path = QFileDialog.getExistingDirectory(self.host.widget, "Save world models into folder", str(self.data_folder()))
        return Path(path) if path else None

    def load_checkpoint(self, path: Path | None = None) -> list[str]:
        """Load a checkpoint folder (or a folder of them); the panes follow."""
        path = path or self.ask_load_path()
        if path is None:
            return []
        if self.world.training:
            self.host.show_error("A world model is training: cancel it before loading a checkpoint.")
            return []
        try:
            fallback = self.settings() if self.chosen_encoders() else None
            names = self.world.load(path, fallback)
        except JepaStudioError as error:
            self.host.show_error(str(error))
            return []
        missing = [n for n in names if n not in self.session.encoders]
        if missing:
            self.host.show_status(f"loaded world models of {', '.join(missing)}; add the encoder to see its panes", 8000)
        self.panel.status.setText(f"loaded {', '.join(names)} from {path}")
        return names

    def save_checkpoint(self, path: Path | None = None) -> int | None:
        """Save the world models to a folder (one sub-folder per encoder when there are several)."""
        if not self.world.worlds:
            self.host.show_error("There is no world model to save: train one or load a checkpoint first.")
            return None
        path = path or self.ask_save_path()
        if path is None:
            return None
        try:
            return self.world.save(path)
        except JepaStudioError as error:
            self.host.show_error(str(error))
            return None

    # -- messages (GUI thread) ------------------------------------------------------------
    def _on_reconstruction(self, message: Reconstruction) -> None:
        if message.request == self._recon_ids.get(message.encoder):
            self.reconstructions[message.encoder] = message
            self._show_reconstruction(message)

    def _on_rollout(self, message: RolloutView) -> None:
        if message.request == self._rollout_ids.get(message.encoder):
            self.rollouts[message.encoder] = message
            self._show_rollouts()

    def _on_mask_decoded(self, message: MaskDecoded) -> None:
        if message.request == self._masked_id:
            self.masked = message
            self._show_masked()

    def _on_progress(self, m: WorldProgress) -> None:
        if m.run != self._run:
            return
        p = self.panel
        if m.part in ("decoder", "transition"):
            self.losses.update(m.encoder, m.part, m.losses, m.val)
            p.progress.setRange(0, max(1, m.total))
            p.progress.setValue(min(m.step, m.total))
            last = f" · loss {m.losses[-1]:.4f}" if m.losses else ""
            p.progress.setFormat(f"{m.encoder}: {m.part} {m.step}/{m.total}{last}")
            if m.part == "decoder" and m.val and m.val[-1][0] == m.step:
                self._sync_panes()  # the reconstruction pane shows once the decoder has trained
                self._live_reconstruction(m.encoder)
        else:
            p.progress.setRange(0, 0)
            p.progress.setFormat(f"{m.encoder}: encoding the data")
        p.status.setText(f"training encoder {m.index + 1} of {m.n_encoders}: {m.encoder} ({m.part})")

    def _live_reconstruction(self, encoder: str) -> None:
        import time

        now = time.monotonic()
        if now - self._last_live_recon > 1.0 and self.panel.show_recon.isChecked():
            self._last_live_recon = now
            self._request_reconstruction(encoder)

    def _on_ready(self, m: WorldReady) -> None:
        entry = self.world.worlds.get(m.encoder)
        if entry is not None and (m.run == 0 or m.encoder not in self.losses.curves):
            st = entry.world.state  # a loaded model, or one that starts training: its history so far
            self.losses.set_all(m.encoder, {
                part: (tuple(st[part].losses), tuple(st[part].val_losses)) for part in ("decoder", "transition")
            })
        if m.run == 0 and entry is not None:
            self.panel.rollout_step.setMaximum(max(1, entry.horizon))
        self._sync_panes()
        self.schedule()

    def _on_done(self, m: WorldRunDone) -> None:
        if m.run != self._run:
            return
        p = self.panel
        self._set_busy(False)
        self.last_checkpoints = m.checkpoints
        p.progress.setRange(0, 1)
        p.progress.setValue(1 if not m.error and not m.cancelled else 0)
        if m.error:
            self.last_error = m.error
            p.progress.setFormat("failed")
            p.status.setText(f'<span style="color:{theme.ERROR}">{m.error}</span>')
            self.host.show_error(f"World-model training failed: {m.error}")
        elif m.cancelled:
            p.progress.setFormat("cancelled")
            p.status.setText("cancelled: the last checkpoint is kept; press Resume to go on")
        else:
            p.progress.setFormat("done")
            where = str(Path(m.checkpoints[0]).parent) if m.checkpoints else ""
            p.status.setText(f"trained; checkpoints in …/{Path(where).name}" if where else "trained")
            p.status.setToolTip(where)
        self._sync_panes()
        self.schedule()

    # -- loss plot ------------------------------------------------------------------------
    def plot_points(self, encoder: str, part: str, kind: str = "train") -> tuple[np.ndarray, np.ndarray]:
        """(x, y) of a loss curve as drawn (tests)."""
        return self.losses.points(encoder, part, kind)

    # -- panes ----------------------------------------------------------------------------
    def frame_size(self) -> tuple[int, int]:
        """The size panes draw in: the video's, else the pendulum's."""
        if self.session.video is not None:
            return tuple(self.session.video.size)  # type: ignore[return-value]
        s = max(32, self.session.resolution or 64)
        return (s, s)

    def _pane(self, store: dict[str, WorldPane], kind: str, encoder: str) -> WorldPane:
        pane = store.get(encoder)
        if pane is None:
            pane = store[encoder] = WorldPane(f"world-{kind}-{encoder}", kind)
        return pane

    def _sync_panes(self) -> None:
        """Show the panes the loaded world models and the check boxes call for."""
        p = self.panel
        wanted: list[WorldPane] = []
        names = [n for n in self.session.encoders if n in self.world.worlds]
        trained = [n for n in names if self.world.worlds[n].world.state["decoder"].step > 0]
        if p.show_recon.isChecked() and self.session.video is not None:
            for name in trained:
                pane = self._pane(self.recon_panes, "reconstruction", name)
                pane.set_title(f"Decoder: {label_html(self.world.worlds[name].label)}", pane.subtitle or "reconstruction")
                wanted.append(pane)
        rollout_names = [n for n in trained if self.world.worlds[n].world.transition is not None
                         and self.world.worlds[n].world.state["transition"].step > 0]
        if p.show_rollout.isChecked() and rollout_names:
            wanted.append(self.real_pane)
            for name in rollout_names:
                pane = self._pane(self.rollout_panes, "rollout", name)
                pane.set_title(f"Rollout: {label_html(self.world.worlds[name].label)}", pane.subtitle or "predicted")
                wanted.append(pane)
        ms = self.masking_state
        if ms.mode and self.masked is not None and self.masked.encoder == ms.encoder:
            wanted.append(self.masked_pane)
        if wanted == self._shown:
            return
        size = self.frame_size()
        for pane in wanted:
            pane.set_frame_size(size)
        self._shown = wanted
        self.host.set_panes(self.name, wanted)

    def schedule(self) -> None:
        """Recompute the panes soon (coalesces scrubbing)."""
        self._refresh_timer.start()

    def refresh_panes(self) -> None:
        """Ask the engine for the reconstructions and rollouts of the playhead (never blocks)."""
        self._refresh_timer.stop()
        if self.panel.show_recon.isChecked() and self.session.video is not None:
            for name in self.recon_panes:
                if name in self.world.worlds and name in self.session.encoders:
                    self._request_reconstruction(name)
        if self.panel.show_rollout.isChecked():
            for name in self.rollout_panes:
                if name in self.world.worlds and name in self.session.encoders:
                    self._request_rollout(name)

    def _request_reconstruction(self, name: str) -> None:
        s = self.session
        if s.video is None:
            return
        self._recon_ids[name] = self.world.request_reconstruction(name, s.clip_frames(), s.playhead, s.device, s.resolution)

    def rollout_frame(self, name: str) -> tuple[int, int]:
        """(context end frame, episode) of the rollout of ``name``: the playhead for the
        video, the dock's spin boxes for the pendulum."""
        entry = self.world.worlds[name]
        if entry.data.source == "pendulum":
            return int(self.panel.context_end.value()), int(self.panel.episode.value()) - 1
        return self.session.playhead, 0

    def _request_rollout(self, name: str) -> None:
        s = self.session
        if self.world.worlds[name].data.source == "video" and s.video is None:
            return
        frame, episode = self.rollout_frame(name)
        self._rollout_ids[name] = self.world.request_rollout(name, frame, s.device, s.resolution, episode)

    def _show_reconstruction(self, r: Reconstruction) -> None:
        pane = self.recon_panes.get(r.encoder)
        if pane is None:
            return
        pane.set_title(
            f"Decoder: {label_html(r.label)}",
            f"frame {r.frame} · {r.steps} steps",
        )
        if r.image is None:
            pane.clear_image(r.note, theme.WARN)
            return
        pane.show_image(r.image, place(r.crop_box, self.frame_size(), self.frame_size()))

    def _on_rollout_step(self, value: int) -> None:
        self.panel.rollout_label.setText(f"step {value}")
        self._show_rollouts()

    def rollout_step(self) -> int:
        """The rollout step the panes show (0-based)."""
        return int(self.panel.rollout_step.value()) - 1

    def _show_rollouts(self) -> None:
        j = self.rollout_step()
        real_shown = False
        size = self.frame_size()
        for name, pane in self.rollout_panes.items():
            view = self.rollouts.get(name)
            if view is None:
                continue
            if view.predicted is None:
                pane.set_title(f"Rollout: {label_html(view.label)}", "no rollout here")
                pane.clear_image(view.note, theme.WARN)
                continue
            k = len(view.frames)
            jj = min(j, k - 1)
            src = (view.real.shape[2], view.real.shape[1])
            ctx = f"{view.context[0]}–{view.context[-1]}" if len(view.context) > 1 else str(view.context[0])
            pane.set_title(
                f"Rollout: {label_html(view.label)}",
                f"step {jj + 1}/{k} · frame {view.frames[jj]} · context {ctx}",
            )
            pane.show_image(view.predicted[jj], place(view.crop_box, src, size), view.note)
            if not real_shown:
                real_shown = True
                where = "" if view.source == "video" else f" · {view.source}"
                self.real_pane.set_title("Real future", f"frame {view.frames[jj]} (step {jj + 1}/{k}){where}")
                self.real_pane.show_image(view.real[jj], place((0, 0, src[0], src[1]), src, size))
        if not real_shown and self.rollouts:
            self.real_pane.clear_image("no rollout at this playhead")

    # -- masked predictions ---------------------------------------------------------------
    def _on_masked_view(self, view: MaskedView) -> None:
        if view.request != self.masking_state.latest:
            return
        self._masked_view = view
        rid = self.world.request_masked_decode(view)
        why = self.world.why_not_decoded(view) if rid is None else ""
        if why:
            self.host.show_status(why, 8000)
        if rid is None:
            if self.masked is not None:
                self.masked = None
                self._sync_panes()
            return
        self._masked_id = rid

    def _show_masked(self) -> None:
        m = self.masked
        self._sync_panes()
        if m is None:
            return
        frame = self.session.playhead
        t = next((i for i, c in enumerate(m.frame_indices) if frame in c), None)
        if t is None:
            return
        covered = m.frame_indices[t]
        span = f"frame {covered[-1]}" if len(covered) == 1 else f"frames {covered[0]}–{covered[-1]} (shows {covered[-1]})"
        self.masked_pane.set_title(f"Decoded: {label_html(m.label)}", f"context + predicted, layer-norm decoder · {span}")
        size = self.frame_size()
        self.masked_pane.show_image(m.images[t], place(m.crop_box, size, size))
        view = self._masked_view
        if view is not None and view.hidden is not None and view.request == self.masking_state.latest:
            self.masked_pane.outline.show_tokens(view.hidden[t], m.crop_box)

    # -- state changes --------------------------------------------------------------------
    def _on_state(self, name: str, value: object) -> None:
        if name == "playhead":
            self.schedule()
            if self.masked is not None:
                self._show_masked()
        elif name == "encoders":
            self._sync_panes()
            self.schedule()
        elif name == "video":
            self.rollouts.clear()
            self.reconstructions.clear()
            self.masked = None
            gone = self.world.unload_video_models()
            if gone:
                self.losses.forget(gone)
                self.panel.status.setText(
                    f"unloaded the world models of the previous video ({', '.join(gone)}): "
                    "train on this one, or Load a checkpoint"
                )
            if value is not None:
                self.state.use_all_frames()  # the frame range belonged to the previous video
            for pane in (*self.recon_panes.values(), *self.rollout_panes.values(), self.real_pane):
                pane.clear_image("")
            self._sync_panes()
            self.schedule()
        elif name in ("clip", "resolution", "device"):
            self.schedule()

    # -- comparison (see :class:`~.comparison.ComparisonController`) ---------------------
    def show_comparison(self) -> None:
        self.comparison.show()

    def run_comparison(self) -> int | None:
        return self.comparison.run()

    def write_report(self, folder: Path | None = None) -> int | None:
        return self.comparison.write_report(folder)

    @property
    def result(self) -> Any:
        """The last comparison's ComparisonResult (None before one finished)."""
        return self.comparison.result

    # -- closing --------------------------------------------------------------------------
    def shutdown(self, timeout: float = 5.0) -> bool:  # type: ignore[override]
        """Cancel training and wait (briefly) for its last checkpoint to be written."""
        return self.world.shutdown(timeout)
