"""The mask a user paints: a bool image in source-frame pixels, with undo and redo. No Qt.

:class:`MaskDocument` holds a bool [H, W] mask (True = hidden) in the pixels of the source
video, and the frames it applies to (the whole clip, or chosen source frames: the time
steps a user picked). Editing:

- strokes with a round brush or eraser: ``begin_stroke`` / ``extend_stroke`` /
  ``end_stroke``; each new point paints the whole capsule from the previous point (every
  pixel within the brush radius of the segment), so a fast drag leaves no gaps;
- ``rectangle``, ``invert``, ``clear``, ``set_frames``;
- ``undo`` / ``redo``, where one stroke (press to release) or one command is one step.

Masks are saved as PNG (white = hidden) with the frames in a text chunk, and loaded back
with Pillow. Listeners (see :class:`~jepa_studio.state.events.Observable`) hear
``("mask", box)`` after every change, ``box`` being the changed region (x0, y0, x1, y1)
or None for the whole image, ``("stroke_end", changed)`` when a stroke ends (recompute
then, not on every move), and ``("brush_size", size)``.
"""

from __future__ import annotations

import os
from typing import Collection

import numpy as np

from ..analysis.masking import FRAMES_KEY, PixelMask, read_mask_png
from ..errors import UsageError
from .events import Observable

MIN_BRUSH = 1.0
MAX_BRUSH = 512.0

Box = tuple[int, int, int, int]
_Snapshot = tuple[np.ndarray, frozenset[int] | None]


