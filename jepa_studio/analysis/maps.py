"""Scalar maps over the token grid: what changes in time, what looks like a chosen patch.

All functions take PatchFeatures or a plain tensor [T', h, w, D] and return float32
tensors on the features' device; :func:`jepa_studio.render.colormap.apply_colormap`
turns them into images.
"""

from __future__ import annotations

from dataclasses import replace
from typing import overload

import torch
import torch.nn.functional as F

from ..encoders.base import PatchFeatures
from ..errors import UsageError


def _grid_tokens(features: PatchFeatures | torch.Tensor) -> torch.Tensor:
    tokens = features.tokens if isinstance(features, PatchFeatures) else features
    if tokens.ndim != 4:
        raise UsageError(f"expected tokens [T', h, w, D], got shape {tuple(tokens.shape)}")
    return tokens


def temporal_difference(features: PatchFeatures | torch.Tensor) -> torch.Tensor:
    """How much each patch's token changes from one time step to the next.

    Parameters
    ----------
    features: PatchFeatures or tokens [T', h, w, D].

    Returns
    -------
    float32 [T' - 1, h, w]: ``||z[t + 1] - z[t]||_2`` per patch (empty along time when T' < 2).
    """
    z = _grid_tokens(features).to(torch.float32)
    return torch.linalg.vector_norm(z[1:] - z[:-1], ord=2, dim=-1)


def patch_similarity(features: PatchFeatures | torch.Tensor, t: int, row: int, col: int) -> torch.Tensor:
    """Cosine similarity of every token of the clip to the token at (t, row, col).

    Parameters
    ----------
    features: PatchFeatures or tokens [T', h, w, D].
    t, row, col: the query token's time step and grid position (negative indices count
        from the end, as in Python).

    Returns
    -------
    float32 [T', h, w] in [-1, 1]; a zero token has similarity 0 to everything.
    """
    z = _grid_tokens(features).to(torch.float32)
    shape = tuple(z.shape[:3])
    for name, value, size in (("time step", t, shape[0]), ("row", row, shape[1]), ("column", col, shape[2])):
        if not -size <= int(value) < size:
            raise UsageError(f"{name} {value} is outside the token grid (size {size} along that axis)")
    query = z[int(t), int(row), int(col)]
    zn = F.normalize(z, dim=-1, eps=1e-12)
    qn = F.normalize(query, dim=-1, eps=1e-12)
    return (zn @ qn).clamp_(-1.0, 1.0)


@overload
def layer_norm_tokens(tokens: torch.Tensor) -> torch.Tensor: ...
@overload
def layer_norm_tokens(tokens: PatchFeatures) -> PatchFeatures: ...


def layer_norm_tokens(tokens: torch.Tensor | PatchFeatures) -> torch.Tensor | PatchFeatures:
    """Per-token layer norm over D with no affine: V-JEPA 2's predictor targets.

    Computes ``F.layer_norm(z, (D,))`` (eps 1e-5, as in V-JEPA 2's training loss) in
    float32 and returns the input's floating dtype.

    Parameters
    ----------
    tokens: tensor [..., D], or PatchFeatures (a copy with normalised tokens is returned).

    Returns
    -------
    Same type and shape as the input: each token has mean 0 and (biased) variance 1.
    """
    if isinstance(tokens, PatchFeatures):
        return replace(tokens, tokens=layer_norm_tokens(tokens.tokens))
    dtype = tokens.dtype if torch.is_floating_point(tokens) else torch.float32
    z = tokens.to(torch.float32)
    return F.layer_norm(z, (z.shape[-1],)).to(dtype)
