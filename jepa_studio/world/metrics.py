"""Metrics of predictions against the truth, in latent space and in pixels.

Latent metrics take *normalised* latents and the encoder's :class:`LatentStats`, and are
computed on raw latents: the cosine between centred tokens (raw minus the per-channel mean,
so a constant offset shared by all tokens does not count as agreement), and the MSE divided
by the latents' mean per-channel variance. Pixel metrics take float images in [0, 1].
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from .latents import LatentStats

#: PSNR of identical images is infinite; report this many dB instead
PSNR_CAP = 100.0


def latent_cosine(pred: torch.Tensor, true: torch.Tensor, stats: LatentStats) -> torch.Tensor:
    """Mean cosine over tokens of centred raw latents.

    pred, true: normalised float [..., h, w, D]. Returns float [...] (one per grid).
    """
    a = pred * stats.std.to(pred)
    b = true * stats.std.to(true)
    return F.cosine_similarity(a, b, dim=-1, eps=1e-8).mean(dim=(-2, -1))


def latent_nmse(pred: torch.Tensor, true: torch.Tensor, stats: LatentStats) -> torch.Tensor:
    """MSE of raw latents divided by their mean per-channel variance: 0 is perfect, 1 is
    as far as a typical latent is from the mean. pred, true: normalised [..., h, w, D] -> [...]."""
    err = ((pred - true) * stats.std.to(pred)) ** 2
    return err.mean(dim=(-3, -2, -1)) / max(stats.variance, 1e-12)


def psnr(pred: torch.Tensor, true: torch.Tensor, data_range: float = 1.0) -> torch.Tensor:
    """Peak signal-to-noise ratio per image: ``10 log10(range^2 / MSE)`` in dB.

    pred, true: float [..., C, H, W]. Returns float [...]; capped at :data:`PSNR_CAP`.
    """
    mse = ((pred.double() - true.double()) ** 2).mean(dim=(-3, -2, -1))
    out = 10.0 * torch.log10(data_range**2 / mse.clamp_min(1e-300))
    return out.clamp(max=PSNR_CAP).float()


def gaussian_window(sigma: float = 1.5, truncate: float = 3.5) -> torch.Tensor:
    """Normalised 1-D Gaussian of radius ``int(truncate * sigma + 0.5)`` (float64 [2r + 1])."""
    radius = int(truncate * sigma + 0.5)
    x = torch.arange(-radius, radius + 1, dtype=torch.float64)
    g = torch.exp(-0.5 * (x / sigma) ** 2)
    return g / g.sum()


def ssim(
    pred: torch.Tensor,
    true: torch.Tensor,
    data_range: float = 1.0,
    sigma: float = 1.5,
    k1: float = 0.01,
    k2: float = 0.03,
) -> torch.Tensor:
    """Structural similarity per image (Wang et al. 2004), Gaussian-weighted.

    Local means, variances and covariance use an 11x11 Gaussian window (sigma 1.5);
    the SSIM map is averaged over the positions where the window fits inside the image and
    over channels. Computed in float32 (torch's float64 convolutions are about 10x slower
    on a CPU; the result agrees with scikit-image to 1e-5).

    pred, true: float [..., C, H, W] with H, W >= 11. Returns float [...].
    """
    if pred.shape != true.shape:
        raise ValueError(f"shapes differ: {tuple(pred.shape)} and {tuple(true.shape)}")
    g = gaussian_window(sigma)
    r = len(g)
    *lead, c, h, w = pred.shape
    if h < r or w < r:
        raise ValueError(f"SSIM needs images of at least {r}x{r} pixels, got {h}x{w}")
    x = pred.float().reshape(-1, 1, h, w)
    y = true.float().reshape(-1, 1, h, w)
    gy, gx = g.float().view(1, 1, r, 1), g.float().view(1, 1, 1, r)

    def blur(t: torch.Tensor) -> torch.Tensor:
        return F.conv2d(F.conv2d(t, gy), gx)

    mx, my = blur(x), blur(y)
    vx = blur(x * x) - mx * mx
    vy = blur(y * y) - my * my
    cxy = blur(x * y) - mx * my
    c1, c2 = (k1 * data_range) ** 2, (k2 * data_range) ** 2
    s = ((2 * mx * my + c1) * (2 * cxy + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2))
    per_channel = s.mean(dim=(-3, -2, -1)).reshape(*lead, c)
    return per_channel.mean(-1).float()


def is_finite_number(value: float) -> bool:
    """True for a real, finite float."""
    return isinstance(value, float) and math.isfinite(value)
