"""Masked-prediction panes: a map at token resolution over the encoder's crop box, the hidden
tokens outlined, and a score box."""

from __future__ import annotations

from typing import Callable

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF

from ...analysis.masked_view import MaskedView
from ...render.view import PaneCell
from ..shell import theme
from ..shell.labels import label_html, plain_text
from ..shell.panes import Pane
from ..shell.token_outline import TokenOutline

#: the pane's role: what of a masked view it shows
ROLES = ("full", "predicted", "error")


def role_image(view: MaskedView, role: str, variant: int, t: int) -> np.ndarray | None:
    """uint8 [h, w, 3] of time step ``t``: the full encoding's PCA, context + predicted, or the error map."""
    if role == "full":
        return None if view.full is None else view.full[t]
    if variant >= len(view.variants):
        return None
    v = view.variants[variant]
    return v.predicted[t] if role == "predicted" else v.error[t]


def step_text(view: MaskedView, t: int) -> str:
    """``"frames 4–5 (3/8 in the clip)"``."""
    covered = view.frame_indices[t]
    span = f"frame {covered[0]}" if len(covered) == 1 else f"frames {covered[0]}–{covered[-1]}"
    return f"{span} ({t + 1}/{len(view.frame_indices)} in the clip)"


class MaskedPane(Pane):
    """One masked-prediction pane. ``role`` is one of :data:`ROLES`; ``variant`` 0 (true
    masking or inpainting) or 1 (leaky)."""

    def __init__(self, role: str, variant: int = 0) -> None:
        super().__init__(f"masked-{role}-{variant}", "")
        self.role, self.variant = role, variant
        self.frame_item.setVisible(False)
        self.map_item = pg.ImageItem()
        self.map_item.setZValue(10)
        self.view_box.addItem(self.map_item)
        self.outline = TokenOutline()
        self.view_box.addItem(self.outline, ignoreBounds=True)
        self.score_item = pg.TextItem("", anchor=(0, 0), fill=pg.mkBrush(0, 0, 0, 190))
        self.score_item.setZValue(25)
        self.view_box.addItem(self.score_item, ignoreBounds=True)
        self.score_text = ""
        self.image: np.ndarray | None = None
        #: the masked view the pane draws from (the whole clip), and the time step shown
        self.view: MaskedView | None = None
        self.step = 0
        self.set_note("paint a mask on the frame")

    def clear_map(self, note: str = "", colour: str = theme.MUTED) -> None:
        self.image = None
        self.view = None
        self.map_item.clear()
        self.outline.show_tokens(None, (0, 0, 0, 0))
        self.set_score("")
        self.set_note(note, colour)

    def set_frame_size(self, size: tuple[int, int]) -> None:
        """Centre the note in a frame of (width, height) and let the pane fit it."""
        w, h = size
        self.frame_size = (w, h)
        self.note_item.setPos(w / 2, h / 2)

    def set_score(self, text: str, at: tuple[float, float] = (0.0, 0.0), warn: bool = False) -> None:
        """The score box at source pixel ``at`` ("" hides it)."""
        self.score_text = text
        self.score_item.setVisible(bool(text))
        colour = theme.WARN if warn else "#ffffff"
        html = "<br>".join(text.split("\n"))
        self.score_item.setHtml(f'<div style="color:{colour}; font-size:8.5pt">{html}</div>')
        self.score_item.setPos(*at)

    def show_step(self, view: MaskedView, t: int) -> None:
        """Time step ``t`` of ``view`` (the map for this pane's role, and the hidden tokens)."""
        self.view, self.step = view, t
        image = role_image(view, self.role, self.variant, t)
        if image is None:
            self.map_item.clear()
            self.image = None
            return
        self.image = image
        self.map_item.setImage(image, autoLevels=False)
        x0, y0, x1, y1 = view.crop_box
        self.map_item.setRect(QRectF(x0, y0, x1 - x0, y1 - y0))
        self.outline.show_tokens(None if self.role == "error" or view.hidden is None else view.hidden[t], view.crop_box)
        self.set_note("")

    def _cell(self, view: MaskedView, t: int, subtitle: str) -> PaneCell:
        x0, y0, x1, y1 = view.crop_box
        image = role_image(view, self.role, self.variant, t)
        note = self.score_text.replace("\n", " · ") if self.role == "error" else ""
        sub = f"{subtitle} · {note}" if note else subtitle
        return self.header(subtitle=sub, image=image, rect=(float(x0), float(y0), float(x1 - x0), float(y1 - y0)))

    def snapshot(self) -> PaneCell:
        view = self.view
        if view is None or self.image is None:
            return self.header()
        return self._cell(view, self.step, self.subtitle)

    def clip_source(self) -> Callable[[int, np.ndarray], PaneCell] | None:
        view = self.view
        if view is None:
            return None
        title = plain_text(self.title)

        def cell(frame: int, image: np.ndarray) -> PaneCell:
            t = view.time_step(frame)
            if t is None:
                return PaneCell(title, f"frame {frame}", note="not in the masked clip")
            return self._cell(view, t, step_text(view, t))

        return cell


def _fmt(value: float) -> str:
    return "–" if value != value else f"{value:.3f}"  # NaN -> dash


def show_view_step(panes: dict[str, MaskedPane], shown: list[MaskedPane], view: MaskedView, t: int) -> str:
    """Show time step ``t`` of ``view`` in the masked panes (maps, titles, scores); returns the
    status text (one line per variant, or why nothing shows)."""
    p = panes
    where = step_text(view, t)
    p["full"].set_title(f"{label_html(view.label)}: full encoding", f"layer-normed PCA · {where}")
    if not view.variants:
        for pane in shown:
            pane.clear_map(view.note if pane.role == "predicted" else "")
        return view.note
    x0, y0 = view.crop_box[:2]
    p["full"].show_step(view, t)
    lines = []
    for i, variant in enumerate(view.variants):
        pred, err = (p["predicted"], p["error"]) if i == 0 else (p["leaky_predicted"], p["leaky_error"])
        if variant.leaky:
            name = f'<span style="color:{theme.WARN}">LEAKY</span>: context + predicted'
            note = "mask applied after a full encoder pass: the context saw the hidden region"
        elif view.method == "predictor":
            name, note = "context + predicted", "true masking: hidden tokens never reach the encoder"
        else:
            name = f"context + re-encoded ({variant.variant})"
            if view.encoder.startswith("pixels"):
                note = "pixel baseline, no predictor: the score measures the fill itself"
            else:
                note = "no predictor: hidden pixels filled, frames re-encoded"
        pred.set_title(name, f"{note} · {where}")
        pred.show_step(view, t)
        cos, l1, n = variant.step_scores(t)
        tag = "LEAKY " if variant.leaky else ""
        err.set_title(
            f"{tag}recovery: cos {_fmt(variant.mean_cosine)} · L1 {_fmt(variant.mean_l1)}",
            f"{variant.n_hidden} hidden tokens ({n} here) · cosine 0 → 1, grey: context",
        )
        err.show_step(view, t)
        score = f"cos {_fmt(variant.mean_cosine)}  L1 {_fmt(variant.mean_l1)}\nthis step: cos {_fmt(cos)}"
        err.set_score(tag + score, (x0, y0), warn=variant.leaky)
        lines.append(f"<b>{'LEAKY' if variant.leaky else variant.variant}</b>: {variant.summary}")
    return "<br>".join(lines)

