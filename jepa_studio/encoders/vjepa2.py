"""V-JEPA 2 (transformers ``VJEPA2Model``) behind the :class:`~.base.Encoder` interface.

Token layout: the 3D patch embedding (a Conv3d with kernel (2, 16, 16)) is flattened in
(time, row, column) order, so the encoder's output [B, T/2 * h * w, D] reshapes to
[T/2, h, w, D]; time step t covers source frames 2t and 2t+1.

RoPE grid (a fix over transformers, and the one position mechanism JEPA Studio uses):
transformers' ``VJEPA2RopeAttention`` turns a token's flat index into (time, row, column)
assuming a *square* grid of ``crop_size / patch_size`` tokens per side. Any other input
(the full-frame mode's non-square grids, or another resolution) silently gets wrong
positions: no error, just wrong features. The original V-JEPA 2 code takes the grid's
height and width as arguments; :func:`rope_grid` restores that by giving each attention
module the real (h, w) grid while it runs. Within it, a token's flat (time, row, column)
index on the true grid *is* its position id: for the whole clip, for the kept tokens of a
masked clip (``position_mask`` = their flat ids, see :func:`encode_tokens`), and for the
predictor's context and target masks (:func:`predict_tokens`).

Layers: :func:`encode_tokens` runs embeddings -> blocks -> final norm itself, so it can
stop after any block and leave out the final norm; ``hidden_states[i]`` of transformers'
``output_hidden_states=True`` is the output of block i (0: the embeddings).

Long clips are encoded in windows of ``window`` frames (even), one forward pass each, and
the tokens concatenated in time: attention spans one window only, so tokens differ from
one pass over the whole clip (as they would for any clip longer than the model was trained
on: 64 frames).
"""

from __future__ import annotations

import contextlib
import types
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterator, Mapping, Sequence

import torch

from ..errors import UsageError
from .base import Encoder, PatchFeatures, group_frame_indices
from .family import EncoderFamily
from .pixels import pad_to_tubelets
from .preprocess import Preprocessing
from .transformers_base import PreparedClip, TransformersEncoder

if TYPE_CHECKING:
    from .predictor import TokenPredictor


def _grid_position_ids(self: torch.nn.Module, x: torch.Tensor, masks: torch.Tensor | None = None):
    """``VJEPA2RopeAttention.get_position_ids`` with the grid's real height and width."""
    grid = getattr(self, "_jepa_grid", None)
    if grid is None:
        return type(self).get_position_ids(self, x, masks)
    h, w = grid
    if masks is not None:
        # one sequence: one row of ids, broadcast over heads (what transformers does without
        # masks), instead of a copy per head that the rotation then repeats again
        ids = masks[0] if masks.shape[0] == 1 else masks.unsqueeze(1).repeat(1, self.num_attention_heads, 1)
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

    A token's flat (time, row, column) index on that grid is its position id: the attention
    modules decode index i as time ``i // (h*w)``, row ``(i % (h*w)) // w``, column ``i % w``,
    for the whole sequence or for the ids given as ``position_mask`` / predictor masks.

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


def patch_size_of(model: Any) -> int:
    """The model's patch size in pixels."""
    patch = model.config.patch_size
    return int(patch[0] if isinstance(patch, (tuple, list)) else patch)


