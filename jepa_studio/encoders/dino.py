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

import torch

from .base import PatchFeatures
from .transformers_base import PreparedClip, TransformersEncoder, check_frame_indices


def prefix_tokens(model: torch.nn.Module) -> int:
    """How many tokens precede the patch tokens: 1 (CLS) + the model's register tokens."""
    return 1 + int(getattr(model.config, "num_register_tokens", 0) or 0)


class DinoEncoder(TransformersEncoder):
    """DINOv2 / DINOv3: uint8 frames [T, H, W, 3] -> tokens [T, H/p, W/p, D] and CLS [T, D].

    Attributes
    ----------
    model: the transformers model (``Dinov2Model``, ``Dinov2WithRegistersModel``, ``DINOv3ViTModel``).
    batch_size: frames per forward pass.
    preprocessing / trained_preprocessing: as for :class:`~.vjepa2.VJepa2Encoder`.
    """

    tubelet_size = 1

    def __init__(self, model: torch.nn.Module, *, batch_size: int = 16, **kwargs) -> None:
        super().__init__(model, **kwargs)
        self.num_prefix = prefix_tokens(model)
        if batch_size < 1:
            raise ValueError("batch_size must be positive")
        self.batch_size = int(batch_size)

    @property
    def window(self) -> int:
        """Frames per forward pass (the batch size; the name the extractor uses for every encoder)."""
        return self.batch_size

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
        frame_indices = check_frame_indices(n, frame_indices)
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
