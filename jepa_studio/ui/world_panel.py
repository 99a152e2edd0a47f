"""World models in the studio window: train, watch the losses, see reconstructions and rollouts,
compare encoders.

:class:`WorldController` wires :class:`~jepa_studio.engine.world.WorldEngine` (Qt-free, on the
engine's GPU lane) into :class:`~jepa_studio.ui.main_window.MainWindow`:

- the **World model** dock (:class:`WorldPanel`, tabbed with Settings and Masking): encoders,
  data (the open video's frames in a range, or the pendulum simulator), history, horizon,
  frameskip, steps, seed, the decoder's input (raw or layer-normed tokens); Train, Cancel,
  Resume, Load / Save checkpoint; a progress bar and a live loss plot (decoder and transition,
  training and held-out);
- panes: the decoder's **reconstruction** of the frame under the playhead, and **rollouts**
  from a context window ending at the playhead, decoded beside the real future frames, the
  rollout step chosen with a slider; the **decoded masked prediction** in mask mode when a
  decoder trained on layer-normed tokens of that encoder is loaded;
- the **comparison** dock (:class:`ComparisonPanel`): ``compare_encoders`` in the background,
  the per-horizon table, pyqtgraph plots against the copy baseline and the decoder's ceiling,
  the rollout grid, and the report folder written by the same code as ``jepa-studio compare``.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QObject, QRectF, QStandardPaths, Qt, QTimer
from PySide6.QtGui import QColor, QImage, QPen, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDockWidget,
    QFileDialog,
    QFormLayout,
    QGraphicsPathItem,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSlider,
    QSpinBox,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
    QCheckBox,
)

from ..engine.masking import MaskedView
from ..engine.world import (
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
from ..errors import JepaStudioError
from . import theme
from .panes import Pane, _wrap, short_label

if TYPE_CHECKING:
    from .main_window import MainWindow

#: line colours per encoder (the report's palette)
PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2"]
#: model sizes: (transition width, depth, heads, decoder hidden channels)
SIZES = {"small": (64, 2, 4, 32), "medium": (128, 3, 4, 64), "large": (256, 4, 8, 128)}
#: (metric, plot title, higher is better)
METRIC_PLOTS = (
    ("cosine", "Latent cosine", True),
    ("nmse", "Latent MSE / variance", False),
    ("psnr", "PSNR of decoded frames (dB)", True),
    ("ssim", "SSIM of decoded frames", True),
)


def _colour(i: int) -> str:
    return PALETTE[i % len(PALETTE)]


def _label_html(label: str) -> str:
    """A label for a pane title: paths shortened, random weights in orange."""
    short = short_label(label)
    return f'<span style="color:{theme.WARN}">{short}</span>' if "random weights" in label else short


def _fmt(value: float, digits: int = 3) -> str:
    return "nan" if not math.isfinite(value) else f"{value:.{digits}f}"


# ---------------------------------------------------------------- panes


class WorldPane(Pane):
    """A pane showing one decoded (or real) image laid over a rectangle of the frame.

    ``kind``: ``"reconstruction"``, ``"rollout"``, ``"real"`` or ``"masked"``.
    """

    def __init__(self, key: str, kind: str, title: str = "") -> None:
        super().__init__(key, title)
        self.kind = kind
        self.frame_item.setVisible(False)
        self.image_item = pg.ImageItem()
        self.image_item.setZValue(10)
        self.view_box.addItem(self.image_item)
        self.outline = QGraphicsPathItem()  # hidden tokens (decoded masked predictions)
        pen = QPen(QColor(255, 255, 255, 200))
        pen.setCosmetic(True)
        pen.setWidthF(1.2)
        pen.setStyle(Qt.PenStyle.DashLine)
        self.outline.setPen(pen)
        self.outline.setZValue(15)
        self.view_box.addItem(self.outline, ignoreBounds=True)
        #: the image shown now (uint8 [H, W, 3]) and the rectangle (x, y, w, h) it covers
        self.image: np.ndarray | None = None
        self.rect: tuple[float, float, float, float] = (0, 0, 0, 0)
        self.set_note("waiting for the world model…")

    def set_frame_size(self, size: tuple[int, int]) -> None:
        """The frame (width, height) the pane draws in (centres the note)."""
        self.frame_size = (int(size[0]), int(size[1]))
        self.note_item.setPos(size[0] / 2, size[1] / 2)

    def show_image(self, image: np.ndarray, rect: tuple[float, float, float, float], note: str = "") -> None:
        """uint8 [H, W, 3] (C-contiguous, never mutated) over ``rect`` = (x, y, w, h) of the frame."""
        self.image = image
        self.rect = rect
        self.image_item.setImage(image, autoLevels=False)
        self.image_item.setRect(QRectF(*rect))
        self.set_note(note)

    def clear_image(self, note: str = "", colour: str = theme.MUTED) -> None:
        self.image = None
        self.image_item.clear()
        self.set_note(_wrap(note, 30), colour)


def place(box: tuple[int, int, int, int], source: tuple[int, int], frame: tuple[int, int]) -> tuple[float, float, float, float]:
    """Where ``box`` (x0, y0, x1, y1) of a ``source`` (w, h) image goes in a pane drawing a
    ``frame`` (w, h): identity when they match, else the source fitted and centred."""
    sw, sh = source
    fw, fh = frame
    if (sw, sh) == (fw, fh) or not (sw and sh and fw and fh):
        return float(box[0]), float(box[1]), float(box[2] - box[0]), float(box[3] - box[1])
    scale = min(fw / sw, fh / sh)
    ox, oy = (fw - sw * scale) / 2, (fh - sh * scale) / 2
    return ox + box[0] * scale, oy + box[1] * scale, (box[2] - box[0]) * scale, (box[3] - box[1]) * scale


# ---------------------------------------------------------------- the dock


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
        scroll = QScrollArea()
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
        self.steps = spin(1, 999_999, 300, "optimiser steps of the decoder, then of the transition model")
        self.seed = spin(0, 999_999, 0, "random seed (weights, batches, pendulum episodes)")
        self.size = QComboBox()
        for key in SIZES:
            self.size.addItem(key, key)
        self.size.setCurrentIndex(1)
        self.size.setToolTip("width and depth of the decoder and the transition model")
        self.size.setMinimumWidth(0)
        self.size.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        for i, (text, box) in enumerate((("History", self.history), ("Horizon", self.horizon),
                                         ("Frameskip", self.frameskip), ("Steps", self.steps),
                                         ("Seed", self.seed), ("Size", self.size))):
            label = QLabel(text)
            label.setToolTip(box.toolTip())
            grid.addWidget(label, i // 2, 2 * (i % 2))
            grid.addWidget(box, i // 2, 2 * (i % 2) + 1)
        grid.setColumnStretch(1, 1)
        grid.setColumnStretch(3, 1)
        self.target = QComboBox()
        self.target.addItem("raw tokens", "raw")
        self.target.addItem("layer-normed tokens", "layer_norm")
        self.target.setToolTip(
            "layer-normed: the space V-JEPA 2's predictor predicts in, so masked predictions can be decoded"
        )
        for combo in (self.target, self.source):  # never wider than the dock
            combo.setMinimumWidth(0)
            combo.setMinimumContentsLength(8)
            combo.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        grid.addWidget(QLabel("Decoder reads"), 3, 0, 1, 2)
        grid.addWidget(self.target, 3, 2, 1, 2)
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
        self.plot.setMinimumHeight(120)
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
        self.splitter.setStretchFactor(0, 1)
        self.splitter.setStretchFactor(1, 2)
        self.splitter.setSizes([220, 480])


class ComparisonPanel(QWidget):
    """The comparison dock: run, progress, the per-horizon table, plots, rollouts, report."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 6, 8, 6)
        row = QHBoxLayout()
        self.run = QPushButton("Run comparison")
        self.cancel = QPushButton("Cancel")
        self.report = QPushButton("Write report…")
        self.report.setEnabled(False)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress.setFormat("idle")
        self.status = QLabel("Uses the World model dock's encoders, data and settings.")
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
        layout.addWidget(self.tabs, 1)


