"""Panes side by side in one pyqtgraph scene, zoom and pan linked.

Every pane draws in source-frame pixel coordinates (x right, y down), so the frame, each
encoder's token map (placed over its crop box) and any overlay line up, and linking the
view boxes links zoom and pan. The pane system is open: :class:`PaneGrid` holds any
:class:`Pane` (the frame pane here; each feature brings its own kinds: encoder panes,
masked-prediction panes, world-model panes...).
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Callable, Iterable

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QPainter
from PySide6.QtWidgets import QSizePolicy, QWidget

from ...render.text import elide_runs
from ...render.view import PaneCell
from . import theme
from .labels import parse_runs, plain_text

theme.configure_pyqtgraph()


class _Title(pg.GraphicsWidget):
    """A pane title: a bold first line (coloured runs) and a muted subtitle, each elided in
    the middle to the pane's width, never widening its column. The tooltip holds the full text.
    """

    PADDING = 2

    def __init__(self) -> None:
        super().__init__()
        self.title_font = QFont()
        self.title_font.setPointSizeF(9.5)
        self.title_font.setWeight(QFont.Weight.DemiBold)
        self.sub_font = QFont()
        self.sub_font.setPointSizeF(9.0)
        self._title_metrics = QFontMetricsF(self.title_font)
        self._sub_metrics = QFontMetricsF(self.sub_font)
        self.runs: list[tuple[str, str | None]] = []
        self.subtitle = ""
        height = self._title_metrics.height() + self._sub_metrics.height() + 2 * self.PADDING + 1
        self.setMinimumSize(0, height)
        self.setMaximumHeight(height)
        self.setPreferredSize(0, height)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.setFlag(self.GraphicsItemFlag.ItemClipsToShape, True)

    def set_content(self, title_html: str, subtitle: str, tooltip: str) -> None:
        self.runs = parse_runs(title_html)
        self.subtitle = subtitle
        self.setToolTip(tooltip)
        self.update()

    def _available(self) -> float:
        return max(0.0, self.size().width() - 2 * self.PADDING)

    def shown(self, width: float | None = None) -> tuple[str, str]:
        """The title and subtitle as drawn at ``width`` (default: the current width)."""
        runs, sub = self._elided(self._available() if width is None else width)
        return "".join(t for t, _ in runs), sub

    def _elided(self, width: float) -> tuple[list[tuple[str, str | None]], str]:
        runs = elide_runs(self.runs, width, self._title_metrics.horizontalAdvance)
        sub = elide_runs([(self.subtitle, None)], width, self._sub_metrics.horizontalAdvance, ())
        return runs, "".join(t for t, _ in sub)

    def paint(self, painter: QPainter, *_args: object) -> None:
        runs, sub = self._elided(self._available())
        x = float(self.PADDING)
        y = self.PADDING + self._title_metrics.ascent()
        painter.setFont(self.title_font)
        for text, colour in runs:
            painter.setPen(QColor(colour or theme.TEXT))
            painter.drawText(QPointF(x, y), text)
            x += self._title_metrics.horizontalAdvance(text)
        painter.setFont(self.sub_font)
        painter.setPen(QColor(theme.MUTED))
        y = self.PADDING + self._title_metrics.height() + self._sub_metrics.ascent()
        painter.drawText(QPointF(float(self.PADDING), y), sub)


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
        self.tooltip: str | None = None
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
        self.note = ""
        self.note_tone = "normal"
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
        self.note = text
        self.note_tone = "error" if colour == theme.ERROR else "normal"
        self.note_item.setText(text)
        self.note_item.setColor(colour)

    #: panes that draw the source frame beneath their image get every new frame
    wants_frame = False

    def tone(self) -> str:
        """The title's colour as a word: "error", "warn" (random weights, leaky) or "normal"."""
        if theme.ERROR in self.title:
            return "error"
        return "warn" if theme.WARN in self.title else "normal"

    def header(self, **changes: object) -> PaneCell:
        """A cell with this pane's title, subtitle and note (a base for :meth:`snapshot`)."""
        cell = PaneCell(plain_text(self.title), self.subtitle, tone=self.tone(), note=self.note)
        return replace(cell, **changes) if changes else cell

    def snapshot(self) -> PaneCell:
        """What the pane shows now, for an export of the view (GUI thread)."""
        return self.header()

    def clip_source(self) -> Callable[[int, np.ndarray], PaneCell] | None:
        """A function giving the pane as it would show source frame ``f`` (with the frame
        ``image`` uint8 [H, W, 3]), for a video export of the clip; it holds no Qt object, so
        it may run on a worker. None when the pane can show only what it shows now."""
        return None

    def set_marker(self, point: tuple[float, float] | None) -> None:
        """Mark the similarity query point (source-frame pixels), or clear it."""
        self.marker.setData([] if point is None else [{"pos": point}])

    def set_title(self, title: str, subtitle: str = "", tooltip: str | None = None) -> None:
        """Title (HTML colour spans allowed) and a muted subtitle; both elide to the pane's
        width. ``tooltip`` (default: the title and subtitle as text) holds the full label."""
        self.title = title
        self.subtitle = subtitle
        self.tooltip = tooltip
        self._update_title()

    def value_at(self, x: float, y: float) -> str:
        """What the pane shows at source pixel (x, y), for the status bar ("" for nothing)."""
        return ""

    def _update_title(self) -> None:
        full = getattr(self, "tooltip", None) or plain_text(self.title)
        tip = full if not self.subtitle else f"{full}\n{self.subtitle}"
        self.title_item.set_content(self.title, self.subtitle, tip)


