"""A dashed outline around hidden tokens, drawn in source-frame pixels on any pane."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QPainterPath, QPen
from PySide6.QtWidgets import QGraphicsPathItem


def outline_path(hidden: np.ndarray | None, crop_box: tuple[int, int, int, int]) -> QPainterPath:
    """The border between hidden and visible tokens.

    Parameters
    ----------
    hidden: bool [h, w], True for hidden tokens (None: an empty path).
    crop_box: (x0, y0, x1, y1), the source pixels the token grid covers.
    """
    path = QPainterPath()
    if hidden is None or not hidden.any():
        return path
    h, w = hidden.shape
    x0, y0, x1, y1 = crop_box
    sx, sy = (x1 - x0) / w, (y1 - y0) / h
    padded = np.pad(hidden, 1)
    for r, c in zip(*np.nonzero(hidden)):
        px, py = x0 + c * sx, y0 + r * sy
        if not padded[r, c + 1]:  # above
            path.moveTo(px, py)
            path.lineTo(px + sx, py)
        if not padded[r + 2, c + 1]:  # below
            path.moveTo(px, py + sy)
            path.lineTo(px + sx, py + sy)
        if not padded[r + 1, c]:  # left
            path.moveTo(px, py)
            path.lineTo(px, py + sy)
        if not padded[r + 1, c + 2]:  # right
            path.moveTo(px + sx, py)
            path.lineTo(px + sx, py + sy)
    return path


class TokenOutline(QGraphicsPathItem):
    """A cosmetic dashed white outline of hidden tokens (add it to a pane's view box)."""

    def __init__(self) -> None:
        super().__init__()
        pen = QPen(QColor(255, 255, 255, 200))
        pen.setCosmetic(True)
        pen.setWidthF(1.2)
        pen.setStyle(Qt.PenStyle.DashLine)
        self.setPen(pen)
        self.setZValue(15)

    def show_tokens(self, hidden: np.ndarray | None, crop_box: tuple[int, int, int, int]) -> None:
        """Outline ``hidden`` (bool [h, w]) over ``crop_box``; None clears the outline."""
        self.setPath(outline_path(hidden, crop_box))
