"""Metrics against independent references: PSNR by its formula, SSIM against scikit-image."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from skimage.metrics import structural_similarity

from jepa_studio.world.latents import LatentStats
from jepa_studio.world.metrics import gaussian_window, latent_cosine, latent_nmse, psnr, ssim


def test_psnr_equals_formula():
    rng = np.random.default_rng(0)
    a = rng.random((2, 3, 16, 20))
    b = np.clip(a + rng.normal(0, 0.05, a.shape), 0, 1)
    got = psnr(torch.tensor(b), torch.tensor(a))
    for i in range(2):
        mse = float(np.mean((a[i] - b[i]) ** 2))
        assert got[i].item() == pytest.approx(10 * math.log10(1.0 / mse), abs=1e-4)
    # data range 255
    got255 = psnr(torch.tensor(b * 255), torch.tensor(a * 255), data_range=255.0)
    assert torch.allclose(got255, got, atol=1e-4)


def test_psnr_identical_is_capped_and_finite():
    x = torch.rand(3, 8, 8)
    assert psnr(x, x).item() == 100.0


def test_gaussian_window_matches_skimage_size():
    g = gaussian_window(1.5)
    assert len(g) == 11 and g.sum().item() == pytest.approx(1.0)
    assert g[5] == g.max()


@pytest.mark.parametrize("kind", ["noise", "structured", "shifted"])
def test_ssim_matches_skimage(kind):
    rng = np.random.default_rng(1)
    h, w = 40, 33
    if kind == "noise":
        a, b = rng.random((h, w, 3)), rng.random((h, w, 3))
    else:
        yy, xx = np.mgrid[0:h, 0:w]
        a = np.stack([np.sin(xx / 4.0) * 0.5 + 0.5, (yy / h), ((xx + yy) % 7) / 7.0], -1)
        shift = 2 if kind == "shifted" else 0
        b = np.roll(a, shift, axis=1) * 0.9 + rng.normal(0, 0.03, a.shape)
        b = np.clip(b, 0, 1)
    ref = structural_similarity(
        a, b, gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=1.0, channel_axis=-1
    )
    got = ssim(torch.tensor(b).permute(2, 0, 1), torch.tensor(a).permute(2, 0, 1))
    assert got.item() == pytest.approx(ref, abs=1e-5)


def test_ssim_batched_and_identity():
    x = torch.rand(4, 2, 3, 16, 16)
    s = ssim(x, x)
    assert s.shape == (4, 2) and torch.allclose(s, torch.ones(4, 2), atol=1e-6)
    with pytest.raises(ValueError):
        ssim(torch.rand(3, 8, 8), torch.rand(3, 8, 8))


def test_latent_metrics_by_hand():
    torch.manual_seed(0)
    raw = torch.randn(50, 2, 3, 5) * torch.tensor([1.0, 2.0, 0.5, 3.0, 1.0]) + 4.0
    stats = LatentStats.fit([raw])
    pred_raw = raw[:10] + 0.3 * torch.randn(10, 2, 3, 5)
    true_raw = raw[10:20]
    pred, true = stats.normalize(pred_raw), stats.normalize(true_raw)
    # cosine of centred raw latents, averaged over tokens
    a = (pred_raw - stats.mean).reshape(10, 6, 5)
    b = (true_raw - stats.mean).reshape(10, 6, 5)
    cos = (a * b).sum(-1) / (a.norm(dim=-1) * b.norm(dim=-1))
    assert torch.allclose(latent_cosine(pred, true, stats), cos.mean(-1), atol=1e-5)
    # MSE of raw latents over the mean per-channel variance
    var = raw.reshape(-1, 5).var(0, unbiased=False).mean()
    nmse = ((pred_raw - true_raw) ** 2).mean(dim=(1, 2, 3)) / var
    assert torch.allclose(latent_nmse(pred, true, stats), nmse, rtol=1e-4)
    assert torch.allclose(stats.denormalize(pred), pred_raw, atol=1e-5)
