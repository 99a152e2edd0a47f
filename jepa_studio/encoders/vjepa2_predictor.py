"""V-JEPA 2's masked encoding and prediction: the :class:`~.predictor.TokenPredictor` of its family.

- :func:`~.vjepa2.encode_tokens` with ``keep`` runs the context encoder on the visible
  tokens only (true masking, as V-JEPA 2 was trained);
- :func:`predict_tokens` runs the predictor: context tokens in, one prediction per target
  position out.

Positions are flat (time, row, column) indices on the true token grid, read by the RoPE
attention of both encoder and predictor through :func:`~.vjepa2.rope_grid`. The model must
not be used by another thread meanwhile (JEPA Studio runs all GPU work on one worker).
"""

from __future__ import annotations

from typing import Any

import torch

from .vjepa2 import encode_tokens, rope_grid, token_grid


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
