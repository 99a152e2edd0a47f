"""What an image encoder infers from context: fill the masked pixels, re-encode, compare.

DINOv2 and DINOv3 have no predictor. To ask them the same question as V-JEPA 2 ("what is
under the mask?"), the masked pixels are replaced using only the visible ones, the frames
are encoded again, and the tokens under the mask are compared with the encoding of the
untouched frames. Both encodings are layer-normed per token (no affine), as V-JEPA 2's
targets are, so scores are comparable across encoders.

Fills (a setting), none of which reads a masked pixel:

- ``"mean"``: the mean colour of the frame's visible pixels;
- ``"blur"``: a smooth fill diffused in from the visible pixels around the hole
  (push-pull: a weighted image pyramid of the visible pixels, filled coarse to fine);
- ``"noise"``: Gaussian noise with the visible pixels' per-channel mean and standard
  deviation (seeded).
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from ..encoders.base import encoder_label
from ..errors import UsageError
from .masked_prediction import MaskedPrediction, build_prediction, layer_norm_tokens
from .masking import PixelMask, TokenGrid, token_mask

FILLS: tuple[str, ...] = ("mean", "blur", "noise")


def _visible_stats(frame: torch.Tensor, visible: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-channel mean and std of the visible pixels of frame [3, H, W] (float)."""
    n = visible.sum()
    if n == 0:
        return torch.full((3,), 0.5), torch.full((3,), 0.25)
    vals = frame[:, visible]  # [3, n]
    return vals.mean(dim=1), vals.std(dim=1, unbiased=False)


def _push_pull(frame: torch.Tensor, visible: torch.Tensor) -> torch.Tensor:
    """Fill invisible pixels of frame [3, H, W] from a pyramid of the visible ones.

    Level l holds the visible-weighted average colour ``x_l`` (premultiplied by coverage
    ``w_l``); going back down, each level's estimate is ``x_l + (1 - w_l) * up(estimate_{l+1})``,
    so visible pixels keep their colour and holes get a smooth blend of their surroundings.
    """
    w = visible.to(frame.dtype)[None, None]  # [1, 1, H, W]
    x = (frame * w[0])[None]  # [1, 3, H, W]
    levels = [(x, w)]
    while min(levels[-1][0].shape[-2:]) > 1:
        xl, wl = levels[-1]
        levels.append(
            (
                F.avg_pool2d(xl, 2, ceil_mode=True, count_include_pad=False),
                F.avg_pool2d(wl, 2, ceil_mode=True, count_include_pad=False),
            )
        )
    xl, wl = levels[-1]
    estimate = xl / wl.clamp_min(1e-12)
    for xl, wl in reversed(levels[:-1]):
        up = F.interpolate(estimate, size=xl.shape[-2:], mode="bilinear", align_corners=False)
        estimate = xl + (1.0 - wl) * up
    return estimate[0]


def fill_masked(
    frames: np.ndarray, masks: np.ndarray, fill: str = "mean", seed: int = 0
) -> np.ndarray:
    """Replace masked pixels using only visible ones.

    Parameters
    ----------
    frames: uint8 [T, H, W, 3].
    masks: bool [T, H, W] (or [H, W] for every frame), True where hidden.
    fill: ``"mean"``, ``"blur"`` or ``"noise"``.
    seed: seed of the noise.

    Returns
    -------
    uint8 [T, H, W, 3], a new array; visible pixels are unchanged.
    """
    if fill not in FILLS:
        raise UsageError(f"unknown fill {fill!r}; choose one of {', '.join(FILLS)}")
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
        raise ValueError(f"frames must be uint8 [T, H, W, 3], got {frames.dtype} {frames.shape}")
    masks = np.broadcast_to(masks, frames.shape[:3]) if masks.ndim == 2 else masks
    if masks.shape != frames.shape[:3]:
        raise UsageError(f"the mask {masks.shape} does not match the frames {frames.shape[:3]}")
    out = frames.copy()
    gen = torch.Generator().manual_seed(int(seed))
    for i in range(frames.shape[0]):
        hidden = torch.from_numpy(np.array(masks[i], dtype=bool))
        if not bool(hidden.any()):
            continue
        img = torch.from_numpy(frames[i]).permute(2, 0, 1).to(torch.float32) / 255.0  # [3, H, W]
        visible = ~hidden
        if fill == "blur":
            filled = _push_pull(img, visible) if bool(visible.any()) else torch.full_like(img, 0.5)
        else:
            mean, std = _visible_stats(img, visible)
            if fill == "mean":
                filled = mean.view(3, 1, 1).expand_as(img)
            else:
                noise = torch.randn(img.shape, generator=gen)
                filled = mean.view(3, 1, 1) + std.view(3, 1, 1) * noise
        filled = (filled.clamp(0.0, 1.0) * 255.0).round().to(torch.uint8).permute(1, 2, 0).numpy()
        out[i][masks[i]] = filled[masks[i]]
    return out



def inpaint_prediction(
    encoder: Any,
    frames: np.ndarray,
    mask: PixelMask,
    frame_indices: Sequence[int] | None = None,
    fill: str = "mean",
    threshold: float = 0.0,
    seed: int = 0,
    reference: Any | None = None,
) -> MaskedPrediction:
    """Encode the frames with the masked pixels filled, and score the hidden tokens.

    Parameters
    ----------
    encoder: any :class:`~jepa_studio.encoders.base.Encoder` (DINOv2, DINOv3, pixels ...).
    frames: uint8 [T, H, W, 3].
    mask: pixel mask in the frames' pixels.
    frame_indices: source indices of the frames (default 0..T-1).
    fill: ``"mean"``, ``"blur"`` or ``"noise"``.
    threshold: token hiding rule (see :func:`~.masking.token_mask`).
    seed: noise seed.
    reference: the encoder's PatchFeatures of the untouched frames, if already computed.

    Returns
    -------
    :class:`MaskedPrediction` with variant ``"inpaint (FILL)"``: targets are the layer-normed
    tokens of the untouched frames, predictions the layer-normed tokens of the filled
    frames at the hidden positions.
    """
    from ..encoders.device import oom_guard

    if frame_indices is None:
        frame_indices = list(range(len(frames)))
    if tuple(mask.size) != tuple(frames.shape[1:3]):
        raise UsageError(
            f"the mask is {mask.size[1]}x{mask.size[0]} pixels but the frames are "
            f"{frames.shape[2]}x{frames.shape[1]}: paint or load a mask of the video's size"
        )
    filled = fill_masked(frames, mask.frame_masks(frame_indices), fill, seed)
    device = getattr(encoder, "device", None)
    with oom_guard(f"encoding {len(frames)} inpainted frames with {encoder_label(encoder)}", device):
        full = reference if reference is not None else encoder.encode(frames, frame_indices)
        masked = encoder.encode(filled, frame_indices)
    grid = TokenGrid.from_features(full)
    hidden = torch.from_numpy(token_mask(mask, grid, threshold))
    target = layer_norm_tokens(full.tokens).cpu()
    pred = layer_norm_tokens(masked.tokens).cpu()[hidden]
    return build_prediction(
        target,
        hidden,
        pred,
        f"inpaint ({fill})",
        label=full.label,
        frame_indices=grid.frame_indices,
        patch_size=grid.patch_size,
        input_size=grid.input_size,
        crop_box=grid.crop_box,
    )
