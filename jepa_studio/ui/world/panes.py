"""World-model panes: a decoded (or real) image laid over a rectangle of the frame."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF

from ...render.view import PaneCell
from ..shell import theme
from ..shell.labels import wrap
from ..shell.panes import Pane
from ..shell.token_outline import TokenOutline


class WorldPane(Pane):
    """A pane showing one decoded (or real) image laid over a rectangle of the frame.

    ``kind``: ``"reconstruction"``, ``"rollout"``, ``"real"`` or ``"masked"``.
    """

    def __init__(self, key: str, kind: str, title: str = "") -> None:
        super().__init__(key, title)
        self.kind = kind
        self.frame_item.setVisible(False)
        self.image_item = pg.ImageItem()
        self.image_item.setZValue(10)
        self.view_box.addItem(self.image_item)
        self.outline = TokenOutline()  # hidden tokens (decoded masked predictions)
        self.view_box.addItem(self.outline, ignoreBounds=True)
        #: the image shown now (uint8 [H, W, 3]) and the rectangle (x, y, w, h) it covers
        self.image: np.ndarray | None = None
        self.rect: tuple[float, float, float, float] = (0, 0, 0, 0)
        self.set_note("waiting for the world model…")

    def set_frame_size(self, size: tuple[int, int]) -> None:
        """The frame (width, height) the pane draws in (centres the note)."""
        self.frame_size = (int(size[0]), int(size[1]))
        self.note_item.setPos(size[0] / 2, size[1] / 2)

    def show_image(self, image: np.ndarray, rect: tuple[float, float, float, float], note: str = "") -> None:
        """uint8 [H, W, 3] (C-contiguous, never mutated) over ``rect`` = (x, y, w, h) of the frame."""
        self.image = image
        self.rect = rect
        self.image_item.setImage(image, autoLevels=False)
        self.image_item.setRect(QRectF(*rect))
        self.set_note(note)

    def clear_image(self, note: str = "", colour: str = theme.MUTED) -> None:
        self.image = None
        self.image_item.clear()
        self.outline.show_tokens(None, (0, 0, 0, 0))
        self.set_note(wrap(note, 30), colour)

    def snapshot(self) -> PaneCell:
        return self.header(image=self.image, rect=self.rect, nearest=False)


def place(box: tuple[int, int, int, int], source: tuple[int, int], frame: tuple[int, int]) -> tuple[float, float, float, float]:
    """Where ``box`` (x0, y0, x1, y1) of a ``source`` (w, h) image goes in a pane drawing a
    ``frame`` (w, h): identity when they match, else the source fitted and centred."""
    sw, sh = source
    fw, fh = frame
    if (sw, sh) == (fw, fh) or not (sw and sh and fw and fh):
        return float(box[0]), float(box[1]), float(box[2] - box[0]), float(box[3] - box[1])
    scale = min(fw / sw, fh / sh)
    ox, oy = (fw - sw * scale) / 2, (fh - sh * scale) / 2
    return ox + box[0] * scale, oy + box[1] * scale, (box[2] - box[0]) * scale, (box[3] - box[1]) * scale
