"""The comparison dock: run ``compare_encoders`` from the World model dock's options, and
show its result: the per-horizon table, the metric plots, the rollout grid and the summary
(the verdicts in words, the temporal probes' R², the frames every encoder was scored on:
the text ``jepa-studio compare`` prints)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import QFileDialog, QHeaderView, QTableWidgetItem

from ...engine.world import CompareDone, CompareProgress
from ...errors import JepaStudioError
from ..shell import theme

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

    from ...world.report import format_table

    c.report.setEnabled(bool(result.encoders))
    notes = [f"{e.name}: {e.weights_note}, {e.latents} latents, {e.n_windows} rollouts, {e.seconds:.1f} s"
             for e in result.encoders]
    if result.cancelled:
        notes.append("cancelled: only these encoders finished")
    c.status.setText(
        f"{result.source}; last {result.settings.val_fraction:.0%} of every clip held out. "
        "Solid: world model; dashed: copy (nothing moves); dash-dot: constant velocity; dotted: ceiling "
        "(the decoder on the true latents). "
        + " · ".join(notes)
    )
    verdicts = [e.verdict() for e in result.encoders]  # first: the table is wide
    c.summary.setPlainText("\n".join(verdicts) + "\n\n" + format_table(result, markdown=False))
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
            short = e.name if len(e.name) < 28 else e.name[:12] + "…" + e.name[-14:]
            plot.plot(xs, [getattr(row, f"{metric}_model") for row in e.rows], pen=pg.mkPen(pen, width=2),
                      symbol="o", symbolSize=6, symbolBrush=pen, symbolPen=None, name=short)
            plot.plot(xs, [getattr(row, f"{metric}_copy") for row in e.rows],
                      pen=pg.mkPen(pen, width=1.3, style=Qt.PenStyle.DashLine), name="copy" if i == 0 else None)
            plot.plot(xs, [getattr(row, f"{metric}_velocity") for row in e.rows],
                      pen=pg.mkPen(pen, width=1.3, style=Qt.PenStyle.DashDotLine),
                      name="const. velocity" if i == 0 else None)
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


class ComparisonController(QObject):
    """Runs the comparison for the World model feature and shows its result in ``panel``.

    ``feature`` is the :class:`~.controller.WorldFeature` (its options, world engine,
    checkpoint folder and busy state)."""

    def __init__(self, feature: Any, panel: ComparisonPanel) -> None:
        super().__init__(feature)
        self.feature = feature
        self.host = feature.host
        self.panel = panel
        self.run_id = 0
        self.result: Any = None
        #: ``() -> Path | None`` asks where the report goes (tests replace it)
        self.ask_report_path: Callable[[], Path | None] = self._ask_report_path
        panel.run.clicked.connect(lambda: self.run())
        panel.cancel.clicked.connect(feature.cancel)
        panel.report.clicked.connect(lambda: self.write_report())
        self.host.on_message(CompareProgress, self._on_progress)
        self.host.on_message(CompareDone, self._on_done)

    def show(self) -> None:
        """Show the comparison dock, at about 45% of the window's height."""
        self.feature.dock.show()  # the comparison runs on the World dock's settings: keep them in view
        dock = self.feature.compare_dock
        shown = dock.isVisible()
        dock.show()
        dock.raise_()
        if not shown and not dock.isFloating():
            window = self.host.widget
            height = max(320, int(window.height() * 0.45))
            window.resizeDocks([dock], [height], Qt.Orientation.Vertical)  # type: ignore[attr-defined]

    def run(self) -> int | None:
        """Run the comparison on the checked encoders and the dock's data in the background."""
        f = self.feature
        if f.session.video is None and f.state.options.source == "video":
            self.host.show_error("Open a video first, or compare on the pendulum simulator.")
            return None
        try:
            settings = f.settings()
            root = f.checkpoint_root(settings) / "comparison"
            self.run_id = f.world.compare(settings, root)
        except JepaStudioError as error:
            self.host.show_error(str(error))
            return None
        self.result = None
        self.show()
        self.host.stop_playback()
        c = self.panel
        f._set_busy(True, "comparing…")
        c.progress.setRange(0, 0)
        c.progress.setFormat("starting…")
        c.status.setText(f"comparing {', '.join(settings.encoders)} on {settings.data.describe()} "
                         f"({settings.latents} latents)")
        return self.run_id

    def _on_progress(self, message: CompareProgress) -> None:
        if message.run == self.run_id:
            c = self.panel
            c.progress.setRange(0, max(1, message.total))
            c.progress.setValue(min(message.step, message.total))
            loss = "" if message.loss != message.loss else f" · loss {message.loss:.4f}"
            c.progress.setFormat(f"{message.stage} {message.step}/{message.total}{loss}")

    def _on_done(self, m: CompareDone) -> None:
        if m.run != self.run_id:
            return
        c = self.panel
        self.feature._set_busy(False)
        c.progress.setRange(0, 1)
        if m.error:
            self.feature.last_error = m.error
            c.progress.setValue(0)
            c.progress.setFormat("failed")
            c.status.setText(f'<span style="color:{theme.ERROR}">{m.error}</span>')
            self.feature.panel.status.setText("the comparison failed (see the comparison dock)")
            self.host.show_error(f"The comparison failed: {m.error}")
            return
        c.progress.setValue(1)
        c.progress.setFormat("cancelled" if m.result.cancelled else "done")
        self.feature.panel.status.setText(
            "comparison cancelled" if m.result.cancelled else "comparison done: see the World-model comparison dock"
        )
        self.show_result(m.result)

    def show_result(self, result: Any) -> None:
        """Fill the table, the plots, the rollout grid and the summary from a ComparisonResult."""
        self.result = result
        show_comparison_result(self.panel, result)

    def _ask_report_path(self) -> Path | None:
        path = QFileDialog.getExistingDirectory(self.host.widget, "Write the comparison report into folder", str(Path.home()))
        return Path(path) if path else None

    def write_report(self, folder: Path | None = None) -> int | None:
        """Write report.json, table.md, plots and rollouts.png (as ``jepa-studio compare``)."""
        if self.result is None:
            self.host.show_error("Run a comparison before writing its report.")
            return None
        folder = folder or self.ask_report_path()
        if folder is None:
            return None
        return self.feature.world.write_report(self.result, folder)
