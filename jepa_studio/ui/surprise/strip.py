"""The surprise strip under the timeline: the curve over the whole video, the pixel control
beside it, the playhead, the peaks; a click jumps there."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QPushButton, QSizePolicy, QVBoxLayout, QWidget

from ...analysis.surprise import SurpriseCurve
from ..shell import theme

#: the method combo box: (data, text)
METHODS = (("", "auto"), ("predictor", "predictor"), ("copy", "copy last step"), ("velocity", "constant velocity"))
SURPRISE_PEN = "#f0a04b"
PIXEL_PEN = "#8c8f94"


class SurpriseStrip(QWidget):
    """Controls and the plot. ``jumped(frame)``: the user clicked the plot at ``frame``."""

    jumped = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        row = QHBoxLayout()
        row.setSpacing(6)
        title = QLabel("Surprise")
        title.setStyleSheet(f"color: {theme.TEXT}; font-weight: 600;")
        row.addWidget(title)
        self.encoder = QComboBox()
        self.encoder.setToolTip("the encoder whose predictions are scored (V-JEPA 2 uses its predictor)")
        self.method = QComboBox()
        for data, text in METHODS:
            self.method.addItem(text, data)
        self.method.setToolTip("predictor: V-JEPA 2 predicts the next steps from the past (true masking); "
                               "copy / constant velocity: baselines in latent space, for any encoder")
        self.compute = QPushButton("Compute")
        self.compute.setToolTip("compute the curve over the whole video in the background")
        self.export = QPushButton("Export…")
        self.export.setToolTip("write surprise.csv and surprise.png")
        self.status = QLabel("")
        self.status.setStyleSheet(f"color: {theme.MUTED};")
        self.status.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        for w in (self.encoder, self.method, self.compute, self.export):
            w.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            row.addWidget(w)
        row.addWidget(self.status, 1)
        layout.addLayout(row)
        self.plot = pg.PlotWidget()
        self.plot.setFixedHeight(110)
        self.plot.setMouseEnabled(x=False, y=False)
        self.plot.hideButtons()
        self.plot.setMenuEnabled(False)
        self.plot.showGrid(x=True, y=True, alpha=0.15)
        self.plot.getAxis("left").setWidth(44)
        self.plot.setLabel("left", "1 − cos")
        self.plot.getAxis("left").enableAutoSIPrefix(False)
        self.surprise_curve = self.plot.plot(pen=pg.mkPen(SURPRISE_PEN, width=1.6), name="surprise")
        self.pixel_curve = self.plot.plot(pen=pg.mkPen(PIXEL_PEN, width=1, style=Qt.PenStyle.DashLine), name="pixels")
        self.peaks = pg.ScatterPlotItem(size=8, symbol="t", brush=pg.mkBrush(SURPRISE_PEN), pen=None)
        self.plot.addItem(self.peaks)
        self.playhead = pg.InfiniteLine(angle=90, pen=pg.mkPen("#ffffff", width=1.2))
        self.plot.addItem(self.playhead, ignoreBounds=True)
        self.empty = pg.TextItem("Compute the surprise of the whole video: where do the predictions fail?",
                                 color=theme.MUTED, anchor=(0.5, 0.5))
        self.plot.addItem(self.empty, ignoreBounds=True)
        self.empty.setPos(0.5, 0.5)
        layout.addWidget(self.plot)
        self.plot.scene().sigMouseClicked.connect(self._on_click)
        self.curve: SurpriseCurve | None = None

    def show_curve(self, curve: SurpriseCurve | None) -> None:
        """Plot ``curve`` (x: source frames): 1 - cos, the pixel difference scaled to its range, peaks."""
        self.curve = curve
        if curve is None:
            self.surprise_curve.setData([], [])
            self.pixel_curve.setData([], [])
            self.peaks.setData([])
            self.empty.setVisible(True)
            self.plot.setToolTip("")
            return
        self.empty.setVisible(False)
        x = curve.frames.astype(float)
        y = curve.cosine
        finite = np.isfinite(y)
        self.surprise_curve.setData(x[finite], y[finite])
        top = float(np.nanmax(y)) if finite.any() else 1.0
        pixels = curve.pixel_difference
        ok = np.isfinite(pixels)
        scale = top / max(float(np.nanmax(pixels)) if ok.any() else 1.0, 1e-12)
        self.pixel_curve.setData(x[ok], pixels[ok] * scale)  # the control, scaled to the curve
        peaks = curve.peaks()
        self.peaks.setData(x[peaks], y[peaks])
        self.plot.setXRange(float(x[0]), float(x[-1]), padding=0.01)
        self.plot.setYRange(0.0, top * 1.1 if top > 0 else 1.0, padding=0)
        self.plot.setToolTip(f"orange: {curve.title}; grey dashes: the pixel difference (the control), "
                             "scaled to the curve; triangles: the highest peaks. Click to jump there.")

    def set_playhead(self, frame: int) -> None:
        self.playhead.setPos(float(frame))

    def _on_click(self, event) -> None:  # pyqtgraph MouseClickEvent
        if self.curve is None or event.button() != Qt.MouseButton.LeftButton:
            return
        point = self.plot.getViewBox().mapSceneToView(event.scenePos())
        frames = self.curve.frames
        nearest = int(frames[np.argmin(np.abs(frames - point.x()))])
        self.jumped.emit(nearest)
