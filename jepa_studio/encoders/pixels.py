"""Pixel baselines that need no weights: raw patches and raw 2-frame tubelets.

They answer "how much of this PCA map is just colour?": a learned encoder whose
map looks like the ``pixels`` map has not shown us anything beyond colour.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch

from .base import NO_WEIGHTS, PatchFeatures, group_frame_indices
from .preprocess import Preprocessing, preprocess_frames


def pad_to_tubelets(x: torch.Tensor, tubelet_size: int) -> torch.Tensor:
    """Repeat the last frame of x [T, ...] until T is a multiple of ``tubelet_size``."""
    rest = (-x.shape[0]) % tubelet_size
    if rest == 0:
        return x
    return torch.cat([x, x[-1:].expand(rest, *x.shape[1:])], dim=0)


def patchify(x: torch.Tensor, patch_size: int, tubelet_size: int = 1) -> torch.Tensor:
    """Video [T, C, H, W] -> tokens [T / tubelet, H / p, W / p, tubelet * C * p * p].

    Each token is its tubelet's values flattened in (time, channel, row, column) order.
    T must be a multiple of ``tubelet_size``; H and W multiples of ``patch_size``.
    """
    t, c, h, w = x.shape
    p, k = patch_size, tubelet_size
    x = x.reshape(t // k, k, c, h // p, p, w // p, p)
    x = x.permute(0, 3, 5, 1, 2, 4, 6)  # T', h, w, k, C, p, p
    return x.reshape(t // k, h // p, w // p, k * c * p * p)


class PixelEncoder:
    """Raw patch values in [0, 1] as tokens (``tubelet_size`` 1: per frame; 2: V-JEPA 2 layout)."""

    pretrained = True  # nothing to train: never labelled "random weights"
    checkpoint = "-"
    weights_note = NO_WEIGHTS
    layer = "last"  # one "layer": the pixels themselves
    final_norm = True

    def __init__(
        self,
        tubelet_size: int = 1,
        patch_size: int = 16,
        preprocessing: Preprocessing | None = None,
        device: torch.device | str = "cpu",
    ) -> None:
        self.name = "pixels" if tubelet_size == 1 else "pixels-tubelet"
        self.tubelet_size = tubelet_size
        self.patch_size = patch_size
        self.preprocessing = preprocessing or Preprocessing()
        self.device = torch.device(device)
        self.dtype = torch.float32

    def encode(self, frames: np.ndarray, frame_indices: Sequence[int] | None = None) -> PatchFeatures:
        """uint8 frames [T, H, W, 3] -> PatchFeatures with tokens [ceil(T / k), h, w, k * 3 * p * p]."""
        if frame_indices is None:
            frame_indices = range(len(frames))
        if len(frame_indices) != len(frames):
            raise ValueError("frame_indices must have one index per frame")
        x, box = preprocess_frames(frames, self.patch_size, self.preprocessing, self.device, normalize=False)
        tokens = patchify(pad_to_tubelets(x, self.tubelet_size), self.patch_size, self.tubelet_size)
        return PatchFeatures(
            tokens=tokens,
            frame_indices=group_frame_indices(frame_indices, self.tubelet_size),
            encoder=self.name,
            checkpoint=self.checkpoint,
            pretrained=True,
            patch_size=self.patch_size,
            tubelet_size=self.tubelet_size,
            input_size=(int(x.shape[2]), int(x.shape[3])),
            crop_box=box,
        )
