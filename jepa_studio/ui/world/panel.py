"""The World model dock and the comparison dock: widgets only (the controllers drive them)."""

from __future__ import annotations

from pathlib import Path

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QFontDatabase, QResizeEvent, QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSlider,
    QSpinBox,
    QSplitter,
    QTableWidget,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from ...state.world import SIZES, WorldState
from ...world.latents import LATENT_MODES
from ..shell import theme
from ..shell.wheel import ignore_wheel_unless_focused

#: (metric, plot title, higher is better)
METRIC_PLOTS = (
    ("cosine", "Latent cosine", True),
    ("nmse", "Latent MSE / variance", False),
    ("psnr", "PSNR of decoded frames (dB)", True),
    ("ssim", "SSIM of decoded frames", True),
)


class WorldPanel(QWidget):
    """The World model dock's widgets (no logic: :class:`WorldController` drives them).

    A vertical splitter: the settings (encoders, data, model) scroll at the top; the run
    controls, progress, live loss plot and pane options stay visible below.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.setChildrenCollapsible(False)
        outer.addWidget(self.splitter)
        scroll = self.scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setMinimumHeight(100)
        self.splitter.addWidget(scroll)
        body = QWidget()
        scroll.setWidget(body)
        layout = QVBoxLayout(body)
        layout.setContentsMargins(8, 6, 8, 4)
        layout.setSpacing(6)

        enc = QGroupBox("Encoders")
        v = QVBoxLayout(enc)
        v.setContentsMargins(6, 4, 6, 6)
        self.encoders = QListWidget()
        self.encoders.setMaximumHeight(72)
        self.encoders.setToolTip("the window's encoders: one world model is trained per checked encoder")
        v.addWidget(self.encoders)
        layout.addWidget(enc)

        data = QGroupBox("Data")
        form = QFormLayout(data)
        form.setVerticalSpacing(4)
        self.source = QComboBox()
        self.source.addItem("the open video", "video")
        self.source.addItem("pendulum simulator", "pendulum")
        form.addRow("Train on", self.source)
        row = QHBoxLayout()
        self.start, self.stop, self.stride = QSpinBox(), QSpinBox(), QSpinBox()
        for box, tip in ((self.start, "first frame"), (self.stop, "stop frame (excluded)"), (self.stride, "every n-th frame")):
            box.setRange(0, 999_999)
            box.setToolTip(tip)
            box.setMinimumWidth(0)
            box.setButtonSymbols(QSpinBox.ButtonSymbols.NoButtons)  # room for the digits
            box.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
            row.addWidget(box)
        self.stride.setRange(1, 1000)
        self.use_all = QPushButton("All")
        self.use_all.setToolTip("train on every frame of the video")
        self.use_all.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        self.use_all.setMaximumWidth(40)
        row.addWidget(self.use_all)
        self.frames_row = QWidget()
        self.frames_row.setLayout(row)
        self.frames_row.setToolTip("start, stop (excluded), stride")
        row.setContentsMargins(0, 0, 0, 0)
        form.addRow("Frames", self.frames_row)
        self.episodes = QSpinBox()
        self.episodes.setRange(1, 256)
        self.episodes.setValue(4)
        form.addRow("Episodes", self.episodes)
        self.episode_frames = QSpinBox()
        self.episode_frames.setRange(8, 4096)
        self.episode_frames.setValue(48)
        form.addRow("Frames each", self.episode_frames)
        self.resolution = QSpinBox()
        self.resolution.setRange(16, 1024)
        self.resolution.setSingleStep(16)
        self.resolution.setValue(64)
        self.resolution.setSuffix(" px")
        self.resolution.setToolTip(
            "the short side frames are encoded at for the world models (the panes keep their own "
            "resolution); jepa-studio compare's default is 64 px"
        )
        form.addRow("Resolution", self.resolution)
        self.data_form = form
        layout.addWidget(data)

        model = QGroupBox("Model")
        grid = QGridLayout(model)
        grid.setVerticalSpacing(4)
        grid.setHorizontalSpacing(6)

        def spin(lo: int, hi: int, value: int, tip: str) -> QSpinBox:
            box = QSpinBox()
            box.setRange(lo, hi)
            box.setValue(value)
            box.setToolTip(tip)
            box.setMinimumWidth(44)
            box.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
            return box

        self.history = spin(1, 32, 3, "context steps H the transition model sees")
        self.horizon = spin(1, 64, 4, "rollout steps k")
        self.frameskip = spin(1, 64, 2, "data frames per step (even for V-JEPA 2 and other 2-frame tubelets)")
        self.decoder_steps = spin(0, 999_999, 150, "optimiser steps of the decoder (it starts at its closed-form readout)")
        self.transition_steps = spin(0, 999_999, 300, "optimiser steps of the transition model")
        self.seed = spin(0, 999_999, 0, "random seed (weights, batches, pendulum episodes)")
        self.size = QComboBox()
        for key in SIZES:
            self.size.addItem(key, key)
        self.size.setCurrentIndex(1)
        self.size.setToolTip("width and depth of the decoder and the transition model")
        self.size.setMinimumWidth(0)
        self.size.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        for i, (text, box) in enumerate((("History", self.history), ("Horizon", self.horizon),
                                         ("Frameskip", self.frameskip), ("Seed", self.seed))):
            label = QLabel(text)
            label.setToolTip(box.toolTip())
            grid.addWidget(label, i // 2, 2 * (i % 2))
            grid.addWidget(box, i // 2, 2 * (i % 2) + 1)
        steps = QHBoxLayout()  # "Steps [150] dec. [300] trans."
        steps.setSpacing(4)
        for box, text in ((self.decoder_steps, "dec."), (self.transition_steps, "trans.")):
            steps.addWidget(box, 1)
            tag = QLabel(text)
            tag.setToolTip(box.toolTip())
            tag.setStyleSheet(f"color: {theme.MUTED};")
            steps.addWidget(tag)
        label = QLabel("Steps")
        label.setToolTip("optimiser steps of the decoder, then of the transition model")
        grid.addWidget(label, 2, 0)
        grid.addLayout(steps, 2, 1, 1, 3)
        grid.setColumnStretch(1, 1)
        grid.setColumnStretch(3, 1)
        self.target = QComboBox()
        self.target.addItem("raw tokens", "raw")
        self.target.addItem("layer-normed tokens", "layer_norm")
        self.target.setToolTip(
            "layer-normed: the space V-JEPA 2's predictor predicts in, so masked predictions can be decoded"
        )
        self.latents = QComboBox()
        for mode in LATENT_MODES:
            self.latents.addItem("window (sees future frames)" if mode == "window" else mode, mode)
        self.latents.setToolTip(
            "how a video encoder's latents are computed: causal (each step from a window that ends at it: "
            "no latent sees a later frame), per-frame (each frame alone), or window (bidirectional: a "
            "reference that sees the future)"
        )
        for combo in (self.target, self.source, self.latents):  # never wider than the dock
            combo.setMinimumWidth(0)
            combo.setMinimumContentsLength(8)
            combo.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        for row, (text, combo) in enumerate((("Model size", self.size), ("Latents", self.latents),
                                             ("Decoder reads", self.target)), start=3):
            grid.addWidget(QLabel(text), row, 0, 1, 2)
            grid.addWidget(combo, row, 2, 1, 2)
        layout.addWidget(model)
        layout.addStretch(1)

        # -- always visible: run controls, progress, loss plot, panes ----------------------
        bottom = QWidget()
        self.splitter.addWidget(bottom)
        layout = QVBoxLayout(bottom)
        layout.setContentsMargins(8, 4, 8, 6)
        layout.setSpacing(6)
        buttons = QGridLayout()
        buttons.setVerticalSpacing(4)
        self.train = QPushButton("Train")
        self.cancel = QPushButton("Cancel")
        self.cancel.setEnabled(False)  # nothing runs yet
        self.resume = QPushButton("Resume")
        self.resume.setToolTip("continue from the last checkpoint up to Steps")
        self.load = QPushButton("Load…")
        self.load.setToolTip("load a world-model checkpoint folder (or a folder of them)")
        self.save = QPushButton("Save…")
        self.save.setToolTip("save the world models to a folder (safetensors + JSON)")
        for b in (self.train, self.resume, self.cancel, self.load, self.save):
            b.setMinimumWidth(0)
            b.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        buttons.addWidget(self.train, 0, 0)
        buttons.addWidget(self.resume, 0, 1)
        buttons.addWidget(self.cancel, 0, 2)
        checkpoint = QLabel("Checkpoint")
        checkpoint.setStyleSheet(f"color: {theme.MUTED};")
        buttons.addWidget(checkpoint, 1, 0)
        buttons.addWidget(self.load, 1, 1)
        buttons.addWidget(self.save, 1, 2)
        layout.addLayout(buttons)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress.setFormat("idle")
        layout.addWidget(self.progress)
        self.status = QLabel("Train a world model, or load a checkpoint.")
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.status)

        self.plot = pg.PlotWidget()
        self.plot.setMinimumHeight(100)
        self.plot.setLogMode(x=False, y=True)
        self.plot.showGrid(x=True, y=True, alpha=0.2)
        self.plot.setLabel("bottom", "step")
        self.plot.setLabel("left", "loss (MSE)")
        self.plot.setTitle("losses: — training · ○ held-out", size="9pt", color=theme.MUTED)
        self.plot.getAxis("left").enableAutoSIPrefix(False)
        self.legend = self.plot.addLegend(offset=(-4, 4), labelTextSize="7.5pt")
        self.legend.setBrush(pg.mkBrush(30, 31, 34, 200))
        self.plot_empty = pg.TextItem("no losses yet:\ntrain, or load a checkpoint", color=theme.MUTED, anchor=(0.5, 0.5))
        self.plot.getViewBox().addItem(self.plot_empty, ignoreBounds=True)  # survives plot.clear()
        self.plot_empty.setPos(0.5, 0.5)
        layout.addWidget(self.plot, 1)

        panes = QGroupBox("Panes")
        form = QFormLayout(panes)
        form.setVerticalSpacing(4)
        self.show_recon = QCheckBox("Reconstruction")
        self.show_recon.setToolTip("a pane with the decoder's reconstruction of the frame")
        self.show_recon.setChecked(True)
        self.show_rollout = QCheckBox("Rollout")
        self.show_rollout.setToolTip("panes with the rollout from the playhead beside the real future")
        self.show_rollout.setChecked(True)
        row = QHBoxLayout()
        row.setSpacing(16)
        row.addWidget(self.show_recon)
        row.addWidget(self.show_rollout)
        row.addStretch(1)
        form.addRow("Show", row)
        self.rollout_step = QSlider(Qt.Orientation.Horizontal)
        self.rollout_step.setRange(1, 4)
        self.rollout_step.setPageStep(1)
        self.rollout_step.setToolTip("which rollout step the panes show (Ctrl+[ and Ctrl+])")
        self.rollout_label = QLabel("step 1")
        row = QHBoxLayout()
        row.addWidget(self.rollout_step, 1)
        row.addWidget(self.rollout_label)
        form.addRow("Step", row)
        self.episode = spin(1, 256, 1, "pendulum: the episode the rollout panes show")
        self.context_end = spin(0, 100_000, 8, "pendulum: the frame the context ends at")
        row = QHBoxLayout()
        row.addWidget(self.episode, 1)
        label = QLabel("context to")
        label.setToolTip(self.context_end.toolTip())
        row.addWidget(label)
        row.addWidget(self.context_end, 1)
        form.addRow("Episode", row)
        layout.addWidget(panes)

        self.compare = QPushButton("Compare encoders…")
        self.compare.setToolTip("train the same world model on every checked encoder and compare rollouts")
        layout.addWidget(self.compare)
        # the settings get the room above what the run controls need (the plot keeps 100 px)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)
        self._sized = False
        ignore_wheel_unless_focused(self)

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        self._size_once()

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 - Qt's name
        super().showEvent(event)
        self._size_once()

    def _size_once(self) -> None:
        """Once the dock shows at its height, give the settings 42% of it (the run controls
        and the loss plot the rest); the user's splitter position is kept after that."""
        if not self._sized and self.isVisible() and self.height() > 400:
            self._sized = True
            top = int(self.height() * 0.42)
            self.splitter.setSizes([top, self.height() - top])

    # -- binding to the state -------------------------------------------------------------
    #: option field -> spin box attribute
    SPINS = {"start": "start", "stop": "stop", "step": "stride", "episodes": "episodes",
             "episode_frames": "episode_frames", "history": "history", "horizon": "horizon",
             "frameskip": "frameskip", "decoder_steps": "decoder_steps",
             "transition_steps": "transition_steps", "seed": "seed", "resolution": "resolution"}
    COMBOS = ("source", "latents", "size", "target")

    def bind(self, state: WorldState) -> None:
        """Show ``state``'s options and keep widgets and state in step, both ways."""
        self._state = state
        self._updating = False
        self.refresh()
        for key, attr in self.SPINS.items():
            getattr(self, attr).valueChanged.connect(lambda v, k=key: self._set(**{k: int(v)}))
        for key in self.COMBOS:
            combo: QComboBox = getattr(self, key)
            combo.currentIndexChanged.connect(lambda _i, k=key, c=combo: self._set(**{k: str(c.currentData())}))
        self.encoders.itemChanged.connect(lambda _item: self._set(encoders=self.checked_encoders()))
        state.options.subscribe(lambda _name, _value: self.refresh())
        state.session.subscribe(lambda name, _value: name == "encoders" and self.refresh())

    def _set(self, **changes: object) -> None:
        if not self._updating:
            try:
                self._state.options.update(**changes)
            except ValueError:
                self.refresh()  # an impossible combination: show what holds

    def checked_encoders(self) -> tuple[str, ...]:
        lst = self.encoders
        return tuple(lst.item(i).data(Qt.ItemDataRole.UserRole) for i in range(lst.count())
                     if lst.item(i).checkState() == Qt.CheckState.Checked)

    def refresh(self) -> None:
        """Show the state's options (without echoing them back)."""
        state = self._state
        o = state.options.value
        self._updating = True
        try:
            for key, attr in self.SPINS.items():
                getattr(self, attr).setValue(int(getattr(o, key)))
            for key in self.COMBOS:
                combo: QComboBox = getattr(self, key)
                combo.setCurrentIndex(max(0, combo.findData(getattr(o, key))))
            self.rollout_step.setMaximum(max(1, o.horizon))
            chosen = set(state.chosen_encoders())
            self.encoders.clear()
            for name in state.session.encoders:
                item = QListWidgetItem(Path(name).name if "/" in name and Path(name).exists() else name)
                item.setData(Qt.ItemDataRole.UserRole, name)
                item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
                item.setCheckState(Qt.CheckState.Checked if name in chosen else Qt.CheckState.Unchecked)
                item.setToolTip(name)
                self.encoders.addItem(item)
            rows = min(max(self.encoders.count(), 1), 4)  # as tall as its rows (up to 4), no empty space
            self.encoders.setFixedHeight(rows * max(self.encoders.sizeHintForRow(0), 16) + 2 * self.encoders.frameWidth() + 2)
        finally:
            self._updating = False


