"""Tracks drawn over a pane: a trail per point (the steps of the clip up to the playhead) and a
dot where the encoder puts the point now, in the point's colour."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg

from ...analysis.tracking import Tracks
from ...render.trails import point_colour


def trail_steps(tracks: Tracks, frames: tuple[int, ...], playhead: int, tail: int) -> list[int]:
    """The time steps of the clip ``frames`` that start at or before ``playhead`` (the last
    ``tail`` of them; 0: all), oldest first."""
    shown = set(frames)
    steps = [t for t, covered in enumerate(tracks.frame_indices) if covered and covered[0] in shown and covered[0] <= playhead]
    return steps[-tail:] if tail > 0 else steps


class TrackOverlay:
    """The tracks of one encoder on one pane (items added to its view box, never to its bounds)."""

    def __init__(self, view_box: pg.ViewBox) -> None:
        self.view_box = view_box
        self.lines: list[pg.PlotCurveItem] = []
        self.dots = pg.ScatterPlotItem(size=11, pxMode=True, pen=pg.mkPen("#000000", width=1.2))
        self.dots.setZValue(40)
        view_box.addItem(self.dots, ignoreBounds=True)

    def show(self, tracks: Tracks | None, frames: tuple[int, ...], playhead: int, tail: int) -> np.ndarray:
        """Draw ``tracks`` at ``playhead``; returns the dots' positions float32 [N, 2] (empty when none)."""
        if tracks is None:
            self.clear()
            return np.zeros((0, 2), np.float32)
        steps = trail_steps(tracks, frames, playhead, tail)
        while len(self.lines) < tracks.n_points:
            line = pg.PlotCurveItem()
            line.setZValue(35)
            self.view_box.addItem(line, ignoreBounds=True)
            self.lines.append(line)
        spots = []
        for n, line in enumerate(self.lines):
            if n >= tracks.n_points or not steps:
                line.setData([], [])
                continue
            colour = point_colour(n)
            xy = tracks.xy[n, steps]
            line.setData(xy[:, 0], xy[:, 1], pen=pg.mkPen(colour, width=2))
            spots.append({"pos": tuple(xy[-1]), "brush": pg.mkBrush(*colour)})
        self.dots.setData(spots)
        return np.array([s["pos"] for s in spots], np.float32).reshape(-1, 2)

    def clear(self) -> None:
        for line in self.lines:
            line.setData([], [])
        self.dots.setData([])

    def detach(self) -> None:
        for item in (*self.lines, self.dots):
            self.view_box.removeItem(item)
        self.lines.clear()
