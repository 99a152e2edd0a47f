"""Paint a mask with the mouse on a pyqtgraph frame pane.

:class:`MaskPainter` attaches to a ``pyqtgraph.ViewBox`` that shows a frame in an
``ImageItem`` (row-major) and edits a Qt-free :class:`~jepa_studio.state.mask.MaskDocument`:

- left drag paints (Shift + drag, or the eraser tool, erases); the rectangle tool fills the
  dragged rectangle; middle drag still pans and the wheel still zooms;
- ``[`` / ``]`` make the brush smaller / larger; Ctrl+Z undoes, Ctrl+Shift+Z (and Ctrl+Y)
  redoes; one stroke is one step;
- the mask shows as a translucent overlay, the brush as a circle under the pointer, and
  the chosen encoder's token grid (patch boundaries) while painting.

Mouse events are taken from the scene with an event filter, before pyqtgraph's own
handling, so no move is dropped (pyqtgraph's ``mouseRateLimit`` is also set to 0, as it
would otherwise thin out hover moves), and the document interpolates between points.
Coordinates: the overlay is a child of the frame's ImageItem, scaled so that its local
coordinates are the mask's source pixels (x = column, y = row), whatever resolution the
pane shows the frame at.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from ...analysis.masking import TokenGrid
from ...state.mask import MaskDocument

TOOLS: tuple[str, ...] = ("brush", "eraser", "rectangle")
DEFAULT_COLOUR = (255, 64, 64, 150)

_PRESS = QtCore.QEvent.Type.GraphicsSceneMousePress
_MOVE = QtCore.QEvent.Type.GraphicsSceneMouseMove
_RELEASE = QtCore.QEvent.Type.GraphicsSceneMouseRelease
_LEFT = QtCore.Qt.MouseButton.LeftButton


class MaskPainter(QtCore.QObject):
    """Mouse and keyboard painting of a :class:`MaskDocument` over a frame ImageItem.

    Parameters
    ----------
    view_box: the pane's ViewBox (already in a scene, shown by a GraphicsView).
    image_item: the ImageItem showing the frame (any resolution; row-major).
    document: the mask being edited (source-frame pixels).
    """

    #: emitted after the mask changed (stroke, command, undo, redo)
    maskChanged = QtCore.Signal()
    #: emitted with the new brush diameter in source pixels
    brushSizeChanged = QtCore.Signal(float)

    def __init__(
        self,
        view_box: pg.ViewBox,
        image_item: pg.ImageItem,
        document: MaskDocument,
        parent: QtCore.QObject | None = None,
    ) -> None:
        super().__init__(parent)
        pg.setConfigOptions(mouseRateLimit=0)
        self._view_box = view_box
        self._image = image_item
        self._doc: MaskDocument | None = None
        self._unsubscribe: Any = None
        self._enabled = False
        self._tool = "brush"
        self._colour = DEFAULT_COLOUR
        self._grid: TokenGrid | None = None
        self._rect_start: tuple[float, float] | None = None
        self._rgba: np.ndarray | None = None

        self._overlay = pg.ImageItem(axisOrder="row-major")
        self._overlay.setParentItem(image_item)
        self._grid_item = QtWidgets.QGraphicsPathItem(self._overlay)
        pen = QtGui.QPen(QtGui.QColor(255, 255, 255, 90))
        pen.setCosmetic(True)
        pen.setWidthF(1.0)
        self._grid_item.setPen(pen)
        self._grid_item.setVisible(False)
        self._cursor = QtWidgets.QGraphicsEllipseItem(self._overlay)
        cursor_pen = QtGui.QPen(QtGui.QColor(255, 255, 255, 220))
        cursor_pen.setCosmetic(True)
        self._cursor.setPen(cursor_pen)
        self._cursor.setVisible(False)
        self._rect_item = QtWidgets.QGraphicsRectItem(self._overlay)
        rect_pen = QtGui.QPen(QtGui.QColor(255, 255, 255, 230))
        rect_pen.setCosmetic(True)
        rect_pen.setStyle(QtCore.Qt.PenStyle.DashLine)
        self._rect_item.setPen(rect_pen)
        self._rect_item.setVisible(False)

        scene = view_box.scene()
        if scene is None:
            raise RuntimeError("add the ViewBox to a scene (a GraphicsView) before attaching a MaskPainter")
        self._scene = scene
        scene.installEventFilter(self)
        self._views = list(scene.views())
        for view in self._views:
            view.installEventFilter(self)
        self._image.sigImageChanged.connect(self._fit_overlay)
        self.set_document(document)

    # ------------------------------------------------------------ settings

    @property
    def document(self) -> MaskDocument:
        assert self._doc is not None
        return self._doc

    @property
    def overlay_item(self) -> pg.ImageItem:
        """The translucent mask overlay (local coordinates = source pixels)."""
        return self._overlay

    @property
    def enabled(self) -> bool:
        """Whether the mouse paints (True) or pans the view as usual (False)."""
        return self._enabled

    @property
    def tool(self) -> str:
        return self._tool

    def set_document(self, document: MaskDocument) -> None:
        """Edit another mask (e.g. after opening another video)."""
        if self._unsubscribe is not None:
            self._unsubscribe()
        self._doc = document
        self._unsubscribe = document.subscribe(self._on_document)
        self._fit_overlay()
        self._refresh_overlay(None)
        self._update_cursor_size()

    def set_enabled(self, enabled: bool) -> None:
        """Turn painting on (the token grid and brush cursor show) or off."""
        self._enabled = bool(enabled)
        if not self._enabled and self.document.painting:
            self.document.end_stroke()
        self._grid_item.setVisible(self._enabled and self._grid is not None)
        self._cursor.setVisible(False)

    def set_tool(self, tool: str) -> None:
        """``"brush"``, ``"eraser"`` or ``"rectangle"``."""
        if tool not in TOOLS:
            raise ValueError(f"tool must be one of {TOOLS}, not {tool!r}")
        self._tool = tool

    def set_overlay_colour(self, rgba: tuple[int, int, int, int]) -> None:
        """Colour and opacity (alpha 0..255) of masked pixels."""
        self._colour = tuple(int(v) for v in rgba)  # type: ignore[assignment]
        self._refresh_overlay(None)

    def set_overlay_visible(self, visible: bool) -> None:
        self._overlay.setOpacity(1.0 if visible else 0.0)

    def set_token_grid(self, grid: TokenGrid | None) -> None:
        """Draw this encoder's patch boundaries (source pixels) while painting; None hides them."""
        self._grid = grid
        path = QtGui.QPainterPath()
        if grid is not None:
            x0, y0, x1, y1 = grid.crop_box
            h, w = grid.shape
            sx = (x1 - x0) / grid.input_size[1] * grid.patch_size
            sy = (y1 - y0) / grid.input_size[0] * grid.patch_size
            for c in range(w + 1):
                x = x0 + c * sx
                path.moveTo(x, y0)
                path.lineTo(x, y0 + h * sy)
            for r in range(h + 1):
                y = y0 + r * sy
                path.moveTo(x0, y)
                path.lineTo(x0 + w * sx, y)
        self._grid_item.setPath(path)
        self._grid_item.setVisible(self._enabled and grid is not None)

    def detach(self) -> None:
        """Stop listening and remove the overlay from the pane."""
        self._scene.removeEventFilter(self)
        for view in self._views:
            view.removeEventFilter(self)
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        try:
            self._image.sigImageChanged.disconnect(self._fit_overlay)
        except (RuntimeError, TypeError):
            pass
        scene = self._overlay.scene()
        if scene is not None:
            scene.removeItem(self._overlay)

    # ------------------------------------------------------------ geometry

    def _fit_overlay(self) -> None:
        """Scale the overlay so its local coordinates are the document's pixels."""
        if self._doc is None:
            return
        h, w = self._doc.size
        iw = self._image.width() or w
        ih = self._image.height() or h
        self._overlay.setTransform(QtGui.QTransform.fromScale(iw / w, ih / h))

    def scene_to_mask(self, scene_pos: QtCore.QPointF) -> tuple[float, float]:
        """Scene coordinates -> (x, y) in source pixels of the mask."""
        p = self._overlay.mapFromScene(scene_pos)
        return float(p.x()), float(p.y())

    def _inside(self, x: float, y: float) -> bool:
        h, w = self.document.size
        return 0.0 <= x < w and 0.0 <= y < h

    # ------------------------------------------------------------ overlay

    def _on_document(self, name: str, value: Any) -> None:
        if name == "mask":
            self._refresh_overlay(value)
            self.maskChanged.emit()
        elif name == "brush_size":
            self._update_cursor_size()
            self.brushSizeChanged.emit(float(value))

    def _refresh_overlay(self, box: tuple[int, int, int, int] | None) -> None:
        pixels = self.document.pixels
        h, w = pixels.shape
        colour = np.array(self._colour, dtype=np.uint8)
        if box is None or self._rgba is None or self._rgba.shape[:2] != (h, w):
            rgba = np.zeros((h, w, 4), dtype=np.uint8)
            rgba[pixels] = colour
        else:
            # pyqtgraph may keep the array it was given: never mutate it, copy then edit.
            rgba = self._rgba.copy()
            x0, y0, x1, y1 = box
            region = np.zeros((y1 - y0, x1 - x0, 4), dtype=np.uint8)
            region[pixels[y0:y1, x0:x1]] = colour
            rgba[y0:y1, x0:x1] = region
        self._rgba = rgba
        self._overlay.setImage(rgba, autoLevels=False, levels=(0, 255))

    def _update_cursor_size(self, centre: tuple[float, float] | None = None) -> None:
        if self._doc is None:
            return
        d = self._doc.brush_size
        if centre is None:
            rect = self._cursor.rect()
            centre = (rect.center().x(), rect.center().y())
        self._cursor.setRect(QtCore.QRectF(centre[0] - d / 2, centre[1] - d / 2, d, d))

    # ------------------------------------------------------------ events

    def eventFilter(self, watched: QtCore.QObject, event: QtCore.QEvent) -> bool:  # noqa: N802 - Qt API
        if not self._enabled:
            return False
        kind = event.type()
        if watched is self._scene:
            if kind == _PRESS:
                return self._mouse_press(event)
            if kind == _MOVE:
                return self._mouse_move(event)
            if kind == _RELEASE:
                return self._mouse_release(event)
            return False
        if kind == QtCore.QEvent.Type.ShortcutOverride and self._key_action(event) is not None:
            event.accept()  # keep window-wide shortcuts from taking our keys
            return True
        if kind == QtCore.QEvent.Type.KeyPress:
            action = self._key_action(event)
            if action is not None:
                action()
                event.accept()
                return True
        return False

    def _key_action(self, event: QtGui.QKeyEvent) -> Any:
        doc = self.document
        key = event.key()
        text = event.text()
        if event.matches(QtGui.QKeySequence.StandardKey.Redo):
            return doc.redo
        if event.matches(QtGui.QKeySequence.StandardKey.Undo):
            return doc.undo
        mods = event.modifiers() & ~QtCore.Qt.KeyboardModifier.KeypadModifier
        if key == QtCore.Qt.Key.Key_Z and mods == (
            QtCore.Qt.KeyboardModifier.ControlModifier | QtCore.Qt.KeyboardModifier.ShiftModifier
        ):
            return doc.redo
        if key == QtCore.Qt.Key.Key_BracketLeft or text == "[":
            return doc.shrink_brush
        if key == QtCore.Qt.Key.Key_BracketRight or text == "]":
            return doc.grow_brush
        return None

    def _mouse_press(self, event: QtWidgets.QGraphicsSceneMouseEvent) -> bool:
        if event.button() != _LEFT:
            return False
        x, y = self.scene_to_mask(event.scenePos())
        if not self._inside(x, y):
            return False
        erase = self._tool == "eraser" or bool(event.modifiers() & QtCore.Qt.KeyboardModifier.ShiftModifier)
        if self._tool == "rectangle":
            self._rect_start = (x, y)
            self._rect_item.setRect(QtCore.QRectF(x, y, 0, 0))
            self._rect_item.setVisible(True)
        else:
            self.document.begin_stroke(x, y, erase=erase)
            self._move_cursor(x, y)
        event.accept()
        return True

    def _mouse_move(self, event: QtWidgets.QGraphicsSceneMouseEvent) -> bool:
        x, y = self.scene_to_mask(event.scenePos())
        if self._rect_start is not None:
            x0, y0 = self._rect_start
            self._rect_item.setRect(QtCore.QRectF(QtCore.QPointF(x0, y0), QtCore.QPointF(x, y)).normalized())
            event.accept()
            return True
        self._move_cursor(x, y)
        if self.document.painting and event.buttons() & _LEFT:
            self.document.extend_stroke(x, y)
            event.accept()
            return True
        return False  # hover: let pyqtgraph see it too

    def _mouse_release(self, event: QtWidgets.QGraphicsSceneMouseEvent) -> bool:
        if event.button() != _LEFT:
            return False
        x, y = self.scene_to_mask(event.scenePos())
        if self._rect_start is not None:
            x0, y0 = self._rect_start
            self._rect_start = None
            self._rect_item.setVisible(False)
            erase = bool(event.modifiers() & QtCore.Qt.KeyboardModifier.ShiftModifier)
            self.document.rectangle(x0, y0, x, y, erase=erase)
            event.accept()
            return True
        if self.document.painting:
            self.document.extend_stroke(x, y)
            self.document.end_stroke()
            event.accept()
            return True
        return False

    def _move_cursor(self, x: float, y: float) -> None:
        self._update_cursor_size((x, y))
        self._cursor.setVisible(self._tool != "rectangle" and self._inside(x, y))
