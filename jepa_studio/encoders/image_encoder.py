"""Image vision transformers (DINOv2, DINOv3, ViT, I-JEPA, SigLIP ...) behind the
:class:`~.base.Encoder` interface.

Each frame is encoded on its own (frames are batched for speed), so time step t covers
exactly one source frame. The model's output [B, P + h*w, D] holds P prefix tokens (CLS,
registers, distillation; P from the config, see :class:`~.family.ImageFamily`) and then the
patch tokens in row-major order. P is checked against every forward pass: a model whose
output has another number of tokens before its patches is refused with an
:class:`~jepa_studio.errors.EncoderError` (its patch tokens would be misplaced otherwise).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import torch

from ..errors import EncoderError
from .base import PatchFeatures
from .family import EncoderFamily, config_value
from .transformers_base import PreparedClip, TransformersEncoder


class ImageEncoder(TransformersEncoder):
    """An image transformer: uint8 frames [T, H, W, 3] -> tokens [T, H/p, W/p, D] (and CLS [T, D]).

    Attributes
    ----------
    model: the transformers model (``Dinov2Model``, ``DINOv3ViTModel``, ``ViTModel`` ...).
    family: its :class:`~.family.ImageFamily` (default: found from ``model.config.model_type``).
    num_prefix: P, tokens before the patch tokens.
    batch_size: frames per forward pass.
    preprocessing / trained_preprocessing, layer / final_norm: see
    :class:`~.transformers_base.TransformersEncoder`.
    """

    tubelet_size = 1

    def __init__(self, model: torch.nn.Module, *, family: ImageFamily | None = None, batch_size: int = 16,
                 **kwargs: Any) -> None:
        super().__init__(model, **kwargs)
        if family is None:
            from .families import family_of_model

            found = family_of_model(model)
            if not isinstance(found, ImageFamily):
                raise EncoderError(f"{type(model).__name__} is not an image encoder JEPA Studio knows")
            family = found
        self.family = family
        self.num_prefix = family.prefix_tokens(model.config)
        if batch_size < 1:
            raise ValueError("batch_size must be positive")
        self.batch_size = int(batch_size)

    @property
    def window(self) -> int:
        """Frames per forward pass (the batch size; the name the extractor uses for every encoder)."""
        return self.batch_size

    def _hidden(self, x: torch.Tensor) -> torch.Tensor:
        """[B, P + h*w, D]: the chosen layer's output for pixels ``x`` [B, 3, H, W]."""
        kwargs = dict(self.family.forward_kwargs)
        if self.layer == "last" and self.final_norm:
            return self.model(pixel_values=x, **kwargs).last_hidden_state
        hidden = self.model(pixel_values=x, output_hidden_states=True, **kwargs).hidden_states[self.layer_index]
        return self.family.final_norm(self.model)(hidden) if self.final_norm else hidden

    @torch.inference_mode()
    def forward_window(self, pixels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """One forward pass: pixels [B, 3, H, W] -> float32 (tokens [B, h, w, D], cls [B, D] or None)."""
        b, _, height, width = pixels.shape
        h, w = height // self.patch_size, width // self.patch_size
        hidden = self._hidden(pixels.to(self.device, self.dtype, non_blocking=True))
        found = hidden.shape[1] - h * w
        if found != self.num_prefix:
            raise EncoderError(
                f"{self.name}: the model returned {hidden.shape[1]} tokens for a {h}x{w} patch grid, so {found} "
                f"precede the patches, but its config says {self.num_prefix} (CLS, registers, distillation "
                f"tokens); JEPA Studio cannot tell which tokens are patches in this {self.family.name} checkpoint"
            )
        patches = hidden[:, self.num_prefix :].reshape(b, h, w, -1).float()
        cls = hidden[:, 0].float() if self.family.class_tokens else None
        return patches, cls

    def encode_frames(self, clip: PreparedClip, frame_indices: Sequence[int]) -> PatchFeatures:
        """Encode prepared pixels [T, 3, H, W] in batches of ``batch_size`` frames."""
        pixels = clip.pixels
        tokens, cls = [], []
        for start in range(0, pixels.shape[0], self.batch_size):
            t, c = self.forward_window(pixels[start : start + self.batch_size])
            tokens.append(t)
            cls.append(c)
        return self.features(
            torch.cat(tokens, dim=0),
            tuple((int(i),) for i in frame_indices),
            clip,
            cls=None if cls[0] is None else torch.cat(cls, dim=0),
        )


@dataclass(frozen=True)
class ImageFamily(EncoderFamily):
    """An image vision transformer: ``model(pixel_values=[B, 3, H, W])`` returns
    ``last_hidden_state`` [B, P + h*w, D], P prefix tokens then the patch tokens row by row.

    Attributes
    ----------
    class_tokens: tokens before the registers: 1 for a CLS token, 2 for CLS + distillation,
        0 for none. P = class_tokens + ``config.num_register_tokens`` (0 when absent); the
        encoder checks P against the model's own output.
    norm: attribute name of the model's final norm (applied to ``hidden_states[-1]`` to give
        ``last_hidden_state``; applied to other layers when the final norm is asked for).
    forward_kwargs: extra keyword arguments of the forward pass, such as
        ``interpolate_pos_encoding=True`` for models with a fixed position table.
    """

    class_tokens: int = 1
    norm: str = "layernorm"
    forward_kwargs: Mapping[str, Any] = field(default_factory=dict)

    def prefix_tokens(self, config: Any) -> int:
        """P, how many tokens precede the patch tokens, from the model config."""
        return int(self.class_tokens) + int(config_value(config, "num_register_tokens", 0) or 0)

    def final_norm(self, model: torch.nn.Module) -> torch.nn.Module:
        """The model's final norm module."""
        return getattr(model, self.norm)

    def make_encoder(self, model: torch.nn.Module, *, window: int | None = None, **settings: Any) -> ImageEncoder:
        return ImageEncoder(model, family=self, batch_size=window or self.default_window, **settings)
