"""Frame preprocessing shared by every encoder: resize (and optionally crop), normalise.

Two modes:

- ``"full"`` (the default): keep the whole frame and its aspect; scale so the short side
  is ``short_side`` pixels, then round each side to a multiple of the patch size. Maps
  then line up with the whole frame.
- ``"crop"``: what the checkpoints' own processors do: scale the short side to
  ``short_side``, then take the centre ``crop_size`` x ``crop_size`` square.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class Preprocessing:
    """How frames become model input. Hashable, so it can key feature caches."""

    mode: Literal["full", "crop"] = "full"
    short_side: int = 256
    crop_size: int | None = None
    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD
    interpolation: Literal["bilinear", "bicubic"] = "bicubic"

    def __post_init__(self) -> None:
        if self.mode not in ("full", "crop"):
            raise ValueError(f"preprocessing mode must be 'full' or 'crop', not {self.mode!r}")
        if self.short_side < 1:
            raise ValueError("short_side must be positive")

    def key(self) -> str:
        """A short stable string naming these settings (for caches and file names)."""
        crop = self.crop_size if self.crop_size is not None else self.short_side
        core = f"{self.mode}{self.short_side}" + (f"c{crop}" if self.mode == "crop" else "")
        norm = ",".join(f"{v:.4g}" for v in (*self.mean, *self.std))
        return f"{core}-{self.interpolation}-{norm}"


def plan_resize(
    height: int, width: int, patch_size: int, prep: Preprocessing
) -> tuple[tuple[int, int], tuple[int, int], tuple[int, int, int, int]]:
    """Where a (height, width) frame goes.

    Returns
    -------
    resized:
        (H_r, W_r) the frame is resized to before any crop.
    input_size:
        (H, W) of the model input, multiples of ``patch_size``.
    crop_box:
        (x0, y0, x1, y1) in source-frame pixels that the input covers.
    """
    scale = prep.short_side / min(height, width)
    if prep.mode == "full":
        rh = max(patch_size, int(round(height * scale / patch_size)) * patch_size)
        rw = max(patch_size, int(round(width * scale / patch_size)) * patch_size)
        return (rh, rw), (rh, rw), (0, 0, width, height)
    # the short side lands exactly on short_side; the long side is floored, as the
    # checkpoints' processors do
    short, long = min(height, width), max(height, width)
    long_side = max(1, int(prep.short_side * long / short))
    rh, rw = (prep.short_side, long_side) if height <= width else (long_side, prep.short_side)
    crop = prep.crop_size if prep.crop_size is not None else prep.short_side
    crop = min(crop, rh, rw) // patch_size * patch_size
    if crop < patch_size:
        raise ValueError(f"crop of {crop}px is smaller than one {patch_size}px patch")
    top, left = (rh - crop) // 2, (rw - crop) // 2
    sy, sx = height / rh, width / rw
    box = (
        int(round(left * sx)),
        int(round(top * sy)),
        int(round((left + crop) * sx)),
        int(round((top + crop) * sy)),
    )
    return (rh, rw), (crop, crop), box


def preprocess_frames(
    frames: np.ndarray,
    patch_size: int,
    prep: Preprocessing,
    device: torch.device | str = "cpu",
    dtype: torch.dtype = torch.float32,
    normalize: bool = True,
) -> tuple[torch.Tensor, tuple[int, int, int, int]]:
    """uint8 frames [T, H, W, 3] -> float tensor [T, 3, H', W'] on ``device``.

    Resizing and normalisation run on ``device``. With ``normalize=False`` the values
    are in [0, 1] (the pixel baselines use this). Also returns the crop box
    (x0, y0, x1, y1) in source pixels.
    """
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
        raise ValueError(f"frames must be uint8 [T, H, W, 3], got {frames.dtype} {frames.shape}")
    _, height, width, _ = frames.shape
    resized, input_size, box = plan_resize(height, width, patch_size, prep)
    x = torch.from_numpy(np.ascontiguousarray(frames)).to(device)
    x = x.permute(0, 3, 1, 2).to(torch.float32) / 255.0
    if resized != (height, width):
        x = F.interpolate(x, size=resized, mode=prep.interpolation, align_corners=False, antialias=True)
        x = x.clamp_(0.0, 1.0)
    if input_size != resized:
        top = (resized[0] - input_size[0]) // 2
        left = (resized[1] - input_size[1]) // 2
        x = x[:, :, top : top + input_size[0], left : left + input_size[1]]
    if normalize:
        mean = torch.tensor(prep.mean, device=x.device).view(1, 3, 1, 1)
        std = torch.tensor(prep.std, device=x.device).view(1, 3, 1, 1)
        x = (x - mean) / std
    return x.to(dtype).contiguous(), box
