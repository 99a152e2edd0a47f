"""Painting a mask with real mouse events on a pyqtgraph pane (pytest-qt, offscreen)."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6 import QtCore, QtGui

from jepa_studio.analysis.masking import TokenGrid
from jepa_studio.encoders.preprocess import Preprocessing
from jepa_studio.state.mask import MaskDocument
from jepa_studio.ui.masking.painter import MaskPainter

LEFT = QtCore.Qt.MouseButton.LeftButton
CTRL = QtCore.Qt.KeyboardModifier.ControlModifier
SHIFT = QtCore.Qt.KeyboardModifier.ShiftModifier


@pytest.fixture()
def pane(qtbot):
    """A frame pane showing a 120x160 frame at half resolution (60x80 image)."""
    view = pg.GraphicsView()
    box = pg.ViewBox(lockAspect=True, invertY=True, enableMenu=False)
    view.setCentralItem(box)
    image = pg.ImageItem(axisOrder="row-major")
    box.addItem(image)
    frame = np.zeros((60, 80, 3), dtype=np.uint8)
    frame[:, :, 1] = np.linspace(0, 255, 80, dtype=np.uint8)
    image.setImage(frame, autoLevels=False, levels=(0, 255))
    qtbot.addWidget(view)
    view.resize(400, 300)
    view.show()
    qtbot.waitExposed(view)
    box.setRange(xRange=(0, 80), yRange=(0, 60), padding=0)
    QtGui.QGuiApplication.processEvents()
    document = MaskDocument(120, 160, brush_size=8)
    painter = MaskPainter(box, image, document)
    painter.set_enabled(True)
    return view, painter, document


def to_view(view, painter, x: float, y: float) -> QtCore.QPoint:
    """Viewport pixel under mask pixel (x, y)."""
    scene = painter.overlay_item.mapToScene(QtCore.QPointF(x, y))
    return view.mapFromScene(scene)


def drag(qtbot, view, points, modifier=QtCore.Qt.KeyboardModifier.NoModifier):
    viewport = view.viewport()
    qtbot.mousePress(viewport, LEFT, modifier, points[0])
    for p in points[1:]:
        qtbot.mouseMove(viewport, p)
    qtbot.mouseRelease(viewport, LEFT, modifier, points[-1])


def test_mouse_drag_paints_the_expected_mask(qtbot, pane, tmp_path):
    view, painter, document = pane
    a, b = to_view(view, painter, 20, 30), to_view(view, painter, 140, 90)
    drag(qtbot, view, [a, b])  # one fast move: the stroke must still be continuous
    pa, pb = painter.scene_to_mask(view.mapToScene(a)), painter.scene_to_mask(view.mapToScene(b))
    expected = MaskDocument(120, 160, brush_size=8)
    expected.stroke([pa, pb])
    np.testing.assert_array_equal(document.pixels, expected.pixels)
    # the stroke runs unbroken from one end to the other
    for t in np.linspace(0, 1, 50):
        x, y = pa[0] + t * (pb[0] - pa[0]), pa[1] + t * (pb[1] - pa[1])
        assert document.pixels[int(y), int(x)]
    assert not document.pixels[100:, :20].any()
    # the overlay shows it, translucent, at the mask's resolution
    overlay = painter.overlay_item.image
    assert overlay.shape == (120, 160, 4)
    assert np.array_equal(overlay[..., 3] > 0, document.pixels) and 0 < overlay[..., 3].max() < 255
    view.grab().save(str(tmp_path / "mask_painter.png"))


def test_keys_undo_redo_and_brush(qtbot, pane):
    view, painter, document = pane
    drag(qtbot, view, [to_view(view, painter, 20, 20), to_view(view, painter, 60, 20), to_view(view, painter, 100, 20)])
    first = document.pixels.copy()
    drag(qtbot, view, [to_view(view, painter, 20, 80), to_view(view, painter, 120, 80)])
    assert document.pixels[80, 60] and first.sum() > 0
    qtbot.keyClick(view, QtCore.Qt.Key.Key_Z, CTRL)
    np.testing.assert_array_equal(document.pixels, first)  # one stroke, one step
    qtbot.keyClick(view, QtCore.Qt.Key.Key_Z, CTRL)
    assert document.empty
    qtbot.keyClick(view, QtCore.Qt.Key.Key_Z, CTRL | SHIFT)
    np.testing.assert_array_equal(document.pixels, first)
    size = document.brush_size
    qtbot.keyClick(view, QtCore.Qt.Key.Key_BracketRight)
    assert document.brush_size == 10
    qtbot.keyClick(view, QtCore.Qt.Key.Key_BracketLeft)
    qtbot.keyClick(view, QtCore.Qt.Key.Key_BracketLeft)
    assert document.brush_size < size


def test_eraser_rectangle_and_disabled(qtbot, pane):
    view, painter, document = pane
    painter.set_tool("rectangle")
    drag(qtbot, view, [to_view(view, painter, 40, 20), to_view(view, painter, 80, 50), to_view(view, painter, 120, 100)])
    ys, xs = np.nonzero(document.pixels)
    assert abs(xs.min() - 40) <= 2 and abs(xs.max() - 119) <= 2 and abs(ys.min() - 20) <= 2 and abs(ys.max() - 99) <= 2
    assert document.pixels[21:98, 42:118].all()
    painter.set_tool("brush")
    drag(qtbot, view, [to_view(view, painter, 30, 60), to_view(view, painter, 130, 60)], SHIFT)  # erase
    assert not document.pixels[60, 45:115].any()
    painter.set_enabled(False)
    before = document.pixels.copy()
    drag(qtbot, view, [to_view(view, painter, 10, 10), to_view(view, painter, 150, 110)])
    np.testing.assert_array_equal(document.pixels, before)  # the mouse pans instead


def test_token_grid_is_drawn_while_painting(qtbot, pane, tmp_path):
    view, painter, document = pane
    grid = TokenGrid.plan((120, 160), range(4), 16, 2, Preprocessing(short_side=96))  # 6x8 tokens
    painter.set_token_grid(grid)
    path = painter._grid_item.path()
    assert painter._grid_item.isVisible()
    assert path.boundingRect() == QtCore.QRectF(0, 0, 160, 120)
    assert path.elementCount() == 2 * ((8 + 1) + (6 + 1))
    document.stroke([(80, 60)])
    view.grab().save(str(tmp_path / "mask_painter_grid.png"))
    painter.set_enabled(False)
    assert not painter._grid_item.isVisible()