class MaskDocument(Observable):
    """An editable mask over frames of ``height`` x ``width`` source pixels.

    Parameters
    ----------
    height, width: source frame size in pixels.
    brush_size: brush diameter in source pixels.
    history: most undo steps kept.
    """

    def __init__(self, height: int, width: int, brush_size: float = 32.0, history: int = 200) -> None:
        super().__init__()
        if height < 1 or width < 1:
            raise UsageError(f"a mask needs a positive size, not {width}x{height}")
        self._pixels = np.zeros((int(height), int(width)), dtype=bool)
        self._frames: frozenset[int] | None = None
        self._brush = float(np.clip(brush_size, MIN_BRUSH, MAX_BRUSH))
        self._undo: list[_Snapshot] = []
        self._redo: list[_Snapshot] = []
        self._history = int(history)
        self._stroke: tuple[float, float] | None = None
        self._stroke_erase = False
        self._stroke_changed = False
        self._saved_redo: list[_Snapshot] = []

    # ------------------------------------------------------------ reading

    @property
    def size(self) -> tuple[int, int]:
        """(H, W) in source pixels."""
        return int(self._pixels.shape[0]), int(self._pixels.shape[1])

    @property
    def pixels(self) -> np.ndarray:
        """bool [H, W], True where hidden (a read-only view; copy it to keep it)."""
        view = self._pixels.view()
        view.setflags(write=False)
        return view

    @property
    def frames(self) -> frozenset[int] | None:
        """Source frames the mask applies to; None for the whole clip."""
        return self._frames

    @property
    def empty(self) -> bool:
        """True when nothing is masked."""
        return not bool(self._pixels.any())

    @property
    def brush_size(self) -> float:
        """Brush diameter in source pixels."""
        return self._brush

    @property
    def painting(self) -> bool:
        """True between ``begin_stroke`` and ``end_stroke``."""
        return self._stroke is not None

    def to_pixel_mask(self) -> PixelMask:
        """A frozen copy for the analysis functions."""
        return PixelMask(self._pixels.copy(), self._frames)

    # ------------------------------------------------------------ brush size

    def set_brush_size(self, size: float) -> None:
        """Set the brush diameter (clamped to 1..512 px)."""
        size = float(np.clip(size, MIN_BRUSH, MAX_BRUSH))
        if size != self._brush:
            self._brush = size
            self._emit("brush_size", size)

    def grow_brush(self, factor: float = 1.25) -> None:
        """Larger brush (the ``]`` key): at least one pixel larger."""
        self.set_brush_size(max(self._brush + 1.0, self._brush * factor))

    def shrink_brush(self, factor: float = 1.25) -> None:
        """Smaller brush (the ``[`` key): at least one pixel smaller."""
        self.set_brush_size(min(self._brush - 1.0, self._brush / factor))

    # ------------------------------------------------------------ history

    @property
    def can_undo(self) -> bool:
        return bool(self._undo)

    @property
    def can_redo(self) -> bool:
        return bool(self._redo)

    def _snapshot(self) -> _Snapshot:
        return np.packbits(self._pixels), self._frames

    def _restore(self, snap: _Snapshot) -> None:
        packed, frames = snap
        h, w = self.size
        self._pixels = np.unpackbits(packed, count=h * w).reshape(h, w).astype(bool)
        self._frames = frames

    def _push(self) -> None:
        self._undo.append(self._snapshot())
        if len(self._undo) > self._history:
            del self._undo[0]
        self._redo.clear()

    def undo(self) -> bool:
        """Undo the last step (a stroke in progress is finished first). Returns False if none."""
        if self.painting:
            self.end_stroke()
        if not self._undo:
            return False
        self._redo.append(self._snapshot())
        self._restore(self._undo.pop())
        self._emit("mask", None)
        return True

    def redo(self) -> bool:
        """Redo the last undone step. Returns False if none."""
        if not self._redo:
            return False
        self._undo.append(self._snapshot())
        self._restore(self._redo.pop())
        self._emit("mask", None)
        return True

    # ------------------------------------------------------------ painting

    def _paint_segment(self, x0: float, y0: float, x1: float, y1: float, erase: bool) -> Box | None:
        """Set (or clear) every pixel whose centre is within the brush radius of the segment."""
        h, w = self.size
        r = self._brush / 2.0
        # pixel (row i, col j) has its centre at (j + 0.5, i + 0.5)
        c0 = max(0, int(np.floor(min(x0, x1) - r)))
        c1 = min(w, int(np.ceil(max(x0, x1) + r)) + 1)
        r0 = max(0, int(np.floor(min(y0, y1) - r)))
        r1 = min(h, int(np.ceil(max(y0, y1) + r)) + 1)
        if c0 >= c1 or r0 >= r1:
            return None
        py = np.arange(r0, r1, dtype=np.float64)[:, None] + 0.5
        px = np.arange(c0, c1, dtype=np.float64)[None, :] + 0.5
        dx, dy = x1 - x0, y1 - y0
        length2 = dx * dx + dy * dy
        if length2 > 0:
            t = np.clip(((px - x0) * dx + (py - y0) * dy) / length2, 0.0, 1.0)
        else:
            t = np.zeros((1, 1))
        qx, qy = x0 + t * dx, y0 + t * dy
        inside = (px - qx) ** 2 + (py - qy) ** 2 <= max(r * r, 0.25)
        region = self._pixels[r0:r1, c0:c1]
        before = region.copy()
        region[inside] = not erase
        if np.array_equal(before, region):
            return None
        return c0, r0, c1, r1

    def begin_stroke(self, x: float, y: float, erase: bool = False) -> None:
        """Start a stroke at source pixel coordinates (x = column, y = row; floats allowed)."""
        if self.painting:
            self.end_stroke()
        self._saved_redo = list(self._redo)
        self._push()
        self._stroke = (float(x), float(y))
        self._stroke_erase = bool(erase)
        self._stroke_changed = False
        box = self._paint_segment(x, y, x, y, erase)
        if box is not None:
            self._stroke_changed = True
            self._emit("mask", box)

    def extend_stroke(self, x: float, y: float) -> None:
        """Paint from the previous point of the stroke to (x, y)."""
        if self._stroke is None:
            return
        px, py = self._stroke
        box = self._paint_segment(px, py, float(x), float(y), self._stroke_erase)
        self._stroke = (float(x), float(y))
        if box is not None:
            self._stroke_changed = True
            self._emit("mask", box)

    def end_stroke(self) -> None:
        """Finish the stroke: it becomes one undo step (none if it changed nothing)."""
        if self._stroke is None:
            return
        self._stroke = None
        if not self._stroke_changed:  # a click that changed nothing is no step
            self._undo.pop()
            self._redo = self._saved_redo
        self._saved_redo = []
        self._emit("stroke_end", self._stroke_changed)

    def stroke(self, points: Collection[tuple[float, float]], erase: bool = False) -> None:
        """A whole stroke through ``points`` [(x, y), ...] as one step."""
        pts = list(points)
        if not pts:
            return
        self.begin_stroke(*pts[0], erase=erase)
        for x, y in pts[1:]:
            self.extend_stroke(x, y)
        self.end_stroke()

    # ------------------------------------------------------------ commands

    def _command(self, new_pixels: np.ndarray | None, frames: frozenset[int] | None | str = "keep") -> bool:
        if self.painting:
            self.end_stroke()
        new_frames = self._frames if isinstance(frames, str) else frames
        if (new_pixels is None or np.array_equal(new_pixels, self._pixels)) and new_frames == self._frames:
            return False
        self._push()
        if new_pixels is not None:
            self._pixels = new_pixels
        self._frames = new_frames
        self._emit("mask", None)
        return True

    def rectangle(self, x0: float, y0: float, x1: float, y1: float, erase: bool = False) -> bool:
        """Fill (or erase) the pixels whose centres lie in the rectangle between two corners."""
        h, w = self.size
        left, right = sorted((float(x0), float(x1)))
        top, bottom = sorted((float(y0), float(y1)))
        c0, c1 = max(0, int(np.ceil(left - 0.5))), min(w, int(np.floor(right - 0.5)) + 1)
        r0, r1 = max(0, int(np.ceil(top - 0.5))), min(h, int(np.floor(bottom - 0.5)) + 1)
        new = self._pixels.copy()
        if c0 < c1 and r0 < r1:
            new[r0:r1, c0:c1] = not erase
        return self._command(new)

    def invert(self) -> bool:
        """Hide what was visible and show what was hidden."""
        return self._command(~self._pixels)

    def clear(self) -> bool:
        """Hide nothing."""
        return self._command(np.zeros_like(self._pixels))

    def set_pixels(self, pixels: np.ndarray) -> bool:
        """Replace the whole mask (a preset, a loaded file) as one step."""
        pixels = np.asarray(pixels)
        if pixels.shape != self._pixels.shape:
            raise UsageError(
                f"the mask is {pixels.shape[1]}x{pixels.shape[0]} pixels but this video's frames are "
                f"{self.size[1]}x{self.size[0]}"
            )
        return self._command(pixels.astype(bool, copy=True))

    def set_mask(self, pixels: np.ndarray, frames: Collection[int] | None = None) -> bool:
        """Replace the pixels and the frames together as one step (a preset mask)."""
        pixels = np.asarray(pixels)
        if pixels.shape != self._pixels.shape:
            raise UsageError(
                f"the mask is {pixels.shape[1]}x{pixels.shape[0]} pixels but this video's frames are "
                f"{self.size[1]}x{self.size[0]}"
            )
        value = None if frames is None else frozenset(int(f) for f in frames)
        return self._command(pixels.astype(bool, copy=True), value)

    def set_frames(self, frames: Collection[int] | None) -> bool:
        """Apply the mask to these source frames only (None: the whole clip)."""
        value = None if frames is None else frozenset(int(f) for f in frames)
        return self._command(None, value)

    # ------------------------------------------------------------ files

    def save_png(self, path: str | os.PathLike[str]) -> None:
        """Write the mask as an 8-bit greyscale PNG (255 = hidden), frames in a text chunk."""
        from PIL import Image, PngImagePlugin

        info = PngImagePlugin.PngInfo()
        frames = "all" if self._frames is None else ",".join(str(f) for f in sorted(self._frames))
        info.add_text(FRAMES_KEY, frames)
        try:
            Image.fromarray(self._pixels.astype(np.uint8) * 255, mode="L").save(os.fspath(path), format="PNG", pnginfo=info)
        except OSError as error:
            raise UsageError(f"cannot write the mask to {os.fspath(path)}: {error.strerror or error}") from None

    def load_png(self, path: str | os.PathLike[str]) -> None:
        """Replace the mask with a PNG (bright or opaque pixels = hidden) as one undo step."""
        pixels, frames = read_mask_png(path)
        if pixels.shape != self._pixels.shape:
            raise UsageError(
                f"the mask {os.fspath(path)} is {pixels.shape[1]}x{pixels.shape[0]} pixels but this video's "
                f"frames are {self.size[1]}x{self.size[0]}: paint a new mask or load one made for this video"
            )
        self._command(pixels, frames)

    @classmethod
    def from_png(cls, path: str | os.PathLike[str], brush_size: float = 32.0) -> "MaskDocument":
        """A new document holding the PNG's mask (no undo history)."""
        pixels, frames = read_mask_png(path)
        doc = cls(pixels.shape[0], pixels.shape[1], brush_size)
        doc._pixels = pixels
        doc._frames = frames
        return doc
