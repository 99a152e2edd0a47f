"""The comparison dock's results: the per-horizon table, the metric plots and the rollout grid."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import QHeaderView, QTableWidgetItem

from .panel import METRIC_PLOTS, ComparisonPanel

#: line colours per encoder (the report's palette)
PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2"]


def colour(i: int) -> str:
    return PALETTE[i % len(PALETTE)]


def _fmt(value: float, digits: int = 3) -> str:
    return "nan" if not math.isfinite(value) else f"{value:.{digits}f}"


def show_comparison_result(c: ComparisonPanel, result: Any) -> None:
    """Fill the table, the plots and the rollout grid from a ComparisonResult."""
    from ...world.report import TABLE_COLUMNS

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
            pen = colour(i)
            xs = [row.frames_ahead for row in e.rows]
            short = e.info.label if len(e.info.label) < 28 else e.info.label[:26] + "…"
            plot.plot(xs, [getattr(row, f"{metric}_model") for row in e.rows], pen=pg.mkPen(pen, width=2),
                      symbol="o", symbolSize=6, symbolBrush=pen, symbolPen=None, name=short)
            plot.plot(xs, [getattr(row, f"{metric}_copy") for row in e.rows],
                      pen=pg.mkPen(pen, width=1.3, style=Qt.PenStyle.DashLine), name="copy" if i == 0 else None)
            if metric in ("psnr", "ssim"):
                plot.plot(xs, [getattr(row, f"{metric}_ceiling") for row in e.rows],
                          pen=pg.mkPen(pen, width=1.3, style=Qt.PenStyle.DotLine), name="ceiling" if i == 0 else None)
    if result.encoders:
        from ...world.report import rollout_grid

        try:
            grid = np.ascontiguousarray(rollout_grid(result, cell=96))
            h, w = grid.shape[:2]
            qimage = QImage(grid.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()
            c.rollouts.setPixmap(QPixmap.fromImage(qimage))
        except ValueError as error:
            c.rollouts.setText(str(error))
