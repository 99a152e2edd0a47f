"""Trails drawn over frames: positions scaled from source pixels, truth rings, broken jumps."""

from __future__ import annotations

import numpy as np

from jepa_studio.render.trails import draw_legend, draw_tracks, point_colour


def _near(image: np.ndarray, x: int, y: int, colour, r: int = 1) -> bool:
    patch = image[y - r : y + r + 1, x - r : x + r + 1].reshape(-1, 3)
    return bool((np.abs(patch.astype(int) - colour).sum(axis=1) < 30).any())


def test_positions_are_scaled_from_source_pixels_to_the_image() -> None:
    image = np.zeros((50, 100, 3), np.uint8)
    # source frames are 200 x 400: (200, 100) lands on (50, 25) of the image
    trails = np.array([[[40.0, 40.0], [120.0, 80.0], [200.0, 100.0]]])
    out = draw_tracks(image, (200, 400), trails)
    assert out.shape == image.shape and out.dtype == np.uint8 and not np.shares_memory(out, image)
    colour = point_colour(0)
    assert _near(out, 50, 25, colour)  # the current position: a filled dot
    old = out[9:12, 9:12].reshape(-1, 3).astype(int)  # the oldest position is still drawn, faded
    assert ((old[:, 0] > 100) & (old[:, 0] > 3 * old[:, 1])).any()
    assert (out[45:, :] == 0).all() and (out[:, 80:] == 0).all()  # nothing far from the trail


def test_truth_rings_and_hidden_points() -> None:
    image = np.zeros((100, 100, 3), np.uint8)
    trails = np.full((2, 1, 2), np.nan)
    trails[0, 0] = (30, 30)
    truth = np.array([[70.0, 70.0], [np.nan, np.nan]])
    out = draw_tracks(image, (100, 100), trails, truth=truth)
    assert _near(out, 30, 30, point_colour(0))
    ring = out[60:81, 60:81]
    assert (ring == 255).all(axis=-1).any() and (out[70, 70] == 0).all()  # a white ring, hollow
    assert out[:, :20].max() == 0  # the point without a position draws nothing


def test_a_jump_across_the_frame_is_not_drawn_as_a_line() -> None:
    image = np.zeros((40, 200, 3), np.uint8)
    trails = np.array([[[10.0, 20.0], [190.0, 20.0]]])  # jumps 90 % of the width
    out = draw_tracks(image, (40, 200), trails)
    assert out[20, 60:140].max() == 0
    joined = draw_tracks(image, (40, 200), trails, max_jump=1.0)
    assert joined[20, 60:140].max() > 0


def test_legend_names_each_point() -> None:
    image = np.full((80, 160, 3), 200, np.uint8)
    out = draw_legend(image, ["ball", "car"])
    assert _near(out, 11, 10, point_colour(0), r=3) and _near(out, 11, 26, point_colour(1), r=3)
    assert (out[70:, 100:] == 200).all()
    assert draw_legend(image, []) is image