# ---------------------------------------------------------------- the controller


class WorldController(QObject):
    """World models in a :class:`MainWindow` (see the module docstring). Create it once the
    window has its panes, docks and engine; call :meth:`save_state` and :meth:`shutdown` when
    the window closes."""

    def __init__(self, window: "MainWindow") -> None:
        super().__init__(window)
        self.window = window
        self.session = window.session
        self.store = window.store
        self.world = WorldEngine(window.engine, window.bridge.deliver)
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
        window.bridge.delivered.connect(self._on_message)
        self.session.subscribe(self._on_state)
        self._refresh_encoders()
        self._sync_source()
        mask = getattr(window, "masking", None)
        if mask is not None:
            mask.mode_listeners.append(lambda _on: self._sync_panes())

    # -- building -------------------------------------------------------------------------
    def _build(self) -> None:
        w = self.window
        self.panel = WorldPanel()
        dock = QDockWidget("World model", w)
        dock.setObjectName("worldDock")
        dock.setWidget(self.panel)
        self.panel.setMinimumWidth(280)
        self.panel.setMaximumWidth(340)
        dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable | QDockWidget.DockWidgetFeature.DockWidgetClosable)
        w.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
        w.tabifyDockWidget(w.settings_dock, dock)
        w.settings_dock.raise_()
        self.dock = dock

        self.compare_panel = ComparisonPanel()
        cdock = QDockWidget("World-model comparison", w)
        cdock.setObjectName("comparisonDock")
        cdock.setWidget(self.compare_panel)
        cdock.setFeatures(
            QDockWidget.DockWidgetFeature.DockWidgetMovable
            | QDockWidget.DockWidgetFeature.DockWidgetClosable
            | QDockWidget.DockWidgetFeature.DockWidgetFloatable
        )
        # the right docks reach down to the status bar; the comparison sits under the panes only
        w.setCorner(Qt.Corner.BottomRightCorner, Qt.DockWidgetArea.RightDockWidgetArea)
        w.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, cdock)
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

        menu = w.menuBar().addMenu("&World")
        self.menu = menu
        for text, slot in (
            ("&Train world models", lambda: self.train(resume=False)),
            ("&Resume training", lambda: self.train(resume=True)),
            ("&Cancel training", self.cancel),
            (None, None),
            ("&Load checkpoint…", lambda: self.load_checkpoint()),
            ("&Save checkpoint…", lambda: self.save_checkpoint()),
            (None, None),
            ("Compare &encoders…", self.show_comparison),
        ):
            if text is None:
                menu.addSeparator()
            else:
                act = menu.addAction(text)
                act.triggered.connect(lambda _c=False, s=slot: s())
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

    def set_chosen_encoders(self, names: tuple[str, ...]) -> None:
        lst = self.panel.encoders
        for i in range(lst.count()):
            item = lst.item(i)
            item.setCheckState(Qt.CheckState.Checked if item.data(Qt.ItemDataRole.UserRole) in names else Qt.CheckState.Unchecked)

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
        qsettings = getattr(self.store, "qsettings", None)
        name = qsettings.fileName() if qsettings is not None else ""
        if name:
            return Path(name).parent / "jepa-studio-world"
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
            self.window.show_error("Open a video first, or train on the pendulum simulator.")
            return None
        try:
            settings = self.settings()
            root = self.checkpoint_root(settings)
            if resume and not any((root / n).exists() for n in _folders(settings.encoders)):
                raise_usage(f"there is no checkpoint to resume in {root}: press Train")
            self._run = self.world.train(settings, root, resume=resume)
        except JepaStudioError as error:
            self.window.show_error(str(error))
            return None
        self.window.stop()
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
        path = QFileDialog.getExistingDirectory(self.window, "Load world-model checkpoint", str(self.data_folder()))
        return Path(path) if path else None

    def _ask_save_path(self) -> Path | None:
        path = QFileDialog.getExistingDirectory(self.window, "Save world models into folder", str(self.data_folder()))
        return Path(path) if path else None

    def _ask_report_path(self) -> Path | None:
        path = QFileDialog.getExistingDirectory(self.window, "Write the comparison report into folder", str(Path.home()))
        return Path(path) if path else None

    def load_checkpoint(self, path: Path | None = None) -> list[str]:
        """Load a checkpoint folder (or a folder of them); the panes follow."""
        path = path or self.ask_load_path()
        if path is None:
            return []
        if self.world.training:
            self.window.show_error("A world model is training: cancel it before loading a checkpoint.")
            return []
        try:
            fallback = self.settings() if self.chosen_encoders() else None
            names = self.world.load(path, fallback)
        except JepaStudioError as error:
            self.window.show_error(str(error))
            return []
        missing = [n for n in names if n not in self.session.encoders]
        if missing:
            self.window.statusBar().showMessage(
                f"loaded world models of {', '.join(missing)}; add the encoder to see its panes", 8000
            )
        self.panel.status.setText(f"loaded {', '.join(names)} from {path}")
        return names

    def save_checkpoint(self, path: Path | None = None) -> int | None:
        """Save the world models to a folder (one sub-folder per encoder when there are several)."""
        if not self.world.worlds:
            self.window.show_error("There is no world model to save: train one or load a checkpoint first.")
            return None
        path = path or self.ask_save_path()
        if path is None:
            return None
        try:
            return self.world.save(path)
        except JepaStudioError as error:
            self.window.show_error(str(error))
            return None

    # -- messages (GUI thread) ------------------------------------------------------------
    def _on_message(self, message: object) -> None:
        if self.window._closed:
            return
        if isinstance(message, WorldProgress):
            if message.run == self._run:
                self._on_progress(message)
        elif isinstance(message, WorldReady):
            self._on_ready(message)
        elif isinstance(message, WorldRunDone):
            if message.run == self._run:
                self._on_done(message)
        elif isinstance(message, Reconstruction):
            if message.request == self._recon_ids.get(message.encoder):
                self.reconstructions[message.encoder] = message
                self._show_reconstruction(message)
        elif isinstance(message, RolloutView):
            if message.request == self._rollout_ids.get(message.encoder):
                self.rollouts[message.encoder] = message
                self._show_rollouts()
        elif isinstance(message, MaskedView):
            self._on_masked_view(message)
        elif isinstance(message, MaskDecoded):
            if message.request == self._masked_id:
                self.masked = message
                self._show_masked()
        elif isinstance(message, CompareProgress):
            if message.run == self._compare_run:
                c = self.compare_panel
                c.progress.setRange(0, max(1, message.total))
                c.progress.setValue(min(message.step, message.total))
                loss = "" if message.loss != message.loss else f" · loss {message.loss:.4f}"
                c.progress.setFormat(f"{message.stage} {message.step}/{message.total}{loss}")
        elif isinstance(message, CompareDone):
            if message.run == self._compare_run:
                self._on_compare_done(message)

    def _on_progress(self, m: WorldProgress) -> None:
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
        p = self.panel
        self._set_busy(False)
        self.last_checkpoints = m.checkpoints
        p.progress.setRange(0, 1)
        p.progress.setValue(1 if not m.error and not m.cancelled else 0)
        if m.error:
            self.last_error = m.error
            p.progress.setFormat("failed")
            p.status.setText(f'<span style="color:{theme.ERROR}">{m.error}</span>')
            self.window.show_error(f"World-model training failed: {m.error}")
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
            colour = _colour(i)
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
                        pen=pg.mkPen(colour, width=1.4, style=style), name=f"{short} {prt}"
                    )
                    self._plot_items[key_val] = plot.plot(
                        pen=pg.mkPen(colour, width=1, style=Qt.PenStyle.DotLine), symbol="o", symbolSize=6,
                        symbolBrush=None, symbolPen=pg.mkPen(colour),
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
                pane.set_title(f"Decoder: {_label_html(self.world.worlds[name].label)}", pane.subtitle or "reconstruction")
                wanted.append(pane)
        rollout_names = [n for n in names if self.world.worlds[n].world.transition is not None]
        if p.show_rollout.isChecked() and rollout_names:
            wanted.append(self.real_pane)
            for name in rollout_names:
                pane = self._pane(self.rollout_panes, "rollout", name)
                pane.set_title(f"Rollout: {_label_html(self.world.worlds[name].label)}", pane.subtitle or "predicted")
                wanted.append(pane)
        mask = getattr(self.window, "masking", None)
        if mask is not None and mask.mode and self.masked is not None and self.masked.encoder == mask.encoder:
            wanted.append(self.masked_pane)
        if wanted == self._shown:
            return
        size = self.frame_size()
        for pane in self._shown:
            self.window.remove_pane(pane)
        for pane in wanted:
            pane.set_frame_size(size)
            self.window.add_pane(pane)
        self._shown = wanted

    @property
    def shown_panes(self) -> list[WorldPane]:
        return list(self._shown)

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
            f"Decoder: {_label_html(r.label)}",
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
                pane.set_title(f"Rollout: {_label_html(view.label)}", "no rollout here")
                pane.clear_image(view.note, theme.WARN)
                continue
            k = len(view.frames)
            jj = min(j, k - 1)
            src = (view.real.shape[2], view.real.shape[1])
            ctx = f"{view.context[0]}–{view.context[-1]}" if len(view.context) > 1 else str(view.context[0])
            pane.set_title(
                f"Rollout: {_label_html(view.label)}",
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
        mask = getattr(self.window, "masking", None)
        if mask is None or view.request != mask._latest:
            return
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
        self.masked_pane.set_title(f"Decoded: {_label_html(m.label)}", f"context + predicted, layer-norm decoder · {span}")
        size = self.frame_size()
        self.masked_pane.show_image(m.images[t], place(m.crop_box, size, size))
        mask = getattr(self.window, "masking", None)
        if mask is not None and mask.view is not None and mask.view.hidden is not None:
            hidden = mask.view.hidden[t]
            from .masking_panel import MaskedPane

            MaskedPane.show_outline(self.masked_pane, hidden, m.crop_box)  # type: ignore[arg-type]

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
            self._shown = [p for p in self._shown if p in self.window.extra_panes]
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
            height = max(320, int(self.window.height() * 0.45))
            self.window.resizeDocks([self.compare_dock], [height], Qt.Orientation.Vertical)
            QTimer.singleShot(0, self.window._fit_view)  # the panes got shorter: fit the frame again

    def run_comparison(self) -> int | None:
        """Run the comparison on the checked encoders and the dock's data in the background."""
        if self.session.video is None and self.panel.source.currentData() == "video":
            self.window.show_error("Open a video first, or compare on the pendulum simulator.")
            return None
        try:
            settings = self.settings()
            root = self.checkpoint_root(settings) / "comparison"
            self._compare_run = self.world.compare(settings, root)
        except JepaStudioError as error:
            self.window.show_error(str(error))
            return None
        self.show_comparison()
        self.window.stop()
        c = self.compare_panel
        self._set_busy(True, "comparing…")
        c.progress.setRange(0, 0)
        c.progress.setFormat("starting…")
        c.status.setText(f"comparing {', '.join(settings.encoders)} on {settings.data.describe()}")
        return self._compare_run

    def _on_compare_done(self, m: CompareDone) -> None:
        c = self.compare_panel
        self._set_busy(False)
        c.progress.setRange(0, 1)
        if m.error:
            self.last_error = m.error
            c.progress.setValue(0)
            c.progress.setFormat("failed")
            c.status.setText(f'<span style="color:{theme.ERROR}">{m.error}</span>')
            self.window.show_error(f"The comparison failed: {m.error}")
            return
        c.progress.setValue(1)
        c.progress.setFormat("cancelled" if m.result.cancelled else "done")
        self.show_result(m.result)

    def show_result(self, result: Any) -> None:
        """Fill the table, the plots and the rollout grid from a ComparisonResult."""
        from ..world.report import TABLE_COLUMNS

        self.result = result
        c = self.compare_panel
        c.report.setEnabled(bool(result.encoders))
        notes = [f"{e.info.label}: {e.weights_note}, {e.n_windows} rollouts, {e.seconds:.1f} s" for e in result.encoders]
        if result.cancelled:
            notes.append("cancelled: only these encoders finished")
        c.status.setText(
            f"{result.source}; last {result.settings.val_fraction:.0%} of every clip held out. "
            "Solid: world model; dashed: copy (nothing moves); dotted: ceiling (the decoder on the true latents). "
            + " · ".join(notes)
        )
        rows = result.table()
        table = c.table
        table.clear()
        table.setColumnCount(len(TABLE_COLUMNS))
        table.setRowCount(len(rows))
        table.setHorizontalHeaderLabels([h for h, _ in TABLE_COLUMNS])
        for r, entry in enumerate(rows):
            for col, (_, key) in enumerate(TABLE_COLUMNS):
                value = entry[key]
                text = str(value) if isinstance(value, (int, str)) else _fmt(value, 2 if key.startswith("psnr") else 3)
                item = QTableWidgetItem(text)
                item.setData(Qt.ItemDataRole.UserRole, value)
                if col > 0:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                table.setItem(r, col, item)
        table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for metric, _title, _ in METRIC_PLOTS:
            plot = c.plots[metric]
            plot.clear()
            legend = plot.plotItem.legend
            if legend is not None:
                legend.clear()
            for i, e in enumerate(result.encoders):
                colour = _colour(i)
                xs = [row.frames_ahead for row in e.rows]
                short = e.info.label if len(e.info.label) < 28 else e.info.label[:26] + "…"
                plot.plot(xs, [getattr(row, f"{metric}_model") for row in e.rows], pen=pg.mkPen(colour, width=2),
                          symbol="o", symbolSize=6, symbolBrush=colour, symbolPen=None, name=short)
                plot.plot(xs, [getattr(row, f"{metric}_copy") for row in e.rows],
                          pen=pg.mkPen(colour, width=1.3, style=Qt.PenStyle.DashLine), name="copy" if i == 0 else None)
                if metric in ("psnr", "ssim"):
                    plot.plot(xs, [getattr(row, f"{metric}_ceiling") for row in e.rows],
                              pen=pg.mkPen(colour, width=1.3, style=Qt.PenStyle.DotLine), name="ceiling" if i == 0 else None)
        if result.encoders:
            from ..world.report import rollout_grid

            try:
                grid = np.ascontiguousarray(rollout_grid(result, cell=96))
                h, w = grid.shape[:2]
                qimage = QImage(grid.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()
                c.rollouts.setPixmap(QPixmap.fromImage(qimage))
            except ValueError as error:
                c.rollouts.setText(str(error))

    def write_report(self, folder: Path | None = None) -> int | None:
        """Write report.json, table.md, plots and rollouts.png (as ``jepa-studio compare``)."""
        if self.result is None:
            self.window.show_error("Run a comparison before writing its report.")
            return None
        folder = folder or self.ask_report_path()
        if folder is None:
            return None
        return self.world.write_report(self.result, folder)

    # -- closing --------------------------------------------------------------------------
    def shutdown(self, timeout: float = 5.0) -> bool:
        """Cancel training and wait (briefly) for its last checkpoint to be written."""
        return self.world.shutdown(timeout)


def _folders(names: tuple[str, ...]) -> list[str]:
    from ..world.checkpoints import safe_name

    return [safe_name(n) for n in names]


def raise_usage(message: str) -> None:
    from ..errors import UsageError

    raise UsageError(message)


__all__ = ["ComparisonPanel", "WorldController", "WorldPane", "WorldPanel", "place"]