class FramePane(Pane):
    """The source frame under the playhead."""

    def __init__(self) -> None:
        super().__init__("frame", "Frame")
        self.frame_item.setZValue(0)
        self.set_note("no video open: File › Open video… or drop a file here")

    def set_frame(self, image: np.ndarray | None) -> None:
        super().set_frame(image)
        if image is not None:
            self.set_note("")

    def snapshot(self) -> PaneCell:
        image = self.frame_item.image
        w, h = self.frame_size
        return self.header(image=image, rect=(0.0, 0.0, float(w), float(h)), nearest=False)

    def clip_source(self) -> Callable[[int, np.ndarray], PaneCell]:
        title = plain_text(self.title)

        def cell(frame: int, image: np.ndarray) -> PaneCell:
            h, w = image.shape[:2]
            return PaneCell(title, f"frame {frame}", image, (0.0, 0.0, float(w), float(h)), nearest=False)

        return cell


def choose_columns(
    n: int,
    width: float,
    height: float,
    aspect: float = 16 / 9,
    title_height: float = 36.0,
    spacing: float = 6.0,
) -> int:
    """Columns for ``n`` panes in a ``width`` x ``height`` area that show the frames largest.

    Each pane is a title (``title_height`` pixels) over a view showing a frame of
    ``aspect`` = width / height; panes wrap into rows. Ties go to fewer columns.
    """
    if n <= 1 or width <= 0 or height <= 0:
        return 1
    best, best_side = 1, -1.0
    for cols in range(1, n + 1):
        rows = math.ceil(n / cols)
        cell_w = (width - spacing * (cols - 1)) / cols
        cell_h = (height - spacing * (rows - 1)) / rows - title_height
        side = min(cell_w, cell_h * aspect)  # the width a whole frame is shown at
        if cell_w > 0 and cell_h > 0 and side > best_side * 1.001:
            best, best_side = cols, side
    return best


