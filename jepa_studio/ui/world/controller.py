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
import pyqtgraph as pg
from PySide6.QtCore import QObject, QStandardPaths, Qt, QTimer
from PySide6.QtWidgets import QComboBox, QDockWidget, QFileDialog, QListWidgetItem

from ...analysis.masked_view import MaskedView
from ...engine.world import (
    CompareDone,
    CompareProgress,
    DataSpec,
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
from ...errors import JepaStudioError, UsageError
from ...world.checkpoints import safe_name
from ..shell import theme
from ..shell.host import WindowHost
from ..shell.labels import label_html
from .comparison import colour, show_comparison_result
from .panel import SIZES, ComparisonPanel, WorldPanel
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
        self._run = 0
        self._compare_run = 0
        self._updating = False
        #: encoder -> part -> (losses, val) shown in the loss plot
        self.curves: dict[str, dict[str, tuple[tuple[float, ...], tuple[tuple[int, float], ...]]]] = {}
        self._plot_items: dict[tuple[str, str, str], Any] = {}
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
        self.result: Any = None
        self.last_checkpoints: tuple[str, ...] = ()
        self.last_error = ""
        self._last_live_recon = 0.0
        #: ``() -> Path | None`` for each dialog (tests replace them)
        self.ask_load_path: Callable[[], Path | None] = self._ask_load_path
        self.ask_save_path: Callable[[], Path | None] = self._ask_save_path
        self.ask_report_path: Callable[[], Path | None] = self._ask_report_path
        #: architecture overrides (tests use tiny models): keys of WorldSettings
        self.overrides: dict[str, Any] = {}
        self._refresh_timer = QTimer(self)
        self._refresh_timer.setSingleShot(True)
        self._refresh_timer.setInterval(40)  # coalesces scrubbing into one request
        self._refresh_timer.timeout.connect(self.refresh_panes)

        self._build()
        self._restore_settings()
        for kind, handler in ((WorldProgress, self._on_progress), (WorldReady, self._on_ready),
                              (WorldRunDone, self._on_done), (Reconstruction, self._on_reconstruction),
                              (RolloutView, self._on_rollout), (MaskedView, self._on_masked_view),
                              (MaskDecoded, self._on_mask_decoded), (CompareProgress, self._on_compare_progress),
                              (CompareDone, self._on_compare_done)):
            host.on_message(kind, handler)
        self.session.subscribe(self._on_state)
        self.masking_state.subscribe(lambda name, _v: name == "mode" and self._sync_panes())
        self._refresh_encoders()
        self._sync_source()

    # -- building -------------------------------------------------------------------------
    def _build(self) -> None:
        w = self.host.widget
        self.panel = WorldPanel()
        dock = QDockWidget("World model", w)
        dock.setObjectName("worldDock")
        dock.setWidget(self.panel)
        self.panel.setMinimumWidth(280)
        self.panel.setMaximumWidth(340)
        self.host.add_dock(dock)
        self.dock = dock

        self.compare_panel = ComparisonPanel()
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
        p.use_all.clicked.connect(self._use_all_frames)
        p.source.currentIndexChanged.connect(self._sync_source)
        p.rollout_step.valueChanged.connect(self._on_rollout_step)
        p.show_recon.toggled.connect(lambda _on: self._sync_panes())
        p.show_rollout.toggled.connect(lambda _on: self._sync_panes())
        p.episode.valueChanged.connect(lambda _v: self.schedule())
        p.context_end.valueChanged.connect(lambda _v: self.schedule())
        p.horizon.valueChanged.connect(lambda v: p.rollout_step.setMaximum(max(1, v)))
        p.compare.clicked.connect(self.show_comparison)
        c = self.compare_panel
        c.run.clicked.connect(lambda: self.run_comparison())
        c.cancel.clicked.connect(self.cancel)
        c.report.clicked.connect(lambda: self.write_report())

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
    _SPINS = ("start", "stop", "stride", "episodes", "episode_frames", "history", "horizon", "frameskip", "steps", "seed")

    def _restore_settings(self) -> None:
        p, s = self.panel, self.store
        self._updating = True
        try:
            for name in self._SPINS:
                value = s.value(f"world/{name}")
                if value is not None:
                    try:
                        getattr(p, name).setValue(int(value))
                    except (TypeError, ValueError):
                        pass
            for name in ("source", "size", "target"):
                value = s.value(f"world/{name}")
                combo: QComboBox = getattr(p, name)
                if value is not None and combo.findData(value) >= 0:
                    combo.setCurrentIndex(combo.findData(value))
            p.rollout_step.setMaximum(max(1, p.horizon.value()))
        finally:
            self._updating = False

    def save_state(self) -> None:
        """The window closes: keep the dock's settings."""
        p, s = self.panel, self.store
        for name in self._SPINS:
            s.set_value(f"world/{name}", int(getattr(p, name).value()))
        for name in ("source", "size", "target"):
            s.set_value(f"world/{name}", getattr(p, name).currentData())

    def _refresh_encoders(self) -> None:
        lst = self.panel.encoders
        listed = {lst.item(i).data(Qt.ItemDataRole.UserRole) for i in range(lst.count())}
        checked = {lst.item(i).data(Qt.ItemDataRole.UserRole) for i in range(lst.count())
                   if lst.item(i).checkState() == Qt.CheckState.Checked}
        lst.clear()
        for name in self.session.encoders:  # encoders new to the list start checked
            item = QListWidgetItem(Path(name).name if "/" in name and Path(name).exists() else name)
            item.setData(Qt.ItemDataRole.UserRole, name)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            on = name in checked or name not in listed
            item.setCheckState(Qt.CheckState.Checked if on else Qt.CheckState.Unchecked)
            item.setToolTip(name)
            lst.addItem(item)
        rows = min(max(lst.count(), 1), 4)  # as tall as its rows (up to 4), no empty space
        lst.setFixedHeight(rows * max(lst.sizeHintForRow(0), 16) + 2 * lst.frameWidth() + 2)

    def chosen_encoders(self) -> tuple[str, ...]:
        """The checked encoders, in the window's order."""
        lst = self.panel.encoders
        return tuple(
            lst.item(i).data(Qt.ItemDataRole.UserRole) for i in range(lst.count())
            if lst.item(i).checkState() == Qt.CheckState.Checked
        )

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

    def _use_all_frames(self) -> None:
        p = self.panel
        p.start.setValue(0)
        p.stop.setValue(self.session.n_frames)
        p.stride.setValue(1)

    def settings(self) -> WorldSettings:
        """The :class:`WorldSettings` the dock describes (raises UsageError when it cannot)."""
        p, s = self.panel, self.session
        data = DataSpec(
            source=str(p.source.currentData()),
            start=int(p.start.value()),
            stop=int(p.stop.value()),
            step=int(p.stride.value()),
            episodes=int(p.episodes.value()),
            episode_frames=int(p.episode_frames.value()),
            size=max(32, s.resolution or 64),
            seed=int(p.seed.value()),
        )
        width, depth, heads, hidden = SIZES[str(p.size.currentData())]
        kwargs: dict[str, Any] = dict(
            encoders=self.chosen_encoders(), data=data, history=int(p.history.value()),
            horizon=int(p.horizon.value()), frameskip=int(p.frameskip.value()), steps=int(p.steps.value()),
            seed=int(p.seed.value()), device=s.device, resolution=s.resolution, target=str(p.target.currentData()),
            width=width, depth=depth, heads=heads, decoder_hidden=hidden,
        )
        kwargs.update(self.overrides)
        return WorldSettings(**kwargs)

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
        if self.session.video is None and self.panel.source.currentData() == "video":
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
            for name in settings.encoders:
                self.curves.pop(name, None)
            self._redraw_plot()
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
        if text:
            p.status.setText(text)

    # -- checkpoints ----------------------------------------------------------------------
    def _ask_load_path(self) -> Path | None:
        path = QFileDialog.getExistingDirectory(self.host.widget, "Load world-model checkpoint", str(self.data_folder()))
        return Path(path) if path else None

    def _ask_save_path(self) -> Path | None:
        path = QFileDialog.getExistingDirectory(self.host.widget, "Save world models into folder", str(self.data_folder()))
        return Path(path) if path else None

    def _ask_report_path(self) -> Path | None:
        path = QFileDialog.getExistingDirectory(self.host.widget, "Write the comparison report into folder", str(Path.home()))
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

    def _on_compare_progress(self, message: CompareProgress) -> None:
        if message.run == self._compare_run:
            c = self.compare_panel
            c.progress.setRange(0, max(1, message.total))
            c.progress.setValue(min(message.step, message.total))
            loss = "" if message.loss != message.loss else f" · loss {message.loss:.4f}"
            c.progress.setFormat(f"{message.stage} {message.step}/{message.total}{loss}")

    def _on_progress(self, m: WorldProgress) -> None:
        if m.run != self._run:
            return
        p = self.panel
        if m.part in ("decoder", "transition"):
            self.curves.setdefault(m.encoder, {})[m.part] = (m.losses, m.val)
            self._redraw_plot(m.encoder, m.part)
            p.progress.setRange(0, max(1, m.total))
            p.progress.setValue(min(m.step, m.total))
            last = f" · loss {m.losses[-1]:.4f}" if m.losses else ""
            p.progress.setFormat(f"{m.encoder}: {m.part} {m.step}/{m.total}{last}")
            if m.part == "decoder" and m.val and m.val[-1][0] == m.step:
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
        if entry is not None and (m.run == 0 or m.encoder not in self.curves):
            st = entry.world.state  # a loaded model, or one that starts training: its history so far
            self.curves[m.encoder] = {
                part: (tuple(st[part].losses), tuple(st[part].val_losses)) for part in ("decoder", "transition")
            }
            self._redraw_plot()
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
    def _redraw_plot(self, encoder: str | None = None, part: str | None = None) -> None:
        plot = self.panel.plot
        names = list(self.curves)
        if encoder is None:
            plot.clear()
            self.panel.legend.clear()
            self._plot_items.clear()
        for i, name in enumerate(names):
            if encoder is not None and name != encoder:
                continue
            pen = colour(i)
            short = Path(name).name if "/" in name else name
            for prt, style in (("decoder", Qt.PenStyle.SolidLine), ("transition", Qt.PenStyle.DashLine)):
                if part is not None and prt != part:
                    continue
                losses, val = self.curves[name].get(prt, ((), ()))
                key_train, key_val = (name, prt, "train"), (name, prt, "val")
                xs = np.arange(1, len(losses) + 1, dtype=float)
                ys = np.maximum(np.asarray(losses, float), 1e-12)
                if key_train not in self._plot_items:
                    self._plot_items[key_train] = plot.plot(
                        pen=pg.mkPen(pen, width=1.4, style=style), name=f"{short} {prt}"
                    )
                    self._plot_items[key_val] = plot.plot(
                        pen=pg.mkPen(pen, width=1, style=Qt.PenStyle.DotLine), symbol="o", symbolSize=6,
                        symbolBrush=None, symbolPen=pg.mkPen(pen),
                    )
                self._plot_items[key_train].setData(xs, ys)
                vx = np.asarray([v[0] for v in val], float)
                vy = np.maximum(np.asarray([v[1] for v in val], float), 1e-12)
                self._plot_items[key_val].setData(vx, vy)
        self.panel.plot_empty.setVisible(not any(c.get(p, ((),))[0] for c in self.curves.values() for p in c))

    def plot_points(self, encoder: str, part: str, kind: str = "train") -> tuple[np.ndarray, np.ndarray]:
        """(x, y) of a loss curve as drawn (tests)."""
        item = self._plot_items.get((encoder, part, kind))
        if item is None:
            return np.zeros(0), np.zeros(0)
        xs, ys = item.xData, item.yData  # the data given (getData() is log10 in log mode)
        return (np.zeros(0), np.zeros(0)) if xs is None else (np.asarray(xs), np.asarray(ys))

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
        if p.show_recon.isChecked() and self.session.video is not None:
            for name in names:
                pane = self._pane(self.recon_panes, "reconstruction", name)
                pane.set_title(f"Decoder: {label_html(self.world.worlds[name].label)}", pane.subtitle or "reconstruction")
                wanted.append(pane)
        rollout_names = [n for n in names if self.world.worlds[n].world.transition is not None]
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
            self._refresh_encoders()
            self._sync_panes()
            self.schedule()
        elif name == "video":
            self.rollouts.clear()
            self.reconstructions.clear()
            self.masked = None
            if value is not None and self.panel.stop.value() == 0:
                self._use_all_frames()
            for pane in (*self.recon_panes.values(), *self.rollout_panes.values(), self.real_pane):
                pane.clear_image("")
            self._sync_panes()
            self.schedule()
        elif name in ("clip", "resolution", "device"):
            self.schedule()

    # -- comparison -----------------------------------------------------------------------
    def show_comparison(self) -> None:
        """Show the comparison dock, at about 45% of the window's height."""
        shown = self.compare_dock.isVisible()
        self.compare_dock.show()
        self.compare_dock.raise_()
        if not shown and not self.compare_dock.isFloating():
            window = self.host.widget
            height = max(320, int(window.height() * 0.45))
            window.resizeDocks([self.compare_dock], [height], Qt.Orientation.Vertical)  # type: ignore[attr-defined]

    def run_comparison(self) -> int | None:
        """Run the comparison on the checked encoders and the dock's data in the background."""
        if self.session.video is None and self.panel.source.currentData() == "video":
            self.host.show_error("Open a video first, or compare on the pendulum simulator.")
            return None
        try:
            settings = self.settings()
            root = self.checkpoint_root(settings) / "comparison"
            self._compare_run = self.world.compare(settings, root)
        except JepaStudioError as error:
            self.host.show_error(str(error))
            return None
        self.show_comparison()
        self.host.stop_playback()
        c = self.compare_panel
        self._set_busy(True, "comparing…")
        c.progress.setRange(0, 0)
        c.progress.setFormat("starting…")
        c.status.setText(f"comparing {', '.join(settings.encoders)} on {settings.data.describe()}")
        return self._compare_run

    def _on_compare_done(self, m: CompareDone) -> None:
        if m.run != self._compare_run:
            return
        c = self.compare_panel
        self._set_busy(False)
        c.progress.setRange(0, 1)
        if m.error:
            self.last_error = m.error
            c.progress.setValue(0)
            c.progress.setFormat("failed")
            c.status.setText(f'<span style="color:{theme.ERROR}">{m.error}</span>')
            self.host.show_error(f"The comparison failed: {m.error}")
            return
        c.progress.setValue(1)
        c.progress.setFormat("cancelled" if m.result.cancelled else "done")
        self.show_result(m.result)

    def show_result(self, result: Any) -> None:
        """Fill the table, the plots and the rollout grid from a ComparisonResult."""
        self.result = result
        show_comparison_result(self.compare_panel, result)

    def write_report(self, folder: Path | None = None) -> int | None:
        """Write report.json, table.md, plots and rollouts.png (as ``jepa-studio compare``)."""
        if self.result is None:
            self.host.show_error("Run a comparison before writing its report.")
            return None
        folder = folder or self.ask_report_path()
        if folder is None:
            return None
        return self.world.write_report(self.result, folder)

    # -- closing --------------------------------------------------------------------------
    def shutdown(self, timeout: float = 5.0) -> bool:  # type: ignore[override]
        """Cancel training and wait (briefly) for its last checkpoint to be written."""
        return self.world.shutdown(timeout)
