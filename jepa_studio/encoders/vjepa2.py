"""V-JEPA 2 (transformers ``VJEPA2Model``) behind the :class:`~.base.Encoder` interface.

Token layout: the 3D patch embedding (a Conv3d with kernel (2, 16, 16)) is flattened in
(time, row, column) order, so ``last_hidden_state`` [B, T/2 * h * w, D] reshapes to
[T/2, h, w, D]; time step t covers source frames 2t and 2t+1.

RoPE grid (a fix over transformers): transformers' ``VJEPA2RopeAttention`` turns a token's
flat index into (time, row, column) assuming a *square* grid of ``crop_size / patch_size``
tokens per side. Any other input (the full-frame mode's non-square grids, or another
resolution) silently gets wrong positions: no error, just wrong features. The original
V-JEPA 2 code takes the grid's height and width as arguments; :func:`rope_grid` restores
that by giving each attention module the real (h, w) grid while it runs. Both the encoder
and the predictor use these modules, so anyone running the predictor on
``encoder.model`` must wrap the call in ``with rope_grid(model, h, w):`` too.

Long clips are encoded in windows of ``window`` frames (even), one forward pass each, and
the tokens concatenated in time: attention spans one window only, so tokens differ from
one pass over the whole clip (as they would for any clip longer than the model was trained
on: 64 frames).
"""

from __future__ import annotations

import contextlib
import types
from typing import Iterator, Sequence

import torch

from .base import PatchFeatures, group_frame_indices
from .pixels import pad_to_tubelets
from .transformers_base import PreparedClip, TransformersEncoder, check_frame_indices


def _grid_position_ids(self: torch.nn.Module, x: torch.Tensor, masks: torch.Tensor | None = None):
    """``VJEPA2RopeAttention.get_position_ids`` with the grid's real height and width."""
    grid = getattr(self, "_jepa_grid", None)
    if grid is None:
        return type(self).get_position_ids(self, x, masks)
    h, w = grid
    if masks is not None:
        ids = masks.unsqueeze(1).repeat(1, self.num_attention_heads, 1)
    else:
        ids = torch.arange(x.size(1), device=x.device)
    per_frame = h * w
    frame_ids = ids // per_frame
    rest = ids - per_frame * frame_ids
    row_ids = rest // w
    col_ids = rest - w * row_ids
    return frame_ids, row_ids, col_ids


def _rope_modules(model: torch.nn.Module) -> list[torch.nn.Module]:
    from transformers.models.vjepa2.modeling_vjepa2 import VJEPA2RopeAttention

    return [m for m in model.modules() if isinstance(m, VJEPA2RopeAttention)]


def install_rope_grid(model: torch.nn.Module) -> None:
    """Let :func:`rope_grid` set the token grid of every RoPE attention module of ``model``.

    Until a grid is set the modules behave exactly as transformers wrote them.
    """
    for module in _rope_modules(model):
        if not hasattr(module, "_jepa_grid"):
            module._jepa_grid = None
            module.get_position_ids = types.MethodType(_grid_position_ids, module)


@contextlib.contextmanager
def rope_grid(model: torch.nn.Module, height: int, width: int) -> Iterator[None]:
    """Within this block, ``model``'s RoPE positions follow an ``height`` x ``width`` token grid.

    Parameters
    ----------
    model: a ``VJEPA2Model`` (encoder and predictor) or any module containing V-JEPA 2 attention.
    height, width: tokens per column and per row (input pixels / patch size).
    """
    install_rope_grid(model)
    modules = _rope_modules(model)
    previous = [m._jepa_grid for m in modules]
    for m in modules:
        m._jepa_grid = (int(height), int(width))
    try:
        yield
    finally:
        for m, grid in zip(modules, previous):
            m._jepa_grid = grid


def tokens_to_grid(hidden: torch.Tensor, steps: int, height: int, width: int) -> torch.Tensor:
    """[B, steps * height * width, D] (time, row, column order) -> [B, steps, height, width, D]."""
    b, n, d = hidden.shape
    if n != steps * height * width:
        raise ValueError(f"{n} tokens do not make a {steps}x{height}x{width} grid")
    return hidden.reshape(b, steps, height, width, d)


class VJepa2Encoder(TransformersEncoder):
    """V-JEPA 2's video encoder: uint8 frames [T, H, W, 3] -> tokens [ceil(T/2), H/16, W/16, D].

    Attributes
    ----------
    model: the full ``VJEPA2Model`` (encoder and predictor; masked prediction needs both).
    window: frames per forward pass (even); longer clips are split and concatenated.
    preprocessing: how frames become input (full frame by default).
    trained_preprocessing: the checkpoint's own resize + centre crop + mean/std.
    """

    tubelet_size = 2

    def __init__(self, model: torch.nn.Module, *, window: int = 16, **kwargs) -> None:
        super().__init__(model, **kwargs)
        self.tubelet_size = int(model.config.tubelet_size)
        self.window = window
        install_rope_grid(model)

    @property
    def window(self) -> int:
        """Frames per forward pass (a positive multiple of the tubelet size)."""
        return self._window

    @window.setter
    def window(self, value: int) -> None:
        if value < self.tubelet_size or value % self.tubelet_size:
            raise ValueError(f"window must be a positive multiple of {self.tubelet_size} frames, not {value}")
        self._window = int(value)

    def forward_window(self, pixels: torch.Tensor) -> torch.Tensor:
        """One forward pass: pixels [T, 3, H, W] (T a multiple of 2) -> float32 tokens [T/2, h, w, D]."""
        return self.forward_windows(pixels.unsqueeze(0))[0]

    @torch.inference_mode()
    def forward_windows(self, pixels: torch.Tensor) -> torch.Tensor:
        """One batched forward pass over B clips of the same length: pixels [B, T, 3, H, W]
        (T a multiple of 2) -> float32 tokens [B, T/2, h, w, D]; clips never see each other."""
        _, t, _, height, width = pixels.shape
        h, w = height // self.patch_size, width // self.patch_size
        x = pixels.to(self.device, self.dtype, non_blocking=True)
        with rope_grid(self.model, h, w):
            hidden = self.model.encoder(pixel_values_videos=x).last_hidden_state
        return tokens_to_grid(hidden, t // self.tubelet_size, h, w).float()

    def encode_prepared(self, clip: PreparedClip, frame_indices: Sequence[int] | None = None) -> PatchFeatures:
        """Encode prepared pixels in windows of ``window`` frames (odd ends padded by repetition)."""
        pixels = clip.pixels
        n = pixels.shape[0]
        frame_indices = check_frame_indices(n, frame_indices)
        if n == 0:
            raise ValueError("no frames to encode")
        parts = []
        for start in range(0, n, self.window):
            chunk = pad_to_tubelets(pixels[start : start + self.window], self.tubelet_size)
            parts.append(self.forward_window(chunk))
        tokens = torch.cat(parts, dim=0)
        return PatchFeatures(
            tokens=tokens,
            frame_indices=group_frame_indices(frame_indices, self.tubelet_size),
            encoder=self.name,
            checkpoint=self.checkpoint,
            pretrained=self.pretrained,
            patch_size=self.patch_size,
            tubelet_size=self.tubelet_size,
            input_size=(int(pixels.shape[2]), int(pixels.shape[3])),
            crop_box=clip.crop_box,
        )

