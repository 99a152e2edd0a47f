"""Panes side by side in one pyqtgraph scene, zoom and pan linked.

Every pane draws in source-frame pixel coordinates (x right, y down), so the frame, each
encoder's token map (placed over its crop box) and any overlay line up, and linking the
view boxes links zoom and pan. The pane system is open: :class:`PaneGrid` holds any
:class:`Pane` (the frame pane, one :class:`EncoderPane` per encoder, and later kinds such
as masked-prediction panes).
"""

from __future__ import annotations

import math
from typing import Iterable

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtWidgets import QWidget

from ..engine.messages import PaneImage
from . import theme

theme.configure_pyqtgraph()


class _Title(pg.LabelItem):
    """A pane title that never widens its column (long text is clipped, not laid out)."""

    def __init__(self) -> None:
        super().__init__(justify="left")
        self.setFlag(self.GraphicsItemFlag.ItemClipsChildrenToShape, True)

    def updateMin(self) -> None:
        height = self.itemRect().height()
        self.setMinimumWidth(0)
        self.setMinimumHeight(height)
        self._sizeHint = {
            Qt.SizeHint.MinimumSize: (0, height),
            Qt.SizeHint.PreferredSize: (0, height),
            Qt.SizeHint.MaximumSize: (-1, -1),
            Qt.SizeHint.MinimumDescent: (0, 0),
        }
        self.updateGeometry()


class Pane:
    """A titled view box in the grid, drawing in source-frame pixel coordinates.

    Attributes
    ----------
    key: a unique name ("frame", or the encoder name).
    view_box: the pyqtgraph ViewBox (y down, aspect locked).
    frame_item: ImageItem showing the source frame (the frame pane; the overlay underlay).
    """

    def __init__(self, key: str, title: str = "") -> None:
        self.key = key
        self.title = title
        self.subtitle = ""
        self.title_item = _Title()
        self.view_box = pg.ViewBox(lockAspect=True, invertY=True, enableMenu=False)
        self.view_box.setBorder(pg.mkPen("#3c3f44"))
        self.frame_item = pg.ImageItem()
        self.frame_item.setZValue(0)
        self.view_box.addItem(self.frame_item)
        self.note_item = pg.TextItem("", color=theme.MUTED, anchor=(0.5, 0.5))
        self.note_item.setZValue(20)
        self.view_box.addItem(self.note_item, ignoreBounds=True)
        self.marker = pg.ScatterPlotItem(
            size=14, symbol="+", pen=pg.mkPen("#ffffff", width=2), brush=None, pxMode=True
        )
        self.marker.setZValue(30)
        self.view_box.addItem(self.marker, ignoreBounds=True)
        self.frame_size: tuple[int, int] = (0, 0)
        self._update_title()

    # -- drawing --------------------------------------------------------------------------
    def set_frame(self, image: np.ndarray | None) -> None:
        """Show source frame uint8 [H, W, 3] (C-contiguous; never mutated afterwards)."""
        if image is None:
            self.frame_item.clear()
            return
        self.frame_item.setImage(image, autoLevels=False)
        h, w = image.shape[:2]
        if (w, h) != self.frame_size:
            self.frame_size = (w, h)
            self.frame_item.setRect(QRectF(0, 0, w, h))
            self.note_item.setPos(w / 2, h / 2)

    def set_note(self, text: str, colour: str = theme.MUTED) -> None:
        """A short message in the middle of the pane ("" hides it)."""
        self.note_item.setText(text)
        self.note_item.setColor(colour)

    def set_marker(self, point: tuple[float, float] | None) -> None:
        """Mark the similarity query point (source-frame pixels), or clear it."""
        self.marker.setData([] if point is None else [{"pos": point}])

    def set_title(self, title: str, subtitle: str = "") -> None:
        self.title = title
        self.subtitle = subtitle
        self._update_title()

    def _update_title(self) -> None:
        sub = self.subtitle or "&nbsp;"
        self.title_item.setText(
            f'<span style="color:{theme.TEXT}; font-weight:600">{self.title}</span><br>'
            f'<span style="color:{theme.MUTED}">{sub}</span>',
            size="9.5pt",
        )


class FramePane(Pane):
    """The source frame under the playhead."""

    def __init__(self) -> None:
        super().__init__("frame", "Frame")
        self.frame_item.setZValue(0)


