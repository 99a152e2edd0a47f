"""Colour maps and nearest-neighbour upscaling."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from jepa_studio.errors import UsageError
from jepa_studio.render.colormap import apply_colormap, colormap_lut, upscale_nearest


def luma(rgb: np.ndarray) -> np.ndarray:
    rgb = rgb.astype(np.float64)
    return 0.2126 * rgb[..., 0] + 0.7152 * rgb[..., 1] + 0.0722 * rgb[..., 2]


def test_endpoints_and_clipping() -> None:
    out = apply_colormap(np.array([-5.0, 0.0, 1.0, 9.0]), vmin=0.0, vmax=1.0)
    assert out.dtype == np.uint8 and out.shape == (4, 3)
    # viridis runs from dark purple (#440154) to yellow (#fde725)
    np.testing.assert_array_equal(out[0], [0x44, 0x01, 0x54])
    np.testing.assert_array_equal(out[1], [0x44, 0x01, 0x54])
    np.testing.assert_array_equal(out[2], [0xFD, 0xE7, 0x25])
    np.testing.assert_array_equal(out[3], [0xFD, 0xE7, 0x25])
    magma = apply_colormap(np.array([0.0, 1.0]), 0.0, 1.0, name="magma")
    assert luma(magma[0]) < 5 and luma(magma[1]) > 240


@pytest.mark.parametrize("name", ["viridis", "magma"])
def test_luminance_increases(name: str) -> None:
    y = luma(colormap_lut(name))
    assert np.all(np.diff(y) >= 0)
    assert y[-1] - y[0] > 150


def test_coolwarm_is_diverging() -> None:
    out = apply_colormap(np.array([-1.0, 0.0, 1.0]), vmin=-1.0, vmax=1.0, name="coolwarm")
    assert out[0, 2] > out[0, 0]  # blue end
    assert out[2, 0] > out[2, 2]  # red end
    assert np.abs(out[1].astype(int) - 221).max() <= 3  # light grey middle
    assert luma(out[1]) > luma(out[0]) and luma(out[1]) > luma(out[2])


def test_nan_is_grey_and_ignored_by_the_range() -> None:
    values = np.array([[0.0, np.nan], [1.0, 0.5]])
    out = apply_colormap(values, percentiles=(0.0, 100.0))
    np.testing.assert_array_equal(out[0, 1], [128, 128, 128])
    np.testing.assert_array_equal(out[0, 0], colormap_lut("viridis")[0])
    np.testing.assert_array_equal(out[1, 0], colormap_lut("viridis")[-1])
    assert np.all(apply_colormap(np.full((2, 2), np.nan)) == 128)


def test_default_range_is_robust_to_outliers() -> None:
    values = np.concatenate([np.arange(100, dtype=np.float64), [1e6]])
    lut = colormap_lut("viridis")
    out = apply_colormap(values)
    lo, hi = np.percentile(values, [1, 99])
    expected_index = int(round((50 - lo) / (hi - lo) * 255))
    np.testing.assert_array_equal(out[50], lut[expected_index])
    assert 120 <= expected_index <= 135  # min/max scaling would have put 50 at index 0


def test_torch_input_and_constant_maps() -> None:
    t = torch.linspace(0, 1, 5)
    np.testing.assert_array_equal(apply_colormap(t, 0, 1), apply_colormap(t.numpy(), 0, 1))
    zeros = apply_colormap(np.zeros((3, 3)))
    np.testing.assert_array_equal(zeros, np.broadcast_to(colormap_lut("viridis")[0], (3, 3, 3)))
    with pytest.raises(UsageError, match="colour map"):
        apply_colormap(t, name="jet")


def test_upscale_nearest_by_factor_and_size() -> None:
    img = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3)
    up = upscale_nearest(img, 4)
    assert up.shape == (8, 12, 3) and up.flags.c_contiguous
    for y in range(8):
        for x in range(12):
            np.testing.assert_array_equal(up[y, x], img[y // 4, x // 4])
    sized = upscale_nearest(img, (5, 7))
    # pixel centres (y + 0.5) * 2 / 5 fall on rows 0 0 1 1 1; (x + 0.5) * 3 / 7 on cols 0 0 1 1 1 2 2
    rows, cols = [0, 0, 1, 1, 1], [0, 0, 1, 1, 1, 2, 2]
    np.testing.assert_array_equal(sized, img[np.ix_(rows, cols)])
    assert upscale_nearest(img[..., 0], (2, 3)).shape == (2, 3)