class PaneGrid(pg.GraphicsLayoutWidget):
    """Panes in a grid that wraps into rows, zoom and pan linked.

    The column count is chosen from the number of panes, the widget's size and the frame's
    aspect ratio (:func:`choose_columns`), and follows resizes. After :meth:`fit` the whole
    frame stays fitted through every layout change (a pane added or removed, a banner shown
    or closed, the window resized) until the user zooms or pans.

    Signals
    -------
    clicked(x, y, key): a left click at source-frame pixel (x, y) on pane ``key``.
    hovered(x, y, key): the mouse is over source-frame pixel (x, y) of pane ``key`` ("" when
        it left every pane).
    """

    clicked = Signal(float, float, str)
    hovered = Signal(float, float, str)
    SPACING = 6
    MARGIN = 4

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setBackground(theme.BACKGROUND)
        self.ci.setContentsMargins(self.MARGIN, self.MARGIN, self.MARGIN, self.MARGIN)
        self.ci.setSpacing(self.SPACING)
        self.panes: list[Pane] = []
        self.columns = 0
        self._rows_used = 0
        #: the frame's width / height (panes are sized for it)
        self.aspect = 16 / 9
        #: the frame (width, height) kept fitted, or None once the user zoomed or panned
        self.fitted: tuple[int, int] | None = None
        self.scene().sigMouseClicked.connect(self._on_click)
        self.scene().sigMouseMoved.connect(self._on_move)

    def pane(self, key: str) -> Pane | None:
        for pane in self.panes:
            if pane.key == key:
                return pane
        return None

    def best_columns(self) -> int:
        """Columns that show the panes largest at the widget's current size."""
        title = self.panes[0].title_item.minimumHeight() if self.panes else 36.0
        inner_w = self.width() - 2 * self.MARGIN
        inner_h = self.height() - 2 * self.MARGIN
        n = len(self.panes)
        # each row holds a title and a view: two layout rows, so two spacings per row
        return choose_columns(n, inner_w, inner_h + self.SPACING, self.aspect, title + self.SPACING, self.SPACING)

    def set_panes(self, panes: Iterable[Pane]) -> None:
        """Lay out ``panes`` (kept objects are reused, so their images stay)."""
        panes = list(panes)
        if panes == self.panes:
            return
        for pane in self.panes:
            if pane not in panes:
                _disconnect(pane.view_box.sigRangeChangedManually, self._on_user_range)
        for pane in panes:
            if pane not in self.panes:
                pane.view_box.sigRangeChangedManually.connect(self._on_user_range)
        self.panes = panes
        self._layout(self.best_columns())
        if self.panes:
            lead = self.panes[0].view_box
            lead.setXLink(None)
            lead.setYLink(None)
            for pane in self.panes[1:]:
                pane.view_box.setXLink(lead)
                pane.view_box.setYLink(lead)
        self._keep_fit()

    def _layout(self, cols: int) -> None:
        panes = self.panes
        self.ci.clear()
        n = len(panes)
        cols = max(1, min(cols, n or 1))
        rows = math.ceil(n / cols) if n else 0
        for i, pane in enumerate(panes):
            r, c = divmod(i, cols)
            self.ci.addItem(pane.title_item, row=2 * r, col=c)
            self.ci.addItem(pane.view_box, row=2 * r + 1, col=c)
        layout = self.ci.layout
        for r in range(max(rows, self._rows_used)):
            layout.setRowStretchFactor(2 * r, 0)
            layout.setRowStretchFactor(2 * r + 1, 1 if r < rows else 0)
        for c in range(max(cols, self.columns)):
            layout.setColumnStretchFactor(c, 1 if c < cols else 0)
        self.columns, self._rows_used = cols, rows
        self.ci.setGeometry(self.range)  # re-adding items can shrink the layout to its hint

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        if getattr(self, "panes", None):
            cols = self.best_columns()
            if cols != self.columns:
                self._layout(cols)
        self._keep_fit()

    def fit(self, size: tuple[int, int]) -> None:
        """Show the whole frame (width, height) in every pane, and keep showing it whole."""
        w, h = size
        if not (w and h):
            return
        self.aspect = w / h
        self.fitted = (int(w), int(h))
        cols = self.best_columns()
        if self.panes and cols != self.columns:
            self._layout(cols)
        self._keep_fit()

    def _keep_fit(self) -> None:
        if getattr(self, "fitted", None) is None or not self.panes:
            return
        w, h = self.fitted
        lead = self.panes[0].view_box
        lead.setRange(QRectF(0, 0, w, h), padding=0.02)

    def _on_user_range(self, *_args: object) -> None:
        self.fitted = None  # the user zoomed or panned: leave the view where they put it

    def _pane_at(self, pos: QPointF) -> tuple[Pane, QPointF] | None:
        for pane in self.panes:
            if pane.view_box.sceneBoundingRect().contains(pos):
                return pane, pane.view_box.mapSceneToView(pos)
        return None

    def _on_click(self, event) -> None:  # pyqtgraph MouseClickEvent
        if event.button() != Qt.MouseButton.LeftButton or event.double():
            return
        hit = self._pane_at(event.scenePos())
        if hit is not None:
            pane, point = hit
            self.clicked.emit(float(point.x()), float(point.y()), pane.key)

    def _on_move(self, pos: QPointF) -> None:
        hit = self._pane_at(pos)
        if hit is None:
            self.hovered.emit(-1.0, -1.0, "")
        else:
            pane, point = hit
            self.hovered.emit(float(point.x()), float(point.y()), pane.key)


def _disconnect(signal: object, slot: object) -> None:
    try:
        signal.disconnect(slot)  # type: ignore[attr-defined]
    except (RuntimeError, TypeError):
        pass