def token_grid(model: Any, pixel_values_videos: torch.Tensor) -> tuple[int, int, int]:
    """(T', h, w) of a [B, T, C, H, W] input for this model."""
    _, t, _, h, w = pixel_values_videos.shape
    patch = patch_size_of(model)
    return max(1, t // int(model.config.tubelet_size)), h // patch, w // patch


@torch.no_grad()
def encode_tokens(
    model: Any,
    pixel_values_videos: torch.Tensor,
    keep: torch.Tensor | None = None,
    layer: int | None = None,
    final_norm: bool = True,
) -> torch.Tensor:
    """V-JEPA 2's encoder on the tokens ``keep`` only (true masking), with true RoPE positions.

    Embeddings -> keep the tokens ``keep`` -> blocks (their RoPE gets the kept tokens'
    (time, row, column) on the true grid) -> final norm. Hidden tokens never enter the blocks.

    Parameters
    ----------
    model: a transformers ``VJEPA2Model``.
    pixel_values_videos: float [B, T, C, H, W], preprocessed, T a multiple of the tubelet size.
    keep: int64 [K], flat (time, row, column) indices of the tokens to encode; None for all.
    layer: stop after this many blocks (``hidden_states[layer]``); None for all of them.
    final_norm: apply the encoder's final layer norm.

    Returns
    -------
    [B, K, D] (or [B, N, D]) in the model's dtype.
    """
    _, h, w = token_grid(model, pixel_values_videos)
    hidden = model.encoder.embeddings(pixel_values_videos)  # [B, N, D]
    position_mask = None
    if keep is not None:
        keep = keep.to(hidden.device)
        if keep.numel() == 0:
            raise UsageError("the mask hides every token: leave part of the clip visible as context")
        hidden = hidden[:, keep]
        position_mask = keep.unsqueeze(0).expand(hidden.shape[0], -1)
    blocks = model.encoder.layer if layer is None else model.encoder.layer[: int(layer)]
    with rope_grid(model, h, w):
        for block in blocks:
            hidden = block(hidden, position_mask)[0]
    return model.encoder.layernorm(hidden) if final_norm else hidden


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
    preprocessing / trained_preprocessing, layer / final_norm, weights_note: see
    :class:`~.transformers_base.TransformersEncoder`.
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
        """One forward pass: pixels [T, 3, H, W] (T a multiple of 2) -> float32 tokens [T/2, h, w, D]
        of the chosen layer (see :attr:`layer`, :attr:`final_norm`)."""
        return self.forward_windows(pixels.unsqueeze(0))[0]

    @torch.inference_mode()
    def forward_windows(self, pixels: torch.Tensor) -> torch.Tensor:
        """One batched forward pass over B clips of the same length: pixels [B, T, 3, H, W]
        (T a multiple of 2) -> float32 tokens [B, T/2, h, w, D] of the chosen layer; clips never
        see each other."""
        _, t, _, height, width = pixels.shape
        h, w = height // self.patch_size, width // self.patch_size
        x = pixels.to(self.device, self.dtype, non_blocking=True)
        hidden = encode_tokens(self.model, x, layer=self.layer_index, final_norm=self.final_norm)
        return tokens_to_grid(hidden, t // self.tubelet_size, h, w).float()

    def encode_frames(self, clip: PreparedClip, frame_indices: Sequence[int]) -> PatchFeatures:
        """Encode prepared pixels in windows of ``window`` frames (odd ends padded by repetition)."""
        pixels = clip.pixels
        parts = []
        for start in range(0, pixels.shape[0], self.window):
            chunk = pad_to_tubelets(pixels[start : start + self.window], self.tubelet_size)
            parts.append(self.forward_window(chunk))
        return self.features(torch.cat(parts, dim=0), group_frame_indices(frame_indices, self.tubelet_size), clip)


def trained_preprocessing(crop: int) -> Preprocessing:
    """``VJEPA2VideoProcessor``'s: short side to int(crop * 256 / 224), centre crop, bilinear, ImageNet."""
    return Preprocessing(mode="crop", short_side=int(crop * 256 / 224), crop_size=crop, interpolation="bilinear")


# ---------------------------------------------------------------- masked prediction


@torch.no_grad()
def predict_tokens(
    model: Any,
    context: torch.Tensor,
    context_ids: torch.Tensor,
    target_ids: torch.Tensor,
    grid: tuple[int, int, int],
) -> torch.Tensor:
    """V-JEPA 2's predictor: context tokens in, one prediction per target position out.

    Parameters
    ----------
    model: a transformers ``VJEPA2Model``.
    context: [B, K, D], encoder outputs of the context tokens, in ``context_ids`` order.
    context_ids, target_ids: int64 [K] and [M], flat (time, row, column) indices.
    grid: (T', h, w).

    Returns
    -------
    [B, M, D]: the predictor's output (after its projection back to the encoder's width).
    """
    _, h, w = (int(v) for v in grid)
    ctx = context_ids.to(context.device)
    tgt = target_ids.to(context.device)
    b, _, d = context.shape
    # transformers' predictor gathers the context from a full-length sequence by index:
    # scatter the context into one (the other rows are never read).
    full = context.new_zeros(b, int(ctx.max()) + 1, d)
    full[:, ctx] = context
    with rope_grid(model, h, w):
        out = model.predictor(
            encoder_hidden_states=full,
            context_mask=[ctx.unsqueeze(0).expand(b, -1)],
            target_mask=[tgt.unsqueeze(0).expand(b, -1)],
        )
    return out.last_hidden_state


class VJepa2Predictor:
    """A ``VJEPA2Model`` (encoder and predictor) as a :class:`~.predictor.TokenPredictor`."""

    def __init__(self, model: torch.nn.Module) -> None:
        self.model = model

    @property
    def dtype(self) -> torch.dtype:
        """The model's parameter dtype (encodings passed in are cast to it)."""
        return next(self.model.parameters()).dtype

    def token_grid(self, pixel_values_videos: torch.Tensor) -> tuple[int, int, int]:
        """(T', h, w) of a [1, T, C, H, W] input."""
        return token_grid(self.model, pixel_values_videos)

    def encode_tokens(self, pixel_values_videos: torch.Tensor, keep: torch.Tensor | None = None) -> torch.Tensor:
        """[1, K, D]: the final normed encoding of the tokens ``keep`` (all when None), true masking."""
        return encode_tokens(self.model, pixel_values_videos, keep)

    def predict_tokens(
        self, context: torch.Tensor, context_ids: torch.Tensor, target_ids: torch.Tensor, grid: tuple[int, int, int]
    ) -> torch.Tensor:
        """[1, M, D]: predictions at ``target_ids`` from ``context`` [1, K, D] at ``context_ids``."""
        return predict_tokens(self.model, context, context_ids, target_ids, grid)


@dataclass(frozen=True)
class VJepa2Family(EncoderFamily):
    """V-JEPA 2: a video encoder with 2-frame tubelets and a predictor for masked tokens.

    A checkpoint without predictor weights still encodes; its model gets ``predictor = None``
    (so nothing random is left in it) and masked prediction says why it cannot run.
    """

    def make_encoder(self, model: torch.nn.Module, *, window: int | None = None, **settings: Any) -> Encoder:
        return VJepa2Encoder(model, window=window or self.default_window, **settings)

    def token_predictor(self, model: torch.nn.Module) -> "TokenPredictor | None":
        if getattr(model, "predictor", None) is None:
            return None
        return VJepa2Predictor(model)


def _trained_size(config: Mapping[str, Any]) -> Preprocessing:
    return trained_preprocessing(int(config.get("crop_size", 256)))


VJEPA2 = VJepa2Family(
    name="vjepa2",
    model_types=("vjepa2",),
    model_class_name="VJEPA2Model",
    config_class_name="VJEPA2Config",
    title="V-JEPA 2",
    tubelet_size=2,
    window_memory_gb=1.0,
    optional_weights=("predictor.",),
    trained_size=_trained_size,
    has_predictor=True,
)

FAMILIES = (VJEPA2,)

