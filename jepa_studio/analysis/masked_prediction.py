"""Masked prediction, the way V-JEPA 2 was trained, and the leaky shortcut beside it.

This module is family-independent: it reaches an encoder's masked encoding and predictor
through :class:`~jepa_studio.encoders.predictor.TokenPredictor` (for V-JEPA 2,
:mod:`jepa_studio.encoders.vjepa2`), and assembles, scores and draws the result.

**True masking** (what V-JEPA 2 was trained with): patch embeddings -> keep only the
visible (context) tokens -> encoder layers, whose positions are the kept tokens' true
(time, row, column) -> final layer norm -> predictor, fed the context tokens and the
positions of the hidden ones -> one prediction per hidden token. Nothing the mask hides
reaches the context encoder, so changing pixels inside the mask changes no prediction
(the tests check this).

**Leaky** (labelled so everywhere): what transformers' ``VJEPA2Model.forward(context_mask=,
target_mask=)`` does: the encoder runs on the *whole* clip and only its output is cut to
the context tokens, so the context has already attended to the hidden region.

**Targets**: the predictor was trained to output ``F.layer_norm(encoder(x), (D,))`` (per
token, no affine) of the full, unmasked clip, with an L1 loss. Predictions are compared
with exactly that: per hidden token the cosine similarity and the L1 distance (mean over
D, as in the training loss). For display, the "context + predicted" grid holds the
layer-normed full encoding at visible positions and the predictions at hidden ones, so it
differs from the full encoding only where something was predicted; one PCA basis is fitted
on the layer-normed full encoding and both grids are projected through it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from ..encoders.base import PatchFeatures, encoder_label, group_frame_indices
from ..encoders.pixels import pad_to_tubelets
from ..encoders.predictor import TokenPredictor, predictor_of
from ..errors import UsageError
from .maps import layer_norm_tokens
from .masking import PixelMask, TokenGrid, token_ids, token_mask

TRUE = "true masking"
LEAKY = "leaky (mask after a full encoder pass)"


# ---------------------------------------------------------------- result


@dataclass(frozen=True)
class MaskedPrediction:
    """What one encoder recovers of the tokens a mask hides.

    Attributes
    ----------
    variant:
        how the prediction was made: :data:`TRUE`, :data:`LEAKY`, or ``"inpaint (mean)"``...
    target:
        float32 [T', h, w, D]: the layer-normed (no affine) encoding of the full clip.
    combined:
        float32 [T', h, w, D]: ``target`` at visible tokens, the predictions at hidden ones.
    hidden:
        bool [T', h, w]: True for hidden tokens.
    cosine, l1:
        float32 [T', h, w]: per hidden token, the cosine similarity and the mean absolute
        difference between prediction and target; NaN at visible tokens.
    mean_cosine, mean_l1:
        their means over the hidden tokens (NaN when nothing is hidden).
    leaky:
        True when the hidden region reached the context encoder (show a warning).
    label:
        the encoder's name for panes and exports.
    frame_indices, patch_size, input_size, crop_box:
        as in :class:`~jepa_studio.encoders.base.PatchFeatures`, to lay maps over frames.
    """

    variant: str
    target: torch.Tensor
    combined: torch.Tensor
    hidden: torch.Tensor
    cosine: torch.Tensor
    l1: torch.Tensor
    mean_cosine: float
    mean_l1: float
    leaky: bool = False
    label: str = ""
    frame_indices: tuple[tuple[int, ...], ...] = ()
    patch_size: int = 16
    input_size: tuple[int, int] = (0, 0)
    crop_box: tuple[int, int, int, int] = (0, 0, 0, 0)

    @property
    def predicted(self) -> torch.Tensor:
        """float32 [M, D]: the predictions, hidden tokens in (time, row, column) order."""
        return self.combined[self.hidden]

    @property
    def n_hidden(self) -> int:
        """M, how many tokens were hidden."""
        return int(self.hidden.sum())

    def summary(self) -> str:
        """One line for a pane: ``"cos 0.812  L1 0.403  (96 hidden tokens)"``."""
        if self.n_hidden == 0:
            return "nothing hidden"
        return f"cos {self.mean_cosine:.3f}  L1 {self.mean_l1:.3f}  ({self.n_hidden} hidden tokens)"


@dataclass(frozen=True)
class MaskingResult:
    """True masking, and (optionally) the leaky variant, of the same clip and mask."""

    true: MaskedPrediction
    leaky: MaskedPrediction | None = None


def score_predictions(predicted: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-token cosine similarity and L1 (mean absolute difference over D).

    predicted, target: [M, D]. Returns two float32 [M].
    """
    p = predicted.to(torch.float32)
    t = target.to(torch.float32)
    return F.cosine_similarity(p, t, dim=-1), (p - t).abs().mean(dim=-1)


def build_prediction(
    target_ln: torch.Tensor,
    hidden: torch.Tensor,
    predicted: torch.Tensor,
    variant: str,
    leaky: bool = False,
    **meta: Any,
) -> MaskedPrediction:
    """Assemble a :class:`MaskedPrediction`.

    Parameters
    ----------
    target_ln: float [T', h, w, D], layer-normed full encoding.
    hidden: bool [T', h, w].
    predicted: float [M, D], one prediction per hidden token in (time, row, column) order.
    meta: label, frame_indices, patch_size, input_size, crop_box.
    """
    target = target_ln.detach().to("cpu", torch.float32)
    hidden = torch.as_tensor(np.asarray(hidden) if not isinstance(hidden, torch.Tensor) else hidden).to("cpu", torch.bool)
    pred = predicted.detach().to("cpu", torch.float32)
    if tuple(hidden.shape) != tuple(target.shape[:-1]):
        raise ValueError(f"hidden mask {tuple(hidden.shape)} does not match the token grid {tuple(target.shape[:-1])}")
    if pred.shape[0] != int(hidden.sum()):
        raise ValueError(f"{pred.shape[0]} predictions for {int(hidden.sum())} hidden tokens")
    combined = target.clone()
    combined[hidden] = pred
    cosine = torch.full(hidden.shape, float("nan"))
    l1 = torch.full(hidden.shape, float("nan"))
    if pred.shape[0]:
        cos, dist = score_predictions(pred, target[hidden])
        cosine[hidden] = cos
        l1[hidden] = dist
        mean_cos, mean_l1 = float(cos.mean()), float(dist.mean())
    else:
        mean_cos = mean_l1 = float("nan")
    return MaskedPrediction(
        variant=variant,
        target=target,
        combined=combined,
        hidden=hidden,
        cosine=cosine,
        l1=l1,
        mean_cosine=mean_cos,
        mean_l1=mean_l1,
        leaky=leaky,
        **meta,
    )


# ---------------------------------------------------------------- the two passes


def _as_batch(pixel_values_videos: torch.Tensor) -> torch.Tensor:
    x = pixel_values_videos
    if x.ndim == 4:
        x = x.unsqueeze(0)
    if x.ndim != 5 or x.shape[0] != 1:
        raise ValueError(f"pixel_values_videos must be [1, T, C, H, W] or [T, C, H, W], got {tuple(x.shape)}")
    return x


@torch.no_grad()
def masked_prediction(
    model: TokenPredictor | Any,
    pixel_values_videos: torch.Tensor,
    hidden: np.ndarray | torch.Tensor,
    include_leaky: bool = True,
    full_encoding: torch.Tensor | None = None,
    **meta: Any,
) -> MaskingResult:
    """Hide tokens from V-JEPA 2 and let its predictor predict them.

    Parameters
    ----------
    model:
        a :class:`~jepa_studio.encoders.predictor.TokenPredictor`, or a model or encoder
        object that has one (a transformers ``VJEPA2Model`` with its predictor, in eval mode).
    pixel_values_videos:
        float [1, T, C, H, W] (or [T, C, H, W]), preprocessed; T a multiple of the tubelet size.
    hidden:
        bool [T', h, w], True for the tokens to hide (see :func:`~.masking.token_mask`).
    include_leaky:
        also run the leaky variant (one more predictor pass; the full encoder pass is
        needed for the targets anyway).
    full_encoding:
        the encoder's output for this same clip, [T', h, w, D] or [1, N, D], when already
        computed (e.g. the features a PCA pane shows, from one window covering the clip):
        saves the full encoder pass. It must be the final normed output for the same pixels
        with true positions (see :func:`reusable_encoding`).
    meta:
        label, frame_indices, patch_size, input_size, crop_box, carried into the results.

    Returns
    -------
    :class:`MaskingResult` with the true-masking prediction and, optionally, the leaky one.
    """
    predictor = predictor_of(model)
    x = _as_batch(pixel_values_videos)
    grid = predictor.token_grid(x)
    hidden_t = torch.as_tensor(np.asarray(hidden) if not isinstance(hidden, torch.Tensor) else hidden).to(torch.bool)
    if tuple(hidden_t.shape) != grid:
        raise UsageError(f"the token mask is {tuple(hidden_t.shape)} but this clip has a {grid} token grid")
    target_ids = token_ids(hidden_t)
    context_ids = token_ids(~hidden_t)
    if context_ids.numel() == 0:
        raise UsageError("the mask hides every token: leave part of the clip visible as context")
    t, h, w = grid
    if full_encoding is None:
        full = predictor.encode_tokens(x)  # [1, N, D]
    else:
        full = full_encoding.reshape(1, t * h * w, -1).to(x.device, predictor.dtype)
    target_ln = layer_norm_tokens(full[0].float()).reshape(t, h, w, -1)
    if target_ids.numel() == 0:
        empty = full.new_zeros(0, full.shape[-1])
        true = build_prediction(target_ln, hidden_t, empty, TRUE, **meta)
        leaky = build_prediction(target_ln, hidden_t, empty, LEAKY, leaky=True, **meta) if include_leaky else None
        return MaskingResult(true, leaky)
    context = predictor.encode_tokens(x, context_ids)
    pred = predictor.predict_tokens(context, context_ids, target_ids, grid)[0]
    true = build_prediction(target_ln, hidden_t, pred, TRUE, **meta)
    leaky = None
    if include_leaky:
        leaky_ctx = full[:, context_ids.to(full.device)]
        leaky_pred = predictor.predict_tokens(leaky_ctx, context_ids, target_ids, grid)[0]
        leaky = build_prediction(target_ln, hidden_t, leaky_pred, LEAKY, leaky=True, **meta)
    return MaskingResult(true, leaky)


# ---------------------------------------------------------------- from an encoder object


def prepare_clip(
    encoder: Any, frames: np.ndarray, frame_indices: Sequence[int] | None = None
) -> tuple[torch.Tensor, TokenGrid]:
    """uint8 frames [T, H, W, 3] -> (pixel_values_videos [1, T_pad, C, H', W'], its TokenGrid).

    ``encoder`` is duck-typed: ``.model``, ``.preprocessing``, ``.patch_size``,
    ``.tubelet_size`` (and ``.device`` when it has one). T is padded to whole tubelets by
    repeating the last frame, as the encoders do.
    """
    from ..encoders.preprocess import preprocess_frames

    if frame_indices is None:
        frame_indices = range(len(frames))
    if len(frame_indices) != len(frames):
        raise ValueError("frame_indices must have one index per frame")
    param = next(encoder.model.parameters())
    device = getattr(encoder, "device", param.device)
    x, box = preprocess_frames(frames, int(encoder.patch_size), encoder.preprocessing, device, param.dtype)
    x = pad_to_tubelets(x, int(encoder.tubelet_size)).unsqueeze(0)
    p = int(encoder.patch_size)
    grid = TokenGrid(
        frame_indices=group_frame_indices(frame_indices, int(encoder.tubelet_size)),
        shape=(int(x.shape[-2]) // p, int(x.shape[-1]) // p),
        patch_size=p,
        input_size=(int(x.shape[-2]), int(x.shape[-1])),
        crop_box=box,
    )
    return x, grid


def reusable_encoding(
    features: PatchFeatures | None, hidden_shape: Sequence[int], n_frames: int, window: int
) -> torch.Tensor | None:
    """``features.tokens`` when they can stand for :func:`masked_prediction`'s full encoding, else None.

    They can when they are the final normed output (not another layer, see
    :attr:`~jepa_studio.encoders.base.PatchFeatures.layer`) on the same token grid, from one
    forward pass over the clip (``n_frames`` fit in the encoder's ``window``).
    """
    if features is None or features.layer != "last" or not features.normed:
        return None
    if tuple(features.grid) != tuple(int(v) for v in hidden_shape) or n_frames > window:
        return None
    return features.tokens


def encoder_masked_prediction(
    encoder: Any,
    frames: np.ndarray,
    mask: PixelMask,
    frame_indices: Sequence[int] | None = None,
    threshold: float = 0.0,
    include_leaky: bool = True,
) -> MaskingResult:
    """Masked prediction for an encoder object with a predictor (V-JEPA 2) on uint8 frames [T, H, W, 3].

    ``mask`` is in the frames' pixels; a token is hidden when more than ``threshold`` of
    its pixels are masked (see :func:`~.masking.token_mask`). The encoder's layer setting
    does not apply: the predictor reads the final normed output. Out of GPU memory becomes
    :class:`~jepa_studio.errors.OutOfMemoryError`.

    Raises
    ------
    UsageError
        The encoder has no predictor (or its checkpoint lacked one), or the mask does not fit.
    """
    from ..encoders.device import oom_guard

    predictor = predictor_of(encoder)
    if tuple(mask.size) != tuple(frames.shape[1:3]):
        raise UsageError(
            f"the mask is {mask.size[1]}x{mask.size[0]} pixels but the frames are "
            f"{frames.shape[2]}x{frames.shape[1]}: paint or load a mask of the video's size"
        )
    x, grid = prepare_clip(encoder, frames, frame_indices)
    hidden = token_mask(mask, grid, threshold)
    meta = dict(
        label=encoder_label(encoder, 'vjepa2'),
        frame_indices=grid.frame_indices,
        patch_size=grid.patch_size,
        input_size=grid.input_size,
        crop_box=grid.crop_box,
    )
    with oom_guard(f"masked prediction with {encoder_label(encoder, 'vjepa2')} on {len(frames)} frames", x.device):
        return masked_prediction(predictor, x, hidden, include_leaky=include_leaky, **meta)
