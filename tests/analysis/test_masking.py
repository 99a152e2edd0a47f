"""Pixel masks -> hidden tokens, at patch and tubelet boundaries; the preset masks."""

from __future__ import annotations

import numpy as np
import pytest

from jepa_studio.analysis.masking import (
    PixelMask,
    TokenGrid,
    centre_block,
    future_frames,
    preset_mask,
    random_tubes,
    token_coverage,
    token_ids,
    token_mask,
)
from jepa_studio.encoders.pixels import PixelEncoder
from jepa_studio.encoders.preprocess import Preprocessing
from jepa_studio.errors import UsageError


def grid_no_resize(frames: int = 6, tubelet: int = 2) -> TokenGrid:
    """32x48 source frames, patch 8, no resize: tokens are exact 8x8 pixel blocks."""
    return TokenGrid.plan((32, 48), range(frames), 8, tubelet, Preprocessing(short_side=32))


def one_pixel(row: int, col: int, size=(32, 48), frames=None) -> PixelMask:
    pixels = np.zeros(size, dtype=bool)
    pixels[row, col] = True
    return PixelMask(pixels, frames)


def test_patch_boundaries_without_resize():
    grid = grid_no_resize()
    assert grid.size == (3, 4, 6) and grid.crop_box == (0, 0, 48, 32)
    for (row, col), token in {(7, 15): (0, 1), (8, 16): (1, 2), (0, 0): (0, 0), (31, 47): (3, 5)}.items():
        hidden = token_mask(one_pixel(row, col), grid)
        expected = np.zeros((4, 6), dtype=bool)
        expected[token] = True
        assert all(np.array_equal(hidden[t], expected) for t in range(3)), (row, col)


def test_coverage_is_the_block_mean():
    rng = np.random.default_rng(0)
    pixels = rng.random((32, 48)) < 0.3
    coverage = token_coverage(pixels, grid_no_resize())
    by_hand = pixels.reshape(4, 8, 6, 8).mean(axis=(1, 3))
    np.testing.assert_allclose(coverage, by_hand)


def test_threshold():
    pixels = np.zeros((32, 48), dtype=bool)
    pixels[0:8, 0:4] = True  # half of token (0, 0)
    pixels[8:16, 0:2] = True  # a quarter of token (1, 0)
    grid = grid_no_resize()
    assert token_mask(PixelMask(pixels), grid)[0, :2, 0].tolist() == [True, True]
    assert token_mask(PixelMask(pixels), grid, threshold=0.3)[0, :2, 0].tolist() == [True, False]
    assert token_mask(PixelMask(pixels), grid, threshold=0.5)[0, :2, 0].tolist() == [False, False]


def test_tubelet_boundaries():
    grid = grid_no_resize(frames=6, tubelet=2)  # steps (0, 1), (2, 3), (4, 5)
    assert token_mask(one_pixel(0, 0, frames={3}), grid)[:, 0, 0].tolist() == [False, True, False]
    assert token_mask(one_pixel(0, 0, frames={1, 2}), grid)[:, 0, 0].tolist() == [True, True, False]
    assert token_mask(one_pixel(0, 0, frames={7}), grid)[:, 0, 0].tolist() == [False, False, False]
    per_frame = grid_no_resize(frames=3, tubelet=1)
    assert token_mask(one_pixel(0, 0, frames={1}), per_frame)[:, 0, 0].tolist() == [False, True, False]


def test_boundaries_with_a_resize():
    # 64x96 source, short side 32: each 8 px patch covers 16 source pixels.
    grid = TokenGrid.plan((64, 96), range(2), 8, 2, Preprocessing(short_side=32))
    assert grid.shape == (4, 6)
    rows, cols = grid.pixel_bounds()
    np.testing.assert_array_equal(cols[:, 0], np.arange(6) * 16)
    np.testing.assert_array_equal(cols[:, 1], np.arange(1, 7) * 16)
    # the pixels under each token, exactly
    assert np.argwhere(token_coverage(one_pixel(17, 15, (64, 96)).pixels, grid) > 0).tolist() == [[1, 0]]
    assert np.argwhere(token_coverage(one_pixel(17, 16, (64, 96)).pixels, grid) > 0).tolist() == [[1, 1]]
    # with a resize, a masked pixel also reaches the neighbouring tokens through the
    # resampling kernel (2 input px = 4 source px, plus one): those are hidden too
    assert grid.resample_reach() == 5
    assert np.argwhere(token_mask(one_pixel(24, 24, (64, 96)), grid)[0]).tolist() == [[1, 1]]
    assert np.argwhere(token_mask(one_pixel(17, 15, (64, 96)), grid)[0]).tolist() == [[0, 0], [0, 1], [1, 0], [1, 1]]
    assert grid_no_resize(frames=2, tubelet=2).resample_reach() == 0