class EncoderPane(Pane):
    """One encoder's map for the playhead's time step, optionally over the frame."""

    def __init__(self, encoder: str) -> None:
        super().__init__(encoder, encoder)
        self.encoder = encoder
        self.map_item = pg.ImageItem()
        self.map_item.setZValue(10)
        self.view_box.addItem(self.map_item)
        self.overlay = False
        self.opacity = 0.6
        self.last: PaneImage | None = None
        self.frame_item.setVisible(False)
        self.set_note("waiting for the encoder…")

    def set_overlay(self, overlay: bool, opacity: float) -> None:
        """Draw the map over the frame at ``opacity``, or alone (opaque)."""
        self.overlay, self.opacity = overlay, opacity
        self.frame_item.setVisible(overlay)
        self.map_item.setOpacity(opacity if overlay else 1.0)

    def show_result(self, result: PaneImage) -> None:
        """Show an engine result: the map image placed over its crop box, and the title."""
        self.last = result
        label = result.label
        if result.tubelet_size > 1 and len(result.covered) > 1:
            subtitle = f"frames {result.covered[0]}–{result.covered[-1]} (tubelet {result.time_step + 1}/{result.n_steps})"
        elif result.covered:
            subtitle = f"frame {result.covered[0]} (step {result.time_step + 1}/{result.n_steps})"
        else:
            subtitle = ""
        colour = theme.WARN if "random weights" in label else theme.TEXT
        self.set_title(label if colour == theme.TEXT else f'<span style="color:{colour}">{label}</span>', subtitle)
        if result.image is None:
            self.map_item.clear()
            self.set_note(result.note or "nothing to show")
            return
        self.map_item.setImage(result.image, autoLevels=False)
        x0, y0, x1, y1 = result.crop_box
        self.map_item.setRect(QRectF(x0, y0, x1 - x0, y1 - y0))
        self.set_note(result.note)

    def show_error(self, message: str) -> None:
        """The encoder failed: say why in the pane (other panes go on)."""
        self.map_item.clear()
        self.set_title(f'<span style="color:{theme.ERROR}">{self.encoder}</span>', "failed")
        self.set_note(_wrap(message, 48), theme.ERROR)


def _wrap(text: str, width: int) -> str:
    words, lines, line = text.split(), [], ""
    for word in words:
        if len(line) + len(word) + 1 > width and line:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    if line:
        lines.append(line)
    return "\n".join(lines)


class PaneGrid(pg.GraphicsLayoutWidget):
    """Panes in a grid (one row up to three panes, then two rows), zoom and pan linked.

    Signals
    -------
    clicked(x, y, key): a left click at source-frame pixel (x, y) on pane ``key``.
    """

    clicked = Signal(float, float, str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setBackground(theme.BACKGROUND)
        self.ci.setContentsMargins(4, 4, 4, 4)
        self.ci.setSpacing(6)
        self.panes: list[Pane] = []
        self.scene().sigMouseClicked.connect(self._on_click)

    def pane(self, key: str) -> Pane | None:
        for pane in self.panes:
            if pane.key == key:
                return pane
        return None

    def set_panes(self, panes: Iterable[Pane]) -> None:
        """Lay out ``panes`` (kept objects are reused, so their images stay)."""
        panes = list(panes)
        self.ci.clear()
        n = len(panes)
        cols = n if n <= 3 else math.ceil(n / 2)
        for i, pane in enumerate(panes):
            r, c = divmod(i, max(cols, 1))
            self.ci.addItem(pane.title_item, row=2 * r, col=c)
            self.ci.addItem(pane.view_box, row=2 * r + 1, col=c)
        for r in range(math.ceil(n / max(cols, 1))):
            self.ci.layout.setRowStretchFactor(2 * r, 0)
            self.ci.layout.setRowStretchFactor(2 * r + 1, 1)
        for c in range(cols):
            self.ci.layout.setColumnStretchFactor(c, 1)
        self.panes = panes
        if panes:
            lead = panes[0].view_box
            lead.setXLink(None)
            lead.setYLink(None)
            for pane in panes[1:]:
                pane.view_box.setXLink(lead)
                pane.view_box.setYLink(lead)

    def fit(self, size: tuple[int, int]) -> None:
        """Show the whole frame (width, height) in every pane."""
        w, h = size
        if self.panes and w and h:
            lead = self.panes[0].view_box
            lead.setRange(QRectF(0, 0, w, h), padding=0.02)
            lead.enableAutoRange()  # keeps fitting as panes resize, until the user zooms

    def _on_click(self, event) -> None:  # pyqtgraph MouseClickEvent
        if event.button() != Qt.MouseButton.LeftButton or event.double():
            return
        pos = event.scenePos()
        for pane in self.panes:
            if pane.view_box.sceneBoundingRect().contains(pos):
                point: QPointF = pane.view_box.mapSceneToView(pos)
                self.clicked.emit(float(point.x()), float(point.y()), pane.key)
                return
