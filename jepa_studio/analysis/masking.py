"""From a mask painted in source-frame pixels to the tokens an encoder must not see.

A mask is painted once, in the pixels of the source video (:class:`PixelMask`: a bool
[H, W] image plus the source frames it applies to), so the same mask can be compared
across encoders whose token grids differ (16 px patches and 2-frame tubelets for
V-JEPA 2, 14 px patches per frame for DINOv2). :class:`TokenGrid` says where each token
of one encoder comes from; :func:`token_mask` turns the pixel mask into a bool
[T', h, w] mask of hidden tokens, and :func:`token_ids` into the flat token indices
(time, row, column order) that V-JEPA 2 uses.

The rule at boundaries is conservative, so that nothing hidden can leak into a visible
token: a token is hidden when *more than* ``threshold`` of the source pixels it overlaps
are masked (``threshold=0``, the default: any masked pixel hides it), and a time step is
hidden when any frame it covers is masked (a 2-frame tubelet is hidden when either of its
frames is). With a resize between source and input, a source pixel that straddles two
patches counts for both.

Presets, in pixels so they mean the same for every encoder: :func:`centre_block`,
:func:`random_tubes` (seeded; blocks through the whole clip), and :func:`future_frames`
(the last ``k`` time steps, hidden completely).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import torch

from ..encoders.base import PatchFeatures, group_frame_indices
from ..encoders.preprocess import Preprocessing, plan_resize
from ..errors import UsageError

PRESETS: tuple[str, ...] = ("centre", "tubes", "future")


@dataclass(frozen=True)
class PixelMask:
    """A mask in source-frame pixels.

    Attributes
    ----------
    pixels:
        bool [H, W], True where the frame is hidden (source-frame pixels).
    frames:
        source frame indices the mask applies to; None for every frame of the clip.
    """

    pixels: np.ndarray
    frames: frozenset[int] | None = field(default=None)

    def __post_init__(self) -> None:
        if self.pixels.ndim != 2:
            raise UsageError(f"a mask must be a 2-D image [H, W], got shape {self.pixels.shape}")
        if self.pixels.dtype != np.bool_:
            object.__setattr__(self, "pixels", self.pixels.astype(bool))
        if self.frames is not None and not isinstance(self.frames, frozenset):
            object.__setattr__(self, "frames", frozenset(int(f) for f in self.frames))

    @property
    def size(self) -> tuple[int, int]:
        """(H, W) in source pixels."""
        return int(self.pixels.shape[0]), int(self.pixels.shape[1])

    def applies_to(self, frame: int) -> bool:
        """Whether the mask hides anything in source frame ``frame``."""
        return self.frames is None or int(frame) in self.frames

    def frame_masks(self, frame_indices: Sequence[int]) -> np.ndarray:
        """bool [T, H, W]: the mask of each given source frame (all False where it does not apply)."""
        out = np.zeros((len(frame_indices), *self.pixels.shape), dtype=bool)
        for i, f in enumerate(frame_indices):
            if self.applies_to(f):
                out[i] = self.pixels
        return out


@dataclass(frozen=True)
class TokenGrid:
    """Where each token of one encoder's clip comes from, in source pixels and frames.

    Attributes
    ----------
    frame_indices:
        length T'; the source frames each time step covers.
    shape:
        (h, w), tokens per column and row.
    patch_size:
        input pixels per token side.
    input_size:
        (H_in, W_in) of the preprocessed model input, ``= (h, w) * patch_size``.
    crop_box:
        (x0, y0, x1, y1): the source-frame region the input was resized from.
    """

    frame_indices: tuple[tuple[int, ...], ...]
    shape: tuple[int, int]
    patch_size: int
    input_size: tuple[int, int]
    crop_box: tuple[int, int, int, int]

    @property
    def size(self) -> tuple[int, int, int]:
        """(T', h, w)."""
        return len(self.frame_indices), self.shape[0], self.shape[1]

    @property
    def n_tokens(self) -> int:
        """T' * h * w."""
        t, h, w = self.size
        return t * h * w

    @classmethod
    def from_features(cls, features: PatchFeatures) -> "TokenGrid":
        """The grid of already computed features."""
        _, h, w = features.grid
        return cls(
            frame_indices=tuple(tuple(int(i) for i in f) for f in features.frame_indices),
            shape=(h, w),
            patch_size=int(features.patch_size),
            input_size=(int(features.input_size[0]), int(features.input_size[1])),
            crop_box=tuple(int(v) for v in features.crop_box),  # type: ignore[arg-type]
        )

    @classmethod
    def plan(
        cls,
        source_size: tuple[int, int],
        frame_indices: Sequence[int],
        patch_size: int,
        tubelet_size: int,
        preprocessing: Preprocessing,
    ) -> "TokenGrid":
        """The grid an encoder with these settings gives for frames of ``source_size`` (H, W)."""
        _, input_size, box = plan_resize(int(source_size[0]), int(source_size[1]), patch_size, preprocessing)
        return cls(
            frame_indices=group_frame_indices(frame_indices, tubelet_size),
            shape=(input_size[0] // patch_size, input_size[1] // patch_size),
            patch_size=int(patch_size),
            input_size=(int(input_size[0]), int(input_size[1])),
            crop_box=box,
        )

    def pixel_bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """Source pixels each token overlaps.

        Returns
        -------
        rows: int64 [h, 2], ``[start, stop)`` of source rows under each token row.
        cols: int64 [w, 2], ``[start, stop)`` of source columns under each token column.
        """
        x0, y0, x1, y1 = self.crop_box
        h, w = self.shape
        p = self.patch_size

        def bounds(n: int, start: int, stop: int, size_in: int) -> np.ndarray:
            scale = (stop - start) / size_in  # source pixels per input pixel
            edges = start + np.arange(n + 1, dtype=np.float64) * p * scale
            lo = np.floor(edges[:-1] + 1e-9).astype(np.int64)
            hi = np.ceil(edges[1:] - 1e-9).astype(np.int64)
            lo = np.clip(lo, start, stop - 1)
            hi = np.clip(np.maximum(hi, lo + 1), start + 1, stop)
            return np.stack([lo, hi], axis=1)

        return bounds(h, y0, y1, self.input_size[0]), bounds(w, x0, x1, self.input_size[1])

    def resample_reach(self) -> int:
        """How far (source pixels) a source pixel can spread when the frame is resized.

        Antialiased bicubic resampling (the widest kernel preprocessing uses) reads 2 input
        pixels either side, i.e. ``2 * scale`` source pixels when shrinking and 2 when
        enlarging; 0 when the frame is not resized at all.
        """
        x0, y0, x1, y1 = self.crop_box
        sy = (y1 - y0) / self.input_size[0]
        sx = (x1 - x0) / self.input_size[1]
        if abs(sy - 1.0) < 1e-9 and abs(sx - 1.0) < 1e-9:
            return 0
        return int(np.ceil(2.0 * max(sy, sx, 1.0))) + 1


def token_coverage(pixels: np.ndarray, grid: TokenGrid) -> np.ndarray:
    """Fraction of the source pixels under each token that are masked.

    Parameters
    ----------
    pixels: bool [H, W] in source pixels (the crop box of ``grid`` must lie inside).
    grid: the encoder's token grid.

    Returns
    -------
    float64 [h, w] in [0, 1].
    """
    x0, y0, x1, y1 = grid.crop_box
    height, width = pixels.shape
    if x1 > width or y1 > height or x0 < 0 or y0 < 0:
        raise UsageError(
            f"the mask is {width}x{height} pixels but the encoder reads the region "
            f"({x0}, {y0})-({x1}, {y1}) of the frame: paint the mask on a frame of this video"
        )
    integral = np.zeros((height + 1, width + 1), dtype=np.int64)
    integral[1:, 1:] = np.cumsum(np.cumsum(pixels.astype(np.int64), axis=0), axis=1)
    rows, cols = grid.pixel_bounds()
    r0, r1 = rows[:, 0][:, None], rows[:, 1][:, None]
    c0, c1 = cols[:, 0][None, :], cols[:, 1][None, :]
    count = integral[r1, c1] - integral[r0, c1] - integral[r1, c0] + integral[r0, c0]
    area = (r1 - r0) * (c1 - c0)
    return count / area


def dilate(pixels: np.ndarray, radius: int) -> np.ndarray:
    """bool [H, W] grown by ``radius`` pixels in every direction (a square structuring element)."""
    if radius <= 0 or not pixels.any():
        return pixels
    height, width = pixels.shape
    integral = np.zeros((height + 1, width + 1), dtype=np.int64)
    integral[1:, 1:] = np.cumsum(np.cumsum(pixels.astype(np.int64), axis=0), axis=1)
    r0 = np.clip(np.arange(height) - radius, 0, height)[:, None]
    r1 = np.clip(np.arange(height) + radius + 1, 0, height)[:, None]
    c0 = np.clip(np.arange(width) - radius, 0, width)[None, :]
    c1 = np.clip(np.arange(width) + radius + 1, 0, width)[None, :]
    return (integral[r1, c1] - integral[r0, c1] - integral[r1, c0] + integral[r0, c0]) > 0


def token_mask(mask: PixelMask, grid: TokenGrid, threshold: float = 0.0) -> np.ndarray:
    """Which tokens a pixel mask hides.

    Parameters
    ----------
    mask: the pixel mask (and the frames it applies to).
    grid: the encoder's token grid.
    threshold: a token is hidden when more than this fraction of its pixels is masked
        (0: any masked pixel hides it, so nothing hidden leaks into a visible token).

    Returns
    -------
    bool [T', h, w], True for hidden tokens. A time step is hidden where the mask applies
    to any of the frames it covers.
    """
    if not 0.0 <= threshold < 1.0:
        raise UsageError(f"the token threshold must be in [0, 1), not {threshold}")
    pixels = mask.pixels
    if threshold == 0.0:
        # A masked pixel also reaches the tokens next to it through the resize kernel:
        # hide those too, so that nothing under the mask can leak into a visible token.
        pixels = dilate(pixels, grid.resample_reach())
    spatial = token_coverage(pixels, grid) > threshold
    steps = np.array([any(mask.applies_to(f) for f in frames) for frames in grid.frame_indices], dtype=bool)
    return np.ascontiguousarray(steps[:, None, None] & spatial[None, :, :])


def token_ids(hidden: np.ndarray | torch.Tensor) -> torch.Tensor:
    """Flat token indices (time, row, column order) of the True entries of a [T', h, w] mask.

    Returns int64 [K], sorted. ``token_ids(~hidden)`` gives the visible (context) tokens.
    """
    flat = torch.as_tensor(np.asarray(hidden) if not isinstance(hidden, torch.Tensor) else hidden)
    return torch.nonzero(flat.reshape(-1), as_tuple=False).reshape(-1).to(torch.int64)


# ---------------------------------------------------------------- presets


def centre_block(height: int, width: int, fraction: float = 0.5) -> np.ndarray:
    """bool [H, W]: a centred block ``fraction`` of the frame's height and width."""
    if not 0.0 < fraction <= 1.0:
        raise UsageError(f"the centre block fraction must be in (0, 1], not {fraction}")
    out = np.zeros((height, width), dtype=bool)
    bh, bw = max(1, round(height * fraction)), max(1, round(width * fraction))
    top, left = (height - bh) // 2, (width - bw) // 2
    out[top : top + bh, left : left + bw] = True
    return out


def random_tubes(
    height: int,
    width: int,
    n_blocks: int = 8,
    scale: float = 0.15,
    aspect: tuple[float, float] = (0.75, 1.5),
    seed: int = 0,
) -> np.ndarray:
    """bool [H, W]: the union of ``n_blocks`` random rectangles, each ``scale`` of the frame's area.

    Like V-JEPA's short-range masks: applied to every frame of the clip, the blocks are
    tubes through time. Aspect ratios (height / width) are drawn log-uniformly from
    ``aspect``; positions uniformly. Deterministic for a given ``seed``.
    """
    if not 0.0 < scale <= 1.0:
        raise UsageError(f"the tube scale must be in (0, 1], not {scale}")
    rng = np.random.default_rng(seed)
    out = np.zeros((height, width), dtype=bool)
    for _ in range(max(0, int(n_blocks))):
        ratio = float(np.exp(rng.uniform(np.log(aspect[0]), np.log(aspect[1]))))
        area = scale * height * width
        bh = int(np.clip(round(np.sqrt(area * ratio)), 1, height))
        bw = int(np.clip(round(np.sqrt(area / ratio)), 1, width))
        top = int(rng.integers(0, height - bh + 1))
        left = int(rng.integers(0, width - bw + 1))
        out[top : top + bh, left : left + bw] = True
    return out


def tokens_to_pixels(tokens: np.ndarray, grid: TokenGrid, frame_size: tuple[int, int]) -> np.ndarray:
    """The pixel mask that hides ``tokens`` of ``grid`` and no other token (at threshold 0).

    Parameters
    ----------
    tokens: bool [h, w], the tokens to hide.
    grid: the encoder's token grid; frame_size: (H, W) of the source frames.

    Returns
    -------
    bool [H, W]: the hidden tokens' source pixels, less those within the resize kernel's
    reach of a visible token's pixels (a masked pixel reaches that far). A token narrower
    than twice that reach, between visible ones, may keep no pixel and stay visible.
    """
    rows, cols = grid.pixel_bounds()
    hidden = np.zeros(tuple(int(v) for v in frame_size), dtype=bool)
    visible = np.zeros_like(hidden)
    for (r, c), hide in np.ndenumerate(tokens):
        target = hidden if hide else visible
        target[rows[r, 0] : rows[r, 1], cols[c, 0] : cols[c, 1]] = True
    return hidden & ~dilate(visible, grid.resample_reach())


def centre_tokens(shape: tuple[int, int], fraction: float = 0.5) -> np.ndarray:
    """bool [h, w]: the centred block of ``fraction`` of the token rows and columns: at least
    one token, never every token (a one-token grid has nothing it could hide)."""
    h, w = shape
    out = np.zeros((h, w), dtype=bool)
    if h * w < 2:
        return out
    bh, bw = int(np.clip(round(h * fraction), 1, h)), int(np.clip(round(w * fraction), 1, w))
    if bh * bw == h * w:  # it would hide everything: leave a column (or a row) as context
        bw, bh = (w - 1, bh) if w > 1 else (bw, h - 1)
    top, left = (h - bh) // 2, (w - bw) // 2
    out[top : top + bh, left : left + bw] = True
    return out


def random_token_tubes(shape: tuple[int, int], share: float = 0.4, seed: int = 0) -> np.ndarray:
    """bool [h, w]: random rectangles of tokens covering about ``share`` of the grid (at most
    all but one token), seeded; as tubes through time they are V-JEPA's short-range masks."""
    h, w = shape
    out = np.zeros((h, w), dtype=bool)
    if h * w < 2:
        return out
    rng = np.random.default_rng(seed)
    target = min(h * w - 1, max(1, round(share * h * w)))
    while out.sum() < target:
        bh = int(rng.integers(1, max(1, h // 2) + 1))
        bw = int(rng.integers(1, max(1, w // 2) + 1))
        top, left = int(rng.integers(0, h - bh + 1)), int(rng.integers(0, w - bw + 1))
        block = out.copy()
        block[top : top + bh, left : left + bw] = True
        if block.sum() <= target:
            out = block
        elif not out.any():  # even the smallest block is too large: one token
            out[top, left] = True
    return out


def future_frames(frame_indices: Sequence[int], k: int, tubelet_size: int = 2) -> frozenset[int]:
    """Source frames of the last ``k`` time steps of a clip (``tubelet_size`` frames per step).

    With the default tubelet of 2 (V-JEPA 2's time step), image encoders hide the same
    frames, so the comparison is fair.
    """
    steps = group_frame_indices(frame_indices, tubelet_size)
    if not 1 <= k < len(steps):
        raise UsageError(
            f"the future preset hides the last k time steps and keeps at least one: k must be "
            f"between 1 and {len(steps) - 1} for this {len(frame_indices)}-frame clip, not {k}"
        )
    return frozenset(f for step in steps[-k:] for f in step)


def preset_mask(
    name: str,
    frame_size: tuple[int, int],
    frame_indices: Sequence[int],
    *,
    fraction: float = 0.5,
    n_blocks: int = 8,
    scale: float = 0.15,
    future_steps: int | None = None,
    tubelet_size: int = 2,
    seed: int = 0,
    grid: TokenGrid | None = None,
) -> PixelMask:
    """One of the preset masks for frames of ``frame_size`` (H, W).

    ``"centre"``: :func:`centre_block` on every frame; ``"tubes"``: :func:`random_tubes`
    on every frame; ``"future"``: whole frames of the last ``future_steps`` time steps
    (default: the second half of the clip). With the encoder's token ``grid``, the centre
    block and the tubes are drawn in tokens (:func:`centre_tokens`, :func:`random_token_tubes`)
    and hide exactly those, so a coarse grid keeps its context.
    """
    height, width = int(frame_size[0]), int(frame_size[1])
    if name in ("centre", "tubes") and grid is not None:
        tokens = centre_tokens(grid.shape, fraction) if name == "centre" else random_token_tubes(grid.shape, seed=seed)
        return PixelMask(tokens_to_pixels(tokens, grid, (height, width)))
    if name == "centre":
        return PixelMask(centre_block(height, width, fraction))
    if name == "tubes":
        return PixelMask(random_tubes(height, width, n_blocks, scale, seed=seed))
    if name == "future":
        n_steps = len(group_frame_indices(frame_indices, tubelet_size))
        k = max(1, n_steps // 2) if future_steps is None else int(future_steps)
        return PixelMask(np.ones((height, width), dtype=bool), future_frames(frame_indices, k, tubelet_size))
    raise UsageError(f"unknown mask preset {name!r}; choose one of {', '.join(PRESETS)}")


#: the PNG text chunk that names the source frames a mask applies to (absent: all)
FRAMES_KEY = "jepa_studio_frames"


def read_mask_png(path: str | os.PathLike[str]) -> tuple[np.ndarray, frozenset[int] | None]:
    """Read a mask image: (bool [H, W], frames or None).

    Greyscale or RGB: pixels brighter than half are hidden. With an alpha channel that is
    not fully opaque: opaque pixels are hidden. The frames come from our text chunk
    (absent: the whole clip).
    """
    from PIL import Image, UnidentifiedImageError

    name = os.fspath(path)
    try:
        with Image.open(name) as image:
            image.load()
            text = dict(getattr(image, "text", {}) or {})
            if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
                alpha = np.asarray(image.convert("RGBA"))[..., 3]
                pixels = alpha > 127 if alpha.min() < 255 else np.asarray(image.convert("L")) > 127
            else:
                pixels = np.asarray(image.convert("L")) > 127
    except FileNotFoundError:
        raise UsageError(f"no mask file at {name}") from None
    except (UnidentifiedImageError, OSError) as error:
        raise UsageError(f"cannot read the mask {name}: not an image Pillow can open ({error})") from None
    frames: frozenset[int] | None = None
    value = text.get(FRAMES_KEY, "all").strip()
    if value and value != "all":
        try:
            frames = frozenset(int(v) for v in value.split(",") if v.strip())
        except ValueError:
            raise UsageError(f"the mask {name} names frames {value!r} that are not whole numbers") from None
    return np.ascontiguousarray(pixels, dtype=bool), frames
