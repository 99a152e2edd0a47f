"""Frame preprocessing shared by every encoder: resize (and optionally crop), normalise.

Two modes:

- ``"full"`` (the default): keep the whole frame and its aspect; scale so the short side
  is ``short_side`` pixels, then round each side to a multiple of the patch size. Maps
  then line up with the whole frame.
- ``"crop"``: what the checkpoints' own processors do: scale the short side to
  ``short_side``, then take the centre ``crop_size`` x ``crop_size`` square.

Limits
------
Whatever the frame's shape, the model input is at most :data:`MAX_INPUT_SIDE` pixels on a
side and :data:`MAX_INPUT_PIXELS` pixels in all (4,096 tokens of 16 px, 5,349 of 14 px). A
frame that would exceed them (a 4001x3 video scaled to a short side of 256 would be 341,408
px wide) is scaled down further, sides floored to whole patches (at least one), and the plan
says so in :attr:`ResizePlan.note`, which is logged once. What cannot be done within them (a
centre crop smaller than one patch) raises :class:`~jepa_studio.errors.UsageError`.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F

from ..errors import UsageError

log = logging.getLogger(__name__)

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

#: the longest side, in pixels, of a model input (and of a frame resized before a crop)
MAX_INPUT_SIDE = 4096
#: the most pixels of one model input frame: 1024 x 1024, i.e. 4,096 tokens of 16 px
MAX_INPUT_PIXELS = 1024 * 1024
#: source frames converted to float at a time while resizing (bounds the float copy of 4K clips)
_RESIZE_CHUNK_BYTES = 256 * 2**20

_notes_logged: set[str] = set()


@dataclass(frozen=True)
class Preprocessing:
    """How frames become model input. Hashable, so it can key feature caches.

    Raises
    ------
    UsageError
        An unknown mode, or a short side / crop size outside 1..MAX_INPUT_SIDE.
    """

    mode: Literal["full", "crop"] = "full"
    short_side: int = 256
    crop_size: int | None = None
    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD
    interpolation: Literal["bilinear", "bicubic"] = "bicubic"

    def __post_init__(self) -> None:
        if self.mode not in ("full", "crop"):
            raise UsageError(f"preprocessing mode must be 'full' or 'crop', not {self.mode!r}")
        for name, value in (("short side", self.short_side), ("crop size", self.crop_size)):
            if value is not None and not 1 <= value <= MAX_INPUT_SIDE:
                raise UsageError(f"a {name} of {value} px is outside 1..{MAX_INPUT_SIDE} px (the input size limit)")

    def key(self) -> str:
        """A short stable string naming these settings (for caches and file names)."""
        crop = self.crop_size if self.crop_size is not None else self.short_side
        core = f"{self.mode}{self.short_side}" + (f"c{crop}" if self.mode == "crop" else "")
        norm = ",".join(f"{v:.4g}" for v in (*self.mean, *self.std))
        return f"{core}-{self.interpolation}-{norm}"


@dataclass(frozen=True)
class ResizePlan:
    """Where a frame goes on its way to the model.

    Attributes
    ----------
    resized:
        (H_r, W_r) the frame is resized to before any crop.
    input_size:
        (H, W) of the model input, multiples of the patch size.
    crop_box:
        (x0, y0, x1, y1) in source-frame pixels that the input covers.
    note:
        None, or one line saying how the size limits made the input smaller than the
        settings asked (and whether the aspect ratio was kept).
    """

    resized: tuple[int, int]
    input_size: tuple[int, int]
    crop_box: tuple[int, int, int, int]
    note: str | None = None

    @property
    def capped(self) -> bool:
        """True when the limits made the input smaller than asked."""
        return self.note is not None


def _snap(length: float, patch_size: int, floor: bool = False) -> int:
    """``length`` as a whole number of patches (rounded, or floored), at least one."""
    patches = math.floor(length / patch_size) if floor else int(round(length / patch_size))
    return max(1, patches) * patch_size


def _ratio(width: int, height: int) -> str:
    return f"{width / height:.4g}:1" if width >= height else f"1:{height / width:.4g}"


def _fits(height: int, width: int) -> bool:
    return max(height, width) <= MAX_INPUT_SIDE and height * width <= MAX_INPUT_PIXELS


def _full_plan(height: int, width: int, patch_size: int, prep: Preprocessing) -> ResizePlan:
    scale = prep.short_side / min(height, width)
    rh, rw = _snap(height * scale, patch_size), _snap(width * scale, patch_size)
    box = (0, 0, width, height)
    if _fits(rh, rw):
        return ResizePlan((rh, rw), (rh, rw), box)
    wanted = (rw, rh)
    scale = min(scale, MAX_INPUT_SIDE / max(height, width), math.sqrt(MAX_INPUT_PIXELS / (height * width)))
    rh, rw = _snap(height * scale, patch_size, floor=True), _snap(width * scale, patch_size, floor=True)
    assert _fits(rh, rw), (rh, rw)
    distortion = (rw / rh) / (width / height)
    aspect = "" if 0.9 < distortion < 1.1 else f"; the aspect ratio is not kept ({_ratio(width, height)} becomes {_ratio(rw, rh)})"
    note = (
        f"{width}x{height} frames would be {wanted[0]}x{wanted[1]} px at a short side of {prep.short_side}; "
        f"they are resized to {rw}x{rh} ({(rh // patch_size) * (rw // patch_size)} tokens), the limit being "
        f"{MAX_INPUT_SIDE} px a side and {MAX_INPUT_PIXELS:,} px a frame{aspect}"
    )
    return ResizePlan((rh, rw), (rh, rw), box, note)


def _crop_plan(height: int, width: int, patch_size: int, prep: Preprocessing) -> ResizePlan:
    # the short side lands exactly on short_side; the long side is floored, as the
    # checkpoints' processors do
    short, long = min(height, width), max(height, width)
    short_side, long_side = prep.short_side, max(1, int(prep.short_side * long / short))
    notes = []
    if long_side > MAX_INPUT_SIDE:
        short_side, long_side = max(1, int(MAX_INPUT_SIDE * short / long)), MAX_INPUT_SIDE
        notes.append(f"resized to a short side of {short_side} px instead of {prep.short_side} (the limit is {MAX_INPUT_SIDE} px a side)")
    rh, rw = (short_side, long_side) if height <= width else (long_side, short_side)
    asked = prep.crop_size if prep.crop_size is not None else prep.short_side
    largest = math.isqrt(MAX_INPUT_PIXELS) // patch_size * patch_size
    crop = min(asked, rh, rw, largest) // patch_size * patch_size
    if crop < patch_size:
        raise UsageError(
            f"{width}x{height} frames cannot be centre-cropped to even one {patch_size}-px patch within the "
            f"{MAX_INPUT_SIDE}-px limit; use the whole frame ('full' preprocessing) instead"
        )
    if crop < min(asked, rh, rw) // patch_size * patch_size:
        notes.append(f"cropped to {crop} px instead of {asked} (the limit is {MAX_INPUT_PIXELS:,} px a frame)")
    elif notes and crop != asked:
        notes.append(f"so the crop is {crop} px instead of {asked}")
    top, left = (rh - crop) // 2, (rw - crop) // 2
    sy, sx = height / rh, width / rw
    box = (
        int(round(left * sx)),
        int(round(top * sy)),
        int(round((left + crop) * sx)),
        int(round((top + crop) * sy)),
    )
    note = f"{width}x{height} frames are " + ", ".join(notes) if notes else None
    return ResizePlan((rh, rw), (crop, crop), box, note)


def resize_plan(height: int, width: int, patch_size: int, prep: Preprocessing) -> ResizePlan:
    """Where a (height, width) frame goes, within :data:`MAX_INPUT_SIDE` and :data:`MAX_INPUT_PIXELS`.

    Raises
    ------
    UsageError
        An empty frame, or a centre crop that cannot hold one patch within the limits.
    """
    if height < 1 or width < 1:
        raise UsageError(f"a {width}x{height} frame has no pixels to encode")
    if prep.mode == "full":
        return _full_plan(height, width, patch_size, prep)
    return _crop_plan(height, width, patch_size, prep)


def plan_resize(
    height: int, width: int, patch_size: int, prep: Preprocessing
) -> tuple[tuple[int, int], tuple[int, int], tuple[int, int, int, int]]:
    """:func:`resize_plan` as a tuple ``(resized, input_size, crop_box)`` (see :class:`ResizePlan`)."""
    plan = resize_plan(height, width, patch_size, prep)
    return plan.resized, plan.input_size, plan.crop_box


def preprocess_frames(
    frames: np.ndarray,
    patch_size: int,
    prep: Preprocessing,
    device: torch.device | str = "cpu",
    dtype: torch.dtype = torch.float32,
    normalize: bool = True,
) -> tuple[torch.Tensor, tuple[int, int, int, int]]:
    """uint8 frames [T, H, W, 3] -> float tensor [T, 3, H', W'] on ``device``.

    Resizing and normalisation run on ``device``, a few frames at a time, so the float copy
    of large frames stays within a few hundred MB. With ``normalize=False`` the values are
    in [0, 1] (the pixel baselines use this). Also returns the crop box (x0, y0, x1, y1) in
    source pixels. (H', W') follows :func:`resize_plan`, within the input limits; when they
    made it smaller than asked, the plan's note is logged (once per note).

    Raises
    ------
    UsageError
        When the frames cannot be fitted into the limits (see :func:`resize_plan`).
    """
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
        raise ValueError(f"frames must be uint8 [T, H, W, 3], got {frames.dtype} {frames.shape}")
    count, height, width, _ = frames.shape
    plan = resize_plan(height, width, patch_size, prep)
    if plan.note is not None and plan.note not in _notes_logged:
        _notes_logged.add(plan.note)
        log.warning("%s.", plan.note)
    (rh, rw), (ih, iw) = plan.resized, plan.input_size
    top, left = (rh - ih) // 2, (rw - iw) // 2
    out = torch.empty((count, 3, ih, iw), dtype=dtype, device=device)
    mean = torch.tensor(prep.mean, device=out.device).view(1, 3, 1, 1)
    std = torch.tensor(prep.std, device=out.device).view(1, 3, 1, 1)
    step = max(1, _RESIZE_CHUNK_BYTES // max(1, height * width * 3 * 4))
    for start in range(0, count, step):
        x = torch.from_numpy(np.ascontiguousarray(frames[start : start + step])).to(out.device)
        x = x.permute(0, 3, 1, 2).to(torch.float32) / 255.0
        if (rh, rw) != (height, width):
            x = F.interpolate(x, size=(rh, rw), mode=prep.interpolation, align_corners=False, antialias=True)
            x = x.clamp_(0.0, 1.0)
        x = x[:, :, top : top + ih, left : left + iw]
        if normalize:
            x = (x - mean) / std
        out[start : start + step] = x.to(dtype)
    return out, plan.crop_box