def test_crop_box_is_respected():
    # 40x60 frames, centre crop: resized to 32x48, cropped to 32x32 from x=8, i.e. source x 10..50.
    grid = TokenGrid.plan((40, 60), range(2), 8, 2, Preprocessing(mode="crop", short_side=32, crop_size=32))
    assert grid.crop_box == (10, 0, 50, 40) and grid.shape == (4, 4)
    assert not token_mask(one_pixel(0, 5, (40, 60)), grid).any()
    assert np.argwhere(token_mask(one_pixel(0, 10, (40, 60)), grid)[0]).tolist() == [[0, 0]]
    assert np.argwhere(token_mask(one_pixel(39, 49, (40, 60)), grid)[0]).tolist() == [[3, 3]]
    with pytest.raises(UsageError, match="paint the mask on a frame of this video"):
        token_mask(one_pixel(0, 0, (20, 30)), grid)


def test_grid_matches_encoder_features():
    frames = np.zeros((5, 40, 70, 3), dtype=np.uint8)
    prep = Preprocessing(short_side=24)
    feats = PixelEncoder(tubelet_size=2, patch_size=8, preprocessing=prep).encode(frames, [3, 4, 5, 6, 7])
    assert TokenGrid.from_features(feats) == TokenGrid.plan((40, 70), [3, 4, 5, 6, 7], 8, 2, prep)


def test_token_ids_order():
    rng = np.random.default_rng(1)
    hidden = rng.random((3, 4, 5)) < 0.4
    ids = token_ids(hidden)
    np.testing.assert_array_equal(ids.numpy(), np.flatnonzero(hidden))
    t, r, c = np.unravel_index(ids.numpy(), hidden.shape)
    np.testing.assert_array_equal(ids.numpy(), t * 20 + r * 5 + c)
    assert sorted(token_ids(~hidden).tolist() + ids.tolist()) == list(range(60))


def test_presets():
    block = centre_block(40, 60, 0.5)
    assert block.sum() == 20 * 30 and block[10:30, 15:45].all()
    a, b = random_tubes(64, 64, seed=3), random_tubes(64, 64, seed=3)
    assert np.array_equal(a, b) and not np.array_equal(a, random_tubes(64, 64, seed=4))
    single = random_tubes(100, 100, n_blocks=1, scale=0.2, seed=0)
    assert 0.15 < single.mean() < 0.25
    assert future_frames(range(10, 18), 1) == frozenset({16, 17})
    assert future_frames(range(8), 2, tubelet_size=1) == frozenset({6, 7})
    with pytest.raises(UsageError):
        future_frames(range(4), 2)  # would hide every time step
    future = preset_mask("future", (8, 8), range(8))
    assert future.pixels.all() and future.frames == frozenset({4, 5, 6, 7})
    assert preset_mask("tubes", (32, 32), range(4), seed=1).frames is None
    with pytest.raises(UsageError, match="centre"):
        preset_mask("middle", (8, 8), range(4))


@pytest.mark.parametrize("shape,size", [((4, 7), (64, 112)), ((2, 3), (90, 160)), ((1, 2), (16, 32)), ((3, 3), (48, 48))])
def test_presets_on_a_coarse_grid_hide_what_they_say_and_keep_context(shape, size) -> None:
    """Drawn in tokens, the centre block and the tubes hide exactly their tokens (even through
    the resize kernel) and never the whole frame."""
    from jepa_studio.analysis.masking import (
        TokenGrid, centre_tokens, preset_mask, random_token_tubes, token_mask, tokens_to_pixels,
    )

    h, w = shape
    grid = TokenGrid(((0, 1),), shape, 16, (h * 16, w * 16), (0, 0, size[1], size[0]))  # resized
    for tokens in (centre_tokens(shape), random_token_tubes(shape, seed=3)):
        assert 0 < tokens.sum() < h * w
        hidden = token_mask(PixelMask(tokens_to_pixels(tokens, grid, size)), grid, 0.0)[0]
        np.testing.assert_array_equal(hidden, tokens)
    np.testing.assert_array_equal(token_mask(preset_mask("centre", size, [0, 1], grid=grid), grid)[0], centre_tokens(shape))
    assert not token_mask(preset_mask("tubes", size, [0, 1], grid=grid), grid)[0].all()
