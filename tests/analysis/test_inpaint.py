"""Image encoders: fill the masked pixels from the visible ones, re-encode, score."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from jepa_studio.analysis.inpaint import fill_masked, inpaint_prediction
from jepa_studio.analysis.masking import PixelMask
from jepa_studio.encoders.pixels import PixelEncoder
from jepa_studio.encoders.preprocess import Preprocessing
from jepa_studio.errors import UsageError


@pytest.fixture()
def frames() -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (3, 24, 32, 3), dtype=np.uint8)


@pytest.fixture()
def mask() -> np.ndarray:
    m = np.zeros((24, 32), dtype=bool)
    m[6:14, 10:22] = True
    return m


@pytest.mark.parametrize("fill", ["mean", "blur", "noise"])
def test_fills_read_no_masked_pixel(frames, mask, fill):
    out = fill_masked(frames, mask, fill, seed=1)
    assert np.array_equal(out[:, ~mask], frames[:, ~mask])  # visible pixels untouched
    changed = frames.copy()
    changed[:, mask] = 255 - changed[:, mask]
    assert np.array_equal(fill_masked(changed, mask, fill, seed=1), out)  # the fill ignores the hole


def test_mean_fill_by_hand(frames, mask):
    out = fill_masked(frames, mask, "mean")
    for t in range(3):
        mean = frames[t][~mask].astype(np.float64).mean(axis=0)
        assert np.all(np.abs(out[t][mask].astype(np.float64) - mean) <= 0.5 + 1e-9)


def test_noise_fill_statistics_and_seed(mask):
    rng = np.random.default_rng(2)
    frame = np.clip(rng.normal(120, 20, (1, 64, 64, 3)), 0, 255).astype(np.uint8)
    big = np.zeros((64, 64), dtype=bool)
    big[8:56, 8:56] = True
    out = fill_masked(frame, big, "noise", seed=3)
    visible, filled = frame[0][~big].astype(float), out[0][big].astype(float)
    np.testing.assert_allclose(filled.mean(0), visible.mean(0), atol=2.0)
    np.testing.assert_allclose(filled.std(0), visible.std(0), rtol=0.1)
    assert np.array_equal(out, fill_masked(frame, big, "noise", seed=3))
    assert not np.array_equal(out, fill_masked(frame, big, "noise", seed=4))


def test_blur_fill_is_smooth_between_its_borders():
    # left half dark, right half bright; a vertical band across the edge is hidden
    frame = np.zeros((1, 32, 64, 3), dtype=np.uint8)
    frame[:, :, 32:] = 200
    band = np.zeros((32, 64), dtype=bool)
    band[:, 24:40] = True
    row = fill_masked(frame, band, "blur")[0, 16, :, 0].astype(int)
    assert row[23] == 0 and row[40] == 200
    assert np.all(np.diff(row[23:41]) >= 0)  # rises monotonically across the hole
    assert 40 < row[31] < 160


def test_inpaint_scores_by_hand(frames, mask):
    encoder = PixelEncoder(tubelet_size=1, patch_size=8, preprocessing=Preprocessing(short_side=24))
    result = inpaint_prediction(encoder, frames, PixelMask(mask, frames={6}), frame_indices=[5, 6, 7], fill="noise", seed=0)
    expected = np.zeros((3, 3, 4), dtype=bool)
    expected[1, 0:2, 1:3] = True  # rows 6..13 -> token rows 0-1; columns 10..21 -> token columns 1-2
    np.testing.assert_array_equal(result.hidden.numpy(), expected)
    # by hand: raw 8x8 patches of the original and filled frames, layer-normed, compared
    filled = fill_masked(frames, PixelMask(mask, frames={6}).frame_masks([5, 6, 7]), "noise", seed=0)

    def tokens(x: np.ndarray) -> np.ndarray:
        patches = x[1].astype(np.float64).transpose(2, 0, 1) / 255.0  # [3, 24, 32]
        patches = patches.reshape(3, 3, 8, 4, 8).transpose(1, 3, 0, 2, 4).reshape(3, 4, -1)
        return (patches - patches.mean(-1, keepdims=True)) / np.sqrt(patches.var(-1, keepdims=True) + 1e-5)

    target, pred = tokens(frames)[expected[1]], tokens(filled)[expected[1]]
    cos = (target * pred).sum(-1) / (np.linalg.norm(target, axis=-1) * np.linalg.norm(pred, axis=-1))
    np.testing.assert_allclose(result.cosine[torch.from_numpy(expected)].numpy(), cos, atol=1e-5)
    assert result.mean_l1 == pytest.approx(np.abs(target - pred).mean(), abs=1e-5)
    assert result.variant == "inpaint (noise)" and not result.leaky
    assert result.frame_indices == ((5,), (6,), (7,))
    assert torch.equal(result.combined[~torch.from_numpy(expected)], result.target[~torch.from_numpy(expected)])


def test_inpaint_errors(frames, mask):
    encoder = PixelEncoder(patch_size=8, preprocessing=Preprocessing(short_side=24))
    with pytest.raises(UsageError, match="unknown fill"):
        inpaint_prediction(encoder, frames, PixelMask(mask), fill="zeros")
    with pytest.raises(UsageError, match="mask is 8x8"):
        inpaint_prediction(encoder, frames, PixelMask(np.zeros((8, 8), dtype=bool)))
