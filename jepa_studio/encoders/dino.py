"""DINOv2, DINOv2 with registers and DINOv3 behind the :class:`~.base.Encoder` interface.

Image encoders: each frame is encoded on its own (frames are batched for speed), so time
step t covers exactly one source frame. ``last_hidden_state`` [B, 1 + R + h*w, D] holds the
CLS token, then R register tokens (R = 0 for DINOv2, ``config.num_register_tokens`` for
DINOv2 with registers (4) and DINOv3 (4)), then the patch tokens in row-major order.

Any input size works: DINOv2 interpolates its learned position embeddings (bicubic) to the
h x w grid, DINOv3 uses RoPE on normalised patch coordinates, so non-square full-frame
inputs are fine (tests check the token layout on a non-square grid).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch

from .base import PatchFeatures
from .preprocess import Preprocessing, preprocess_frames
from .vjepa2 import PreparedClip


def prefix_tokens(model: torch.nn.Module) -> int:
    """How many tokens precede the patch tokens: 1 (CLS) + the model's register tokens."""
    return 1 + int(getattr(model.config, "num_register_tokens", 0) or 0)


class DinoEncoder:
    """DINOv2 / DINOv3: uint8 frames [T, H, W, 3] -> tokens [T, H/p, W/p, D] and CLS [T, D].

    Attributes
    ----------
    model: the transformers model (``Dinov2Model``, ``Dinov2WithRegistersModel``, ``DINOv3ViTModel``).
    batch_size: frames per forward pass.
    preprocessing / trained_preprocessing: as for :class:`~.vjepa2.VJepa2Encoder`.
    """

    tubelet_size = 1

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
        batch_size: int = 16,
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
        self.num_prefix = prefix_tokens(model)
        if batch_size < 1:
            raise ValueError("batch_size must be positive")
        self.batch_size = int(batch_size)

    @property
    def window(self) -> int:
        """Frames per forward pass (the batch size; the name the extractor uses for every encoder)."""
        return self.batch_size

    @property
    def dim(self) -> int:
        """D, the token dimension."""
        return int(self.model.config.hidden_size)

    def prepare(self, frames: np.ndarray, device: torch.device | str | None = None) -> PreparedClip:
        """uint8 frames [T, H, W, 3] -> normalised float32 pixels [T, 3, H', W'] on ``device``."""
        x, box = preprocess_frames(frames, self.patch_size, self.preprocessing, device or self.device)
        return PreparedClip(x, box)

    @torch.inference_mode()
    def forward_window(self, pixels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """One forward pass: pixels [B, 3, H, W] -> float32 (tokens [B, h, w, D], cls [B, D])."""
        b, _, height, width = pixels.shape
        h, w = height // self.patch_size, width // self.patch_size
        x = pixels.to(self.device, self.dtype, non_blocking=True)
        hidden = self.model(pixel_values=x).last_hidden_state
        patches = hidden[:, self.num_prefix :]
        if patches.shape[1] != h * w:
            raise RuntimeError(f"expected {h * w} patch tokens, got {patches.shape[1]}")
        return patches.reshape(b, h, w, -1).float(), hidden[:, 0].float()

    def encode_prepared(self, clip: PreparedClip, frame_indices: Sequence[int] | None = None) -> PatchFeatures:
        """Encode prepared pixels [T, 3, H, W] in batches of ``batch_size`` frames."""
        pixels = clip.pixels
        n = pixels.shape[0]
        if frame_indices is None:
            frame_indices = range(n)
        if len(frame_indices) != n:
            raise ValueError("frame_indices must have one index per frame")
        if n == 0:
            raise ValueError("no frames to encode")
        tokens, cls = [], []
        for start in range(0, n, self.batch_size):
            t, c = self.forward_window(pixels[start : start + self.batch_size])
            tokens.append(t)
            cls.append(c)
        return PatchFeatures(
            tokens=torch.cat(tokens, dim=0),
            frame_indices=tuple((int(i),) for i in frame_indices),
            encoder=self.name,
            checkpoint=self.checkpoint,
            pretrained=self.pretrained,
            patch_size=self.patch_size,
            tubelet_size=1,
            input_size=(int(pixels.shape[2]), int(pixels.shape[3])),
            crop_box=clip.crop_box,
            cls=torch.cat(cls, dim=0),
        )

    def encode(self, frames: np.ndarray, frame_indices: Sequence[int] | None = None) -> PatchFeatures:
        """uint8 frames [T, H, W, 3] -> PatchFeatures: tokens float32 [T, h, w, D], cls [T, D]."""
        from .vjepa2 import concat_features

        if frame_indices is None:
            frame_indices = range(len(frames))
        if len(frame_indices) != len(frames):
            raise ValueError("frame_indices must have one index per frame")
        b = self.batch_size
        parts = [
            self.encode_prepared(self.prepare(frames[s : s + b]), frame_indices[s : s + b])
            for s in range(0, len(frames), b)
        ]
        return parts[0] if len(parts) == 1 else concat_features(parts)
