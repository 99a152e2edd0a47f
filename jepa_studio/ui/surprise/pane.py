"""The surprise pane: ``1 - cos`` of every patch of the playhead's step, over the frame."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF

from ...analysis.surprise import SurpriseCurve
from ...maps import Scale
from ...render.colormap import apply_colormap
from ...render.view import PaneCell
from ..shell.colour_bar import ColourBar
from ..shell.labels import label_html, plain_text
from ..shell.panes import Pane

COLORMAP = "magma"


class SurprisePane(Pane):
    """Per-patch surprise of one step (NaN, not scored: grey)."""

    def __init__(self) -> None:
        super().__init__("surprise", "Surprise")
        self.frame_item.setVisible(False)
        self.map_item = pg.ImageItem()
        self.map_item.setZValue(10)
        self.view_box.addItem(self.map_item)
        self.colour_bar = ColourBar(self.view_box)
        self.image: np.ndarray | None = None
        self.rect = (0.0, 0.0, 0.0, 0.0)
        self.set_note("compute the surprise timeline")

    def set_frame_size(self, size: tuple[int, int]) -> None:
        self.frame_size = (int(size[0]), int(size[1]))
        self.note_item.setPos(size[0] / 2, size[1] / 2)

    def show_step(self, curve: SurpriseCurve, frame: int) -> None:
        """The step covering ``frame`` (on the same colour scale for the whole video)."""
        step = curve.step_of_frame(frame)
        top = float(np.nanpercentile(curve.patch, 99)) if np.isfinite(curve.patch).any() else 1.0
        self.set_title(f"Surprise: {label_html(curve.label)}", f"frame {frame} · 1 − cos per patch, {curve.method}")
        if step is None or not np.isfinite(curve.patch[step]).any():
            self.image = None
            self.map_item.clear()
            self.colour_bar.set_scale(None)
            self.set_note("not scored here (no context yet, or skipped)")
            return
        self.image = np.ascontiguousarray(apply_colormap(curve.patch[step], vmin=0.0, vmax=top, name=COLORMAP))
        x0, y0, x1, y1 = curve.crop_box
        self.rect = (float(x0), float(y0), float(x1 - x0), float(y1 - y0))
        self.map_item.setImage(self.image, autoLevels=False)
        self.map_item.setRect(QRectF(*self.rect))
        self.colour_bar.set_scale(Scale(0.0, top, COLORMAP, "surprise 1 − cos"))
        self.set_note("")

    def snapshot(self) -> PaneCell:
        return self.header(image=self.image, rect=self.rect) if self.image is not None else self.header()

    def title_text(self) -> str:
        return plain_text(self.title)
