"""Panes side by side in one pyqtgraph scene, zoom and pan linked.

Every pane draws in source-frame pixel coordinates (x right, y down), so the frame, each
encoder's token map (placed over its crop box) and any overlay line up, and linking the
view boxes links zoom and pan. The pane system is open: :class:`PaneGrid` holds any
:class:`Pane` (the frame pane, one :class:`EncoderPane` per encoder, and later kinds such
as masked-prediction panes).
"""

from __future__ import annotations

import html as _html
import math
import re
from typing import Callable, Iterable

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QPainter
from PySide6.QtWidgets import QSizePolicy, QWidget

from ..engine.messages import PaneImage
from . import theme

theme.configure_pyqtgraph()


#: phrases a title never elides away (a random-weights model must always say so)
PROTECTED = ("[random weights]", "random weights", "RANDOM WEIGHTS", "LEAKY")
ELLIPSIS = "…"
_SPAN = re.compile(r'<span\s+style="[^"]*?color:\s*([^;"]+)[^"]*">(.*?)</span>', re.S)
_TAG = re.compile(r"<[^>]+>")
_PAREN = re.compile(r"\(([^()]*)\)")


def plain_text(html: str) -> str:
    """The visible text of a pane title (tags dropped, entities decoded)."""
    return "".join(text for text, _ in parse_runs(html))


def parse_runs(html: str) -> list[tuple[str, str | None]]:
    """Split a title's HTML into (text, colour or None) runs; only colour spans are kept."""
    runs: list[tuple[str, str | None]] = []
    pos = 0
    for m in _SPAN.finditer(html):
        if m.start() > pos:
            runs.append((html[pos : m.start()], None))
        runs.append((m.group(2), m.group(1).strip()))
        pos = m.end()
    runs.append((html[pos:], None))
    out = []
    for text, colour in runs:
        text = _html.unescape(_TAG.sub("", text.replace("<br>", " ")))
        if text:
            out.append((text, colour))
    return out


def short_name(name: str) -> str:
    """A short name for an encoder key: a folder's basename, else the name as is."""
    if "/" in name or "\\" in name:
        return re.split(r"[\\/]", name.rstrip("/\\"))[-1] or name
    return name


def short_label(label: str) -> str:
    """A features label with paths and hub ids shortened for a pane title.

    ``"vjepa2 (/data/runs/exp1/ckpt) [random weights]"`` -> ``"vjepa2 (ckpt) [random weights]"``;
    ``"dinov2-small (facebook/dinov2-small)"`` -> ``"dinov2-small"``. The weights tag stays.
    """
    def shorten(m: re.Match) -> str:
        inner = m.group(1)
        return f"({short_name(inner)})" if ("/" in inner or "\\" in inner) else m.group(0)

    text = _PAREN.sub(shorten, label)
    m = re.match(r"^(\S+) \((\S+)\)(.*)$", text, re.S)
    if m and m.group(1) == m.group(2):
        text = m.group(1) + m.group(3)
    return text


