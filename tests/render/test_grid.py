"""Labelled grids and map placement."""

import numpy as np
import pytest

from jepa_studio.render.grid import BACKGROUND, labelled_grid, place_map, resize
from jepa_studio.render.text import draw_text, text_size


def test_place_map_fills_the_crop_box_with_nearest_upscaled_tokens():
    tokens = np.array([[[255, 0, 0], [0, 255, 0]]], np.uint8)  # 1 x 2 tokens
    cell = place_map(tokens, frame_size=(100, 200), crop_box=(50, 0, 150, 100), cell_size=(50, 100), fill=(9, 9, 9))
    assert cell.shape == (50, 100, 3)
    assert (cell[:, :25] == 9).all() and (cell[:, 75:] == 9).all()  # outside the crop box
    assert (cell[:, 25:50] == [255, 0, 0]).all() and (cell[:, 50:75] == [0, 255, 0]).all()


def test_grid_places_every_cell_and_sizes_the_canvas():
    red = np.zeros((20, 30, 3), np.uint8)
    red[..., 0] = 255
    blue = np.zeros((10, 15, 3), np.uint8)
    blue[..., 2] = 255  # resized to the first cell's size
    grid = labelled_grid([("a", [red, red]), ("b", [blue, blue])], ["c1", "c2"], gap=6)
    assert grid.dtype == np.uint8 and grid.ndim == 3
    assert (grid == [255, 0, 0]).all(-1).sum() == 2 * 20 * 30
    assert (grid == [0, 0, 255]).all(-1).sum() == 2 * 20 * 30
    assert tuple(grid[-1, -1]) == BACKGROUND


def test_grid_needs_cells():
    with pytest.raises(ValueError):
        labelled_grid([])


def test_text_is_drawn_inside_its_box_only():
    image = np.zeros((40, 120, 3), np.uint8)
    out = draw_text(image, "Hello", (5, 5), size=14, color=(255, 255, 255))
    w, h = text_size("Hello", 14)
    changed = np.argwhere((out != 0).any(-1))
    assert len(changed) > 20
    assert changed[:, 0].max() <= 5 + h and changed[:, 1].max() <= 5 + w
    assert (image == 0).all()  # the input is not modified


def test_resize_nearest_keeps_colours():
    tokens = np.random.default_rng(0).integers(0, 256, (3, 4, 3), dtype=np.uint8)
    big = resize(tokens, (30, 40), nearest=True)
    assert set(map(tuple, big.reshape(-1, 3))) == set(map(tuple, tokens.reshape(-1, 3)))
