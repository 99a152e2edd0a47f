"""The World model dock's loss plot: every encoder's decoder (solid) and transition (dashed)
training losses per step, and their held-out losses (dotted, circles), on a log scale."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt

from .comparison import colour

Curve = tuple[tuple[float, ...], tuple[tuple[int, float], ...]]
PARTS = (("decoder", Qt.PenStyle.SolidLine), ("transition", Qt.PenStyle.DashLine))


class LossPlot:
    """Curves per (encoder, part) drawn into ``plot`` (a log-y ``pg.PlotWidget``)."""

    def __init__(self, plot: pg.PlotWidget, legend: Any, empty: pg.TextItem) -> None:
        self.plot, self.legend, self.empty = plot, legend, empty
        #: encoder -> part -> (losses per step, (step, held-out loss) pairs)
        self.curves: dict[str, dict[str, Curve]] = {}
        self._items: dict[tuple[str, str, str], Any] = {}
        self.redraw()

    def forget(self, encoders: Sequence[str]) -> None:
        """Drop the curves of ``encoders`` (a new run starts from scratch)."""
        for name in encoders:
            self.curves.pop(name, None)
        self.redraw()

    def set_all(self, encoder: str, parts: dict[str, Curve]) -> None:
        self.curves[encoder] = dict(parts)
        self.redraw()

    def update(self, encoder: str, part: str, losses: tuple[float, ...], val: tuple[tuple[int, float], ...]) -> None:
        self.curves.setdefault(encoder, {})[part] = (losses, val)
        self.redraw(encoder, part)

    def redraw(self, encoder: str | None = None, part: str | None = None) -> None:
        """Redraw everything, or only one encoder's part (the training hot path)."""
        if encoder is None:
            self.plot.clear()
            self.legend.clear()
            self._items.clear()
        for i, name in enumerate(self.curves):
            if encoder is not None and name != encoder:
                continue
            pen = colour(i)
            short = Path(name).name if "/" in name else name
            for prt, style in PARTS:
                if part is not None and prt != part:
                    continue
                losses, val = self.curves[name].get(prt, ((), ()))
                key_train, key_val = (name, prt, "train"), (name, prt, "val")
                if key_train not in self._items:
                    self._items[key_train] = self.plot.plot(pen=pg.mkPen(pen, width=1.4, style=style), name=f"{short} {prt}")
                    self._items[key_val] = self.plot.plot(
                        pen=pg.mkPen(pen, width=1, style=Qt.PenStyle.DotLine), symbol="o", symbolSize=6,
                        symbolBrush=None, symbolPen=pg.mkPen(pen),
                    )
                xs = np.arange(1, len(losses) + 1, dtype=float)
                self._items[key_train].setData(xs, np.maximum(np.asarray(losses, float), 1e-12))
                vx = np.asarray([v[0] for v in val], float)
                vy = np.maximum(np.asarray([v[1] for v in val], float), 1e-12)
                self._items[key_val].setData(vx, vy)
        empty = not any(c.get(p, ((),))[0] for c in self.curves.values() for p in c)
        self.empty.setVisible(empty)
        vb = self.plot.getViewBox()
        if empty:  # a fixed frame (1e-4 to 1 over 100 steps) with the hint in its middle, not piled ticks
            vb.disableAutoRange()
            self.plot.setRange(xRange=(0, 100), yRange=(-4, 0), padding=0)
            self.empty.setPos(50, -2)
        else:
            vb.enableAutoRange()

    def points(self, encoder: str, part: str, kind: str = "train") -> tuple[np.ndarray, np.ndarray]:
        """(x, y) of a curve as drawn (``kind`` "train" or "val")."""
        item = self._items.get((encoder, part, kind))
        xs = None if item is None else item.xData  # the data given (getData() is log10 in log mode)
        return (np.zeros(0), np.zeros(0)) if xs is None else (np.asarray(xs), np.asarray(item.yData))
