"""The mask document: gap-free strokes, commands, undo and redo, PNG files."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from jepa_studio.errors import UsageError
from jepa_studio.state.mask import MaskDocument


def centres(h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    ys, xs = np.mgrid[0:h, 0:w]
    return xs + 0.5, ys + 0.5


def segment_distance(x0, y0, x1, y1, h, w) -> np.ndarray:
    """Distance of every pixel centre to a segment, by brute force over many points on it."""
    px, py = centres(h, w)
    t = np.linspace(0.0, 1.0, 2001)
    sx, sy = x0 + t * (x1 - x0), y0 + t * (y1 - y0)
    d = np.full((h, w), np.inf)
    for qx, qy in zip(sx, sy):
        d = np.minimum(d, np.hypot(px - qx, py - qy))
    return d


def test_a_fast_drag_leaves_no_gap():
    doc = MaskDocument(40, 100, brush_size=6)
    doc.stroke([(5.0, 10.0), (95.0, 30.0)])  # two points, 92 px apart
    d = segment_distance(5.0, 10.0, 95.0, 30.0, 40, 100)
    assert doc.pixels[d <= 2.99].all()  # everything within the radius (3) is painted
    assert not doc.pixels[d > 3.01].any()  # nothing beyond it


def test_single_click_paints_a_disc():
    doc = MaskDocument(30, 30, brush_size=10)
    doc.stroke([(15.0, 15.0)])
    px, py = centres(30, 30)
    np.testing.assert_array_equal(doc.pixels, np.hypot(px - 15, py - 15) <= 5)


def test_eraser_and_brush_size():
    doc = MaskDocument(20, 20, brush_size=4)
    doc.rectangle(0, 0, 20, 20)
    doc.stroke([(0.0, 10.0), (20.0, 10.0)], erase=True)
    assert not doc.pixels[10].any() and doc.pixels[0].all()
    doc.set_brush_size(1000)
    assert doc.brush_size == 512
    doc.set_brush_size(8)
    doc.grow_brush()
    assert doc.brush_size == 10
    doc.shrink_brush()
    assert doc.brush_size == 8
    doc.set_brush_size(1)
    doc.shrink_brush()
    assert doc.brush_size == 1


def test_undo_redo_one_stroke_is_one_step():
    doc = MaskDocument(20, 40, brush_size=2)
    doc.begin_stroke(2, 2)
    for x in range(3, 30):
        doc.extend_stroke(x, 2)
    doc.end_stroke()
    first = doc.pixels.copy()
    doc.stroke([(2, 15), (30, 15)])
    second = doc.pixels.copy()
    assert doc.undo() and np.array_equal(doc.pixels, first)
    assert doc.undo() and doc.empty
    assert not doc.undo()
    assert doc.redo() and np.array_equal(doc.pixels, first)
    assert doc.redo() and np.array_equal(doc.pixels, second)
    assert not doc.redo()
    doc.undo()
    doc.stroke([(5, 5)])  # a new step drops the redo history
    assert not doc.can_redo


def test_click_that_changes_nothing_is_no_step():
    doc = MaskDocument(10, 10, brush_size=4)
    doc.stroke([(5, 5)])
    doc.undo()
    doc.stroke([(5, 5)], erase=True)  # erasing nothing
    assert doc.can_redo and not doc.can_undo


def test_commands_are_steps():
    doc = MaskDocument(10, 12)
    doc.rectangle(2, 3, 6, 8)  # pixel centres 2.5..5.5 and 3.5..7.5
    expected = np.zeros((10, 12), dtype=bool)
    expected[3:8, 2:6] = True
    np.testing.assert_array_equal(doc.pixels, expected)
    doc.invert()
    np.testing.assert_array_equal(doc.pixels, ~expected)
    doc.set_frames([4, 5])
    assert doc.frames == frozenset({4, 5})
    doc.clear()
    assert doc.empty
    doc.undo()
    assert doc.frames == frozenset({4, 5})
    doc.undo()
    assert doc.frames is None and np.array_equal(doc.pixels, ~expected)
    doc.undo()
    np.testing.assert_array_equal(doc.pixels, expected)
    assert doc.clear() and doc.empty
    assert not doc.clear()  # nothing to clear: no step


def test_events():
    doc = MaskDocument(10, 10, brush_size=2)
    seen = []
    doc.subscribe(lambda name, value: seen.append((name, value)))
    doc.stroke([(1, 1)])
    doc.grow_brush()
    doc.undo()
    assert seen[0][0] == "mask" and seen[0][1] is not None  # a box
    assert ("brush_size", 3.0) in seen and seen[-1] == ("mask", None)


def test_png_round_trip(tmp_path):
    doc = MaskDocument(24, 32, brush_size=5)
    doc.stroke([(3, 3), (28, 20)])
    doc.set_frames({2, 3, 9})
    path = tmp_path / "mask.png"
    doc.save_png(path)
    again = MaskDocument.from_png(path)
    np.testing.assert_array_equal(again.pixels, doc.pixels)
    assert again.frames == frozenset({2, 3, 9})
    other = MaskDocument(24, 32)
    other.load_png(path)
    np.testing.assert_array_equal(other.pixels, doc.pixels)
    assert other.undo() and other.empty  # loading is one step


def test_png_from_other_tools(tmp_path):
    pixels = np.zeros((8, 8), dtype=bool)
    pixels[2:5, 1:7] = True
    rgba = np.zeros((8, 8, 4), dtype=np.uint8)
    rgba[pixels, 3] = 255  # opaque = hidden, whatever the colour
    Image.fromarray(rgba, mode="RGBA").save(tmp_path / "alpha.png")
    np.testing.assert_array_equal(MaskDocument.from_png(tmp_path / "alpha.png").pixels, pixels)
    rgb = np.where(pixels[..., None], 255, 0).astype(np.uint8).repeat(3, axis=2)
    Image.fromarray(rgb).save(tmp_path / "rgb.png")
    doc = MaskDocument.from_png(tmp_path / "rgb.png")
    np.testing.assert_array_equal(doc.pixels, pixels)
    assert doc.frames is None


def test_png_errors(tmp_path):
    doc = MaskDocument(8, 8)
    with pytest.raises(UsageError, match="no mask file"):
        doc.load_png(tmp_path / "missing.png")
    (tmp_path / "junk.png").write_bytes(b"not a png")
    with pytest.raises(UsageError, match="cannot read the mask"):
        doc.load_png(tmp_path / "junk.png")
    MaskDocument(4, 6).save_png(tmp_path / "small.png")
    with pytest.raises(UsageError, match="6x4 pixels"):
        doc.load_png(tmp_path / "small.png")
    assert not doc.can_undo