class ComparisonPanel(QWidget):
    """The comparison dock: run, progress, the per-horizon table, plots, rollouts, report."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 6, 8, 6)
        row = QHBoxLayout()
        self.run = QPushButton("Run comparison")
        self.cancel = QPushButton("Cancel")
        self.cancel.setEnabled(False)  # nothing runs yet
        self.report = QPushButton("Write report…")
        self.report.setEnabled(False)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress.setFormat("idle")
        self.status = QLabel("Uses the World dock's encoders, data and settings.")
        self.status.setWordWrap(True)
        for w in (self.run, self.cancel, self.report):
            row.addWidget(w)
        row.addWidget(self.progress, 1)
        layout.addLayout(row)
        layout.addWidget(self.status)
        self.tabs = QTabWidget()
        self.table = QTableWidget()
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().setVisible(False)
        self.tabs.addTab(self.table, "Table")
        plots = QWidget()
        grid = QGridLayout(plots)
        grid.setContentsMargins(0, 0, 0, 0)
        self.plots: dict[str, pg.PlotWidget] = {}
        for i, (metric, title, _) in enumerate(METRIC_PLOTS):
            w = pg.PlotWidget()
            w.setMinimumHeight(150)
            w.setMinimumWidth(0)
            w.setTitle(title, size="9pt")
            w.showGrid(x=True, y=True, alpha=0.2)
            w.setLabel("bottom", "frames ahead")
            if metric == "psnr":  # one legend: encoders, copy (dashed), ceiling (dotted)
                legend = w.addLegend(offset=(-4, -4), labelTextSize="7.5pt")
                legend.setBrush(pg.mkBrush(30, 31, 34, 200))
            grid.addWidget(w, 0, i)
            self.plots[metric] = w
        self.tabs.addTab(plots, "Plots")
        self.rollouts = QLabel("no rollouts yet")
        self.rollouts.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        scroll = QScrollArea()
        scroll.setWidget(self.rollouts)
        scroll.setWidgetResizable(True)
        self.tabs.addTab(scroll, "Rollouts")
        self.summary = QPlainTextEdit()
        self.summary.setReadOnly(True)
        self.summary.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.summary.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.summary.setPlaceholderText("the verdicts, the temporal probes and the frames scored, after a comparison")
        self.tabs.addTab(self.summary, "Summary")
        layout.addWidget(self.tabs, 1)
