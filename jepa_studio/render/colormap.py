"""Colour maps for scalar maps (numpy uint8 out), and nearest-neighbour upscaling.

The lookup tables are built here by linear interpolation between a handful of anchor
colours sampled from the well-known maps (viridis, magma: perceptually uniform, dark to
light; coolwarm: diverging, for similarities in [-1, 1]); no matplotlib needed.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import torch

from ..errors import UsageError

NAN_COLOUR = np.array([128, 128, 128], dtype=np.uint8)

_ANCHORS: dict[str, tuple[str, ...]] = {
    # Evenly spaced samples at 0, 0.1, ..., 1.
    "viridis": (
        "#440154", "#482475", "#414487", "#355f8d", "#2a788e", "#21918c",
        "#22a884", "#44bf70", "#7ad151", "#bddf26", "#fde725",
    ),
    "magma": (
        "#000004", "#140e36", "#3b0f70", "#641a80", "#8c2981", "#b73779",
        "#de4968", "#f7705c", "#fe9f6d", "#fecf92", "#fcfdbf",
    ),
    # Moreland's diverging map: blue, light grey in the middle, red.
    "coolwarm": ("#3b4cc0", "#8db0fe", "#dddddd", "#f49a7b", "#b40426"),
}

COLORMAPS: tuple[str, ...] = tuple(_ANCHORS)


def _hex(colour: str) -> tuple[int, int, int]:
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


@lru_cache(maxsize=None)
def colormap_lut(name: str = "viridis", size: int = 256) -> np.ndarray:
    """The lookup table of a colour map: uint8 [size, 3], from the low end to the high end."""
    if name not in _ANCHORS:
        raise UsageError(f"unknown colour map {name!r}; choose one of {', '.join(COLORMAPS)}")
    anchors = np.array([_hex(c) for c in _ANCHORS[name]], dtype=np.float64)
    xp = np.linspace(0.0, 1.0, len(anchors))
    x = np.linspace(0.0, 1.0, size)
    lut = np.stack([np.interp(x, xp, anchors[:, c]) for c in range(3)], axis=-1)
    out = np.clip(np.round(lut), 0, 255).astype(np.uint8)
    out.setflags(write=False)
    return out


def _as_float64(values: np.ndarray | torch.Tensor) -> np.ndarray:
    if isinstance(values, torch.Tensor):
        values = values.detach().to("cpu", torch.float64).numpy()
    return np.asarray(values, dtype=np.float64)


def robust_range(
    values: np.ndarray | torch.Tensor,
    vmin: float | None = None,
    vmax: float | None = None,
    percentiles: tuple[float, float] = (1.0, 99.0),
) -> tuple[float, float]:
    """(vmin, vmax) of a scalar map: each given bound as is, a missing one at the
    ``percentiles`` of the finite values (0 and 1 when there are none)."""
    v = _as_float64(values)
    finite = v[np.isfinite(v)]
    if vmin is None:
        vmin = float(np.percentile(finite, percentiles[0])) if finite.size else 0.0
    if vmax is None:
        vmax = float(np.percentile(finite, percentiles[1])) if finite.size else 1.0
    return float(vmin), float(vmax)


def apply_colormap(
    values: np.ndarray | torch.Tensor,
    vmin: float | None = None,
    vmax: float | None = None,
    name: str = "viridis",
    percentiles: tuple[float, float] = (1.0, 99.0),
) -> np.ndarray:
    """Colour a scalar map.

    Parameters
    ----------
    values: float array [...] (numpy or torch, any device).
    vmin, vmax: values mapped to the two ends of the map; each defaults to the
        ``percentiles`` of the finite values (robust to outliers). Values outside are clipped.
    name: ``"viridis"``, ``"magma"`` or ``"coolwarm"`` (diverging: pass vmin=-1, vmax=1
        for cosine similarities).

    Returns
    -------
    uint8 [..., 3]; NaN values are grey (128, 128, 128). When vmax <= vmin, values above
    vmin get the top colour and the rest the bottom one.
    """
    lut = colormap_lut(name)
    v = _as_float64(values)
    nan = np.isnan(v)
    vmin, vmax = robust_range(v, vmin, vmax, percentiles)
    span = float(vmax) - float(vmin)
    with np.errstate(invalid="ignore"):
        if span > 0:
            pos = (v - float(vmin)) / span
        else:
            pos = (v > float(vmin)).astype(np.float64)
        pos = np.clip(np.nan_to_num(pos, nan=0.0), 0.0, 1.0)
    idx = np.round(pos * (len(lut) - 1)).astype(np.intp)
    out = lut[idx]
    out[nan] = NAN_COLOUR
    return out


def upscale_nearest(image: np.ndarray, factor_or_size: int | tuple[int, int]) -> np.ndarray:
    """Nearest-neighbour upscaling of a token-grid image to pixels.

    Parameters
    ----------
    image: array [h, w] or [h, w, C] (any dtype; uint8 RGB [h, w, 3] typically).
    factor_or_size: an int factor (each token becomes factor x factor pixels), or the
        output size (H, W): pixel (y, x) takes the token under its centre.

    Returns
    -------
    array [H, W(, C)] of the input's dtype, C-contiguous.
    """
    if image.ndim not in (2, 3):
        raise UsageError(f"expected an image [h, w] or [h, w, C], got shape {image.shape}")
    h, w = image.shape[:2]
    if isinstance(factor_or_size, (int, np.integer)):
        f = int(factor_or_size)
        if f < 1:
            raise UsageError(f"upscale factor must be at least 1, not {f}")
        return np.ascontiguousarray(np.repeat(np.repeat(image, f, axis=0), f, axis=1))
    out_h, out_w = (int(s) for s in factor_or_size)
    if out_h < 1 or out_w < 1:
        raise UsageError(f"output size must be positive, not {factor_or_size}")
    rows = np.minimum(((np.arange(out_h) + 0.5) * h / out_h).astype(np.intp), h - 1)
    cols = np.minimum(((np.arange(out_w) + 0.5) * w / out_w).astype(np.intp), w - 1)
    return np.ascontiguousarray(image[rows[:, None], cols[None, :]])
