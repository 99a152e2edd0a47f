"""What the transformers-backed encoders (V-JEPA 2, DINO) share: construction, input
preparation, and encoding a long clip in windows."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Sequence

import numpy as np
import torch

from .base import PatchFeatures
from .preprocess import Preprocessing, preprocess_frames


@dataclass(frozen=True)
class PreparedClip:
    """Frames ready for the model: ``pixels`` float [T, 3, H, W] (normalised) and the crop box."""

    pixels: torch.Tensor
    crop_box: tuple[int, int, int, int]


def concat_features(parts: Sequence[PatchFeatures]) -> PatchFeatures:
    """Concatenate PatchFeatures of consecutive clips (same encoder and grid) along time."""
    first = parts[0]
    cls = None if first.cls is None else torch.cat([p.cls for p in parts], dim=0)
    return replace(
        first,
        tokens=torch.cat([p.tokens for p in parts], dim=0),
        frame_indices=tuple(g for p in parts for g in p.frame_indices),
        cls=cls,
    )


def check_frame_indices(n_frames: int, frame_indices: Sequence[int] | None) -> Sequence[int]:
    """``frame_indices`` (default ``0..n-1``), checked to have one index per frame."""
    if frame_indices is None:
        return range(n_frames)
    if len(frame_indices) != n_frames:
        raise ValueError("frame_indices must have one index per frame")
    return frame_indices


class TransformersEncoder:
    """Base of encoders around a transformers model.

    Subclasses set ``tubelet_size``, define ``window`` (frames per forward pass) and
    ``encode_prepared(clip, frame_indices) -> PatchFeatures``.

    Attributes
    ----------
    model: the transformers model.
    name, checkpoint, pretrained: what the features are labelled with.
    device, dtype: where and in which precision the model runs.
    preprocessing: how frames become input (full frame by default).
    trained_preprocessing: the checkpoint's own resize + centre crop + mean/std.
    """

    tubelet_size = 1
    window: int

    def __init__(
        self,
        model: torch.nn.Module,
        *,
        name: str,
        checkpoint: str,
        pretrained: bool,
        device: torch.device,
        dtype: torch.dtype,
        preprocessing: Preprocessing,
        trained_preprocessing: Preprocessing,
    ) -> None:
        self.model = model
        self.name = name
        self.checkpoint = checkpoint
        self.pretrained = pretrained
        self.device = torch.device(device)
        self.dtype = dtype
        self.preprocessing = preprocessing
        self.trained_preprocessing = trained_preprocessing
        patch = model.config.patch_size
        self.patch_size = int(patch if isinstance(patch, int) else patch[0])

    @property
    def dim(self) -> int:
        """D, the token dimension."""
        return int(self.model.config.hidden_size)

    def prepare(self, frames: np.ndarray, device: torch.device | str | None = None) -> PreparedClip:
        """uint8 frames [T, H, W, 3] -> normalised float32 pixels [T, 3, H', W'] on ``device``."""
        x, box = preprocess_frames(frames, self.patch_size, self.preprocessing, device or self.device)
        return PreparedClip(x, box)

    def encode_prepared(self, clip: PreparedClip, frame_indices: Sequence[int] | None = None) -> PatchFeatures:
        raise NotImplementedError

    def encode(self, frames: np.ndarray, frame_indices: Sequence[int] | None = None) -> PatchFeatures:
        """uint8 frames [T, H, W, 3] -> PatchFeatures (tokens float32 [T', h, w, D]).

        ``frame_indices`` (length T, default 0..T-1) are the frames' source indices. Frames
        are preprocessed one window at a time, so memory does not grow with T beyond the
        frames and tokens themselves.
        """
        frame_indices = check_frame_indices(len(frames), frame_indices)
        w = self.window
        parts = [
            self.encode_prepared(self.prepare(frames[s : s + w]), frame_indices[s : s + w])
            for s in range(0, len(frames), w)
        ]
        if not parts:
            raise ValueError("no frames to encode")
        return parts[0] if len(parts) == 1 else concat_features(parts)
