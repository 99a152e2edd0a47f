"""A colour bar in a pane's corner: the scale of a scalar map (its range, colours and unit)."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QImage, QPainter

from ...render.colormap import colormap_lut
from . import theme


class ColourBar(pg.GraphicsWidgetAnchor, pg.GraphicsWidget):
    """Anchored to the bottom-left of a view box, in screen pixels (it does not zoom)."""

    WIDTH, HEIGHT = 132, 34

    def __init__(self, view_box: pg.ViewBox) -> None:
        pg.GraphicsWidget.__init__(self)
        pg.GraphicsWidgetAnchor.__init__(self)
        self.setParentItem(view_box)
        self.setZValue(40)
        self.setFixedWidth(self.WIDTH)
        self.setFixedHeight(self.HEIGHT)
        self.anchor(itemPos=(0, 1), parentPos=(0, 1), offset=(6, -6))
        self.scale = None
        self._image: QImage | None = None
        self.font = QFont()
        self.font.setPointSizeF(7.5)
        self.hide()

    def set_scale(self, scale: object | None) -> None:
        """Show ``scale`` (a :class:`~jepa_studio.maps.Scale`), or hide the bar for None."""
        self.scale = scale
        if scale is None:
            self.hide()
            return
        lut = colormap_lut(scale.colormap)  # type: ignore[attr-defined]
        row = lut.reshape(1, -1, 3).copy()
        self._image = QImage(row.data, row.shape[1], 1, 3 * row.shape[1], QImage.Format.Format_RGB888).copy()
        self.show()
        self.update()

    def text(self) -> tuple[str, str, str]:
        """(low end, high end, unit) as drawn."""
        s = self.scale
        if s is None:
            return "", "", ""
        return f"{s.vmin:.3g}", f"{s.vmax:.3g}", s.unit  # type: ignore[attr-defined]

    def paint(self, painter: QPainter, *_args: object) -> None:
        if self.scale is None or self._image is None:
            return
        low, high, unit = self.text()
        painter.fillRect(QRectF(0, 0, self.WIDTH, self.HEIGHT), QColor(20, 21, 24, 200))
        painter.drawImage(QRectF(6, 4, self.WIDTH - 12, 8), self._image)
        painter.setFont(self.font)
        painter.setPen(QColor(theme.TEXT))
        painter.drawText(QPointF(6, 22), low)
        width = painter.fontMetrics().horizontalAdvance(high)
        painter.drawText(QPointF(self.WIDTH - 6 - width, 22), high)
        painter.setPen(QColor(theme.MUTED))
        painter.drawText(QRectF(6, 22, self.WIDTH - 12, 12), int(Qt.AlignmentFlag.AlignLeft), unit)