def elide_runs(
    runs: list[tuple[str, str | None]],
    width: float,
    measure: Callable[[str], float],
    protected: Iterable[str] = PROTECTED,
) -> list[tuple[str, str | None]]:
    """Cut the middle of the longest unprotected stretches of ``runs`` until they fit ``width``.

    Text inside ``protected`` phrases (e.g. "[random weights]") is never removed. Returns new
    runs (an ellipsis marks each cut); unchanged when the text already fits.
    """
    chars = [(ch, colour) for text, colour in runs for ch in text]
    text = "".join(ch for ch, _ in chars)
    if measure(text) <= width or not chars:
        return [r for r in runs if r[0]]
    keep = [False] * len(chars)
    lowered = text.lower()
    for phrase in protected:
        start = lowered.find(phrase.lower())
        while start >= 0:
            for i in range(start, start + len(phrase)):
                keep[i] = True
            start = lowered.find(phrase.lower(), start + len(phrase))
    # unprotected stretches [a, b), longest first
    stretches, a = [], None
    for i, k in enumerate([*keep, True]):
        if not k and a is None:
            a = i
        elif k and a is not None:
            stretches.append((a, i))
            a = None
    stretches.sort(key=lambda ab: ab[0] - ab[1])
    cuts: dict[int, tuple[int, int]] = {}  # stretch start -> (chars kept left, right)

    def build() -> list[tuple[str, str | None]]:
        out: list[tuple[str, str | None]] = []
        i = 0
        while i < len(chars):
            if i in cuts:
                a, b = i, next(b for a2, b in stretches if a2 == i)
                left, right = cuts[i]
                seq = chars[a : a + left] + [(ELLIPSIS, chars[a + left if left < b - a else a][1])] + chars[b - right : b]
                i = b
            else:
                seq = [chars[i]]
                i += 1
            for ch, colour in seq:
                if out and out[-1][1] == colour:
                    out[-1] = (out[-1][0] + ch, colour)
                else:
                    out.append((ch, colour))
        return out

    def fits() -> bool:
        return measure("".join(t for t, _ in build())) <= width

    for a, b in stretches:
        n = b - a
        lo, hi = 0, n - 1  # kept characters of this stretch
        cuts[a] = (0, 0)
        if not fits():
            continue  # cut it all and go on with the next stretch
        while lo < hi:  # the most characters kept that still fit
            mid = (lo + hi + 1) // 2
            cuts[a] = ((mid + 1) // 2, mid // 2)
            if fits():
                lo = mid
            else:
                hi = mid - 1
        cuts[a] = ((lo + 1) // 2, lo // 2)
        break
    return build()


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

    def set_title(self, title: str, subtitle: str = "", tooltip: str | None = None) -> None:
        """Title (HTML colour spans allowed) and a muted subtitle; both elide to the pane's
        width. ``tooltip`` (default: the title and subtitle as text) holds the full label."""
        self.title = title
        self.subtitle = subtitle
        self.tooltip = tooltip
        self._update_title()

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


class EncoderPane(Pane):
    """One encoder's map for the playhead's time step, optionally over the frame."""

    def __init__(self, encoder: str) -> None:
        super().__init__(encoder, _html.escape(short_name(encoder), quote=False))
        self.encoder = encoder
        self.set_title(self.title, "", encoder)
        self.map_item = pg.ImageItem()
        self.map_item.setZValue(10)
        self.view_box.addItem(self.map_item)
        self.overlay = False
        self.opacity = 0.6
        self.last: PaneImage | None = None
        self.frame_item.setVisible(False)
        self.set_note("no video open")

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
        short = _html.escape(short_label(label), quote=False)
        title = f'<span style="color:{theme.WARN}">{short}</span>' if "random weights" in label else short
        self.set_title(title, subtitle, label)
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
        name = _html.escape(short_name(self.encoder), quote=False)
        self.set_title(f'<span style="color:{theme.ERROR}">{name}</span>', "failed", self.encoder)
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
    aspect ratio (:func:`choose_columns`), and follows resizes.

    Signals
    -------
    clicked(x, y, key): a left click at source-frame pixel (x, y) on pane ``key``.
    """

    clicked = Signal(float, float, str)
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
        self.scene().sigMouseClicked.connect(self._on_click)

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
        self.panes = list(panes)
        self._layout(self.best_columns())
        if self.panes:
            lead = self.panes[0].view_box
            lead.setXLink(None)
            lead.setYLink(None)
            for pane in self.panes[1:]:
                pane.view_box.setXLink(lead)
                pane.view_box.setYLink(lead)

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
        self._relayout_if_needed()

    def _relayout_if_needed(self) -> None:
        if getattr(self, "panes", None):
            cols = self.best_columns()
            if cols != self.columns:
                self._layout(cols)

    def fit(self, size: tuple[int, int]) -> None:
        """Show the whole frame (width, height) in every pane."""
        w, h = size
        if w and h:
            self.aspect = w / h
            self._relayout_if_needed()
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
