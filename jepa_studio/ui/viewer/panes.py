"""The encoder panes: one encoder's map for the playhead's time step, optionally over the frame."""

from __future__ import annotations

import html as _html
from typing import Callable

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF

from ...engine.messages import PaneImage
from ...render.view import PaneCell
from ..shell import theme
from ..shell.colour_bar import ColourBar
from ..shell.labels import label_html, plain_text, short_name, wrap
from ..shell.panes import Pane


def step_subtitle(result: PaneImage) -> str:
    """Which source frames the shown time step covers, and its place in the clip."""
    if not result.covered:
        return ""
    place = f"{result.time_step + 1}/{result.n_steps} in the clip"
    if result.tubelet_size > 1 and len(result.covered) > 1:
        text = f"frames {result.covered[0]}–{result.covered[-1]} (tubelet {place})"
    else:
        text = f"frame {result.covered[0]} ({place})"
    return f"{text} · {result.caption}" if result.caption else text


def result_cell(title: str, result: PaneImage, underlay: np.ndarray | None, opacity: float) -> PaneCell:
    """An encoder pane as it shows ``result`` (over ``underlay`` when it overlays the frame)."""
    x0, y0, x1, y1 = result.crop_box
    tone = "warn" if "random weights" in result.label else "normal"
    return PaneCell(
        title, step_subtitle(result), result.image, (float(x0), float(y0), float(x1 - x0), float(y1 - y0)),
        underlay=underlay, opacity=opacity if underlay is not None else 1.0, tone=tone,
        note="" if result.image is not None else (result.note or "nothing to show"),
    )


class EncoderPane(Pane):
    """One encoder's map for the playhead's time step, optionally over the frame."""

    wants_frame = True

    def __init__(self, encoder: str) -> None:
        super().__init__(encoder, _html.escape(short_name(encoder), quote=False))
        self.encoder = encoder
        self.set_title(self.title, "", encoder)
        self.map_item = pg.ImageItem()
        self.map_item.setZValue(10)
        self.view_box.addItem(self.map_item)
        self.colour_bar = ColourBar(self.view_box)
        self.overlay = False
        self.opacity = 0.6
        self.last: PaneImage | None = None
        #: ``make_lookup() -> lookup``, ``lookup(frame) -> PaneImage | None``: the engine's
        #: cached image of another frame of the clip, for the view as it is when
        #: ``make_lookup`` is called (the viewer sets it; exports of the clip use it)
        self.make_lookup: Callable[[], Callable[[int], PaneImage | None]] | None = None
        self.frame_item.setVisible(False)
        self.set_note("no video open")

    def set_overlay(self, overlay: bool, opacity: float) -> None:
        """Draw the map over the frame at ``opacity``, or alone (opaque)."""
        self.overlay, self.opacity = overlay, opacity
        self.frame_item.setVisible(overlay)
        self.map_item.setOpacity(opacity if overlay else 1.0)

    def clear(self) -> None:
        """Forget the shown map (another video opened)."""
        self.last = None
        self.map_item.clear()
        self.colour_bar.set_scale(None)

    def show_result(self, result: PaneImage) -> None:
        """Show an engine result: the map image placed over its crop box, and the title."""
        self.last = result
        self.set_title(label_html(result.label), step_subtitle(result), result.label)
        self.colour_bar.set_scale(result.scale if result.image is not None else None)
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
        self.colour_bar.set_scale(None)
        name = _html.escape(short_name(self.encoder), quote=False)
        self.set_title(f'<span style="color:{theme.ERROR}">{name}</span>', "failed", self.encoder)
        self.set_note(wrap(message, 48), theme.ERROR)

    def value_at(self, x: float, y: float) -> str:
        """The scalar map's value at source pixel (x, y): "pixels-tubelet · frame 12 · cosine similarity 0.83"."""
        r = self.last
        if r is None or r.values is None or r.scale is None:
            return ""
        x0, y0, x1, y1 = r.crop_box
        if not (x0 <= x < x1 and y0 <= y < y1):
            return ""
        h, w = r.values.shape
        row, col = min(int((y - y0) / (y1 - y0) * h), h - 1), min(int((x - x0) / (x1 - x0) * w), w - 1)
        value = float(r.values[row, col])
        frames = "–".join(str(f) for f in (r.covered[0], r.covered[-1])) if r.covered else "?"
        return f"{short_name(self.encoder)} · frames {frames} · patch ({row}, {col}) · {r.scale.unit} {value:.3f}"

    def snapshot(self) -> PaneCell:
        if self.last is None or self.last.image is None:
            return self.header()
        underlay = self.frame_item.image if self.overlay else None
        return result_cell(plain_text(self.title), self.last, underlay, self.opacity)

    def clip_source(self) -> Callable[[int, np.ndarray], PaneCell] | None:
        if self.make_lookup is None:
            return None
        lookup, title, overlay, opacity = self.make_lookup(), plain_text(self.title), self.overlay, self.opacity

        def cell(frame: int, image: np.ndarray) -> PaneCell:
            result = lookup(frame)
            if result is None:
                return PaneCell(title, f"frame {frame}", note="not computed")
            return result_cell(plain_text(label_html(result.label)), result, image if overlay else None, opacity)

        return cell
