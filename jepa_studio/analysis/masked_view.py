"""The masked prediction of one clip, rendered as the masked panes show it (and exports draw it).

:func:`compute_masked_view` runs one encoder on one clip with a pixel mask (V-JEPA 2: true
masking, and optionally the leaky variant; encoders without a predictor: inpainting) and
renders every time step: the PCA of the layer-normed full encoding, context + predicted
through the same basis (the components the view shows), and the cosine error map. The
studio's masked panes and ``jepa-studio mask`` both draw these images, so an export shows
the colours the panes show.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Protocol

import numpy as np

from ..encoders.predictor import has_predictor
from ..errors import UsageError
from ..render.grid import frozen
from .masking import PixelMask, TokenGrid, token_mask


class MaskJob(Protocol):
    """What :func:`compute_masked_view` reads of a request (``state.MaskRequest`` has it all)."""

    frames: tuple[int, ...]
    encoder: str
    mask: PixelMask
    fill: str
    threshold: float
    leaky: bool
    channels: tuple[int, int, int]


#: colour of visible tokens on the error map
VISIBLE_GREY = (58, 60, 64)


@dataclass(frozen=True)
class MaskedVariant:
    """One way of recovering the hidden tokens (true masking, leaky, or an inpainting fill).

    Attributes
    ----------
    variant: the analysis' variant name (``"true masking"``, ``"leaky (...)"``, ``"inpaint (blur)"``).
    leaky: True when the hidden region reached the encoder (show a warning).
    predicted: uint8 [T', h, w, 3], PCA of context + predicted tokens (the full encoding's basis).
    error: uint8 [T', h, w, 3], cosine similarity of each hidden token (viridis, 0 to 1), visible grey.
    cosine, l1: float32 [T', h, w], per hidden token; NaN at visible tokens.
    mean_cosine, mean_l1: over every hidden token of the clip (NaN when nothing is hidden).
    n_hidden: hidden tokens in the clip.
    summary: one line, as :meth:`MaskedPrediction.summary` writes it.
    tokens: float16 torch [T', h, w, D], the layer-normed context + predicted tokens (kept for
        non-leaky variants, so a decoder trained on layer-normed tokens can decode them), or None.
    """

    variant: str
    leaky: bool
    predicted: np.ndarray
    error: np.ndarray
    cosine: np.ndarray
    l1: np.ndarray
    mean_cosine: float
    mean_l1: float
    n_hidden: int
    summary: str
    tokens: Any = field(default=None, repr=False, compare=False)

    def step_scores(self, t: int) -> tuple[float, float, int]:
        """(mean cosine, mean L1, hidden tokens) of time step ``t``."""
        hidden = ~np.isnan(self.cosine[t])
        n = int(hidden.sum())
        if n == 0:
            return float("nan"), float("nan"), 0
        return float(self.cosine[t][hidden].mean()), float(self.l1[t][hidden].mean()), n


@dataclass(frozen=True)
class MaskedView:
    """Everything the masked-prediction panes show for one request.

    Attributes
    ----------
    request: the id :meth:`MaskingEngine.request` returned (stale ones are dropped).
    encoder: the encoder name as requested; ``label`` its label ("[random weights]" when random).
    method: ``"predictor"`` (V-JEPA 2) or ``"inpaint"`` (encoders without a predictor).
    grid: the encoder's token grid for this clip (also drawn while painting).
    full: uint8 [T', h, w, 3], PCA of the layer-normed full encoding.
    hidden: bool [T', h, w], the hidden tokens.
    variants: true masking first, then the leaky variant (V-JEPA 2), or the inpainting.
    tubelet_size: source frames per time step.
    note: why there is nothing to show ("paint a region..."), or "".
    """

    request: int
    encoder: str
    label: str
    method: str
    grid: TokenGrid
    full: np.ndarray | None
    hidden: np.ndarray | None
    variants: tuple[MaskedVariant, ...]
    tubelet_size: int
    note: str = ""

    @property
    def frame_indices(self) -> tuple[tuple[int, ...], ...]:
        return self.grid.frame_indices

    @property
    def crop_box(self) -> tuple[int, int, int, int]:
        return self.grid.crop_box

    def time_step(self, frame: int) -> int | None:
        """The time step covering source frame ``frame``, or None when it is not in the clip."""
        for t, covered in enumerate(self.grid.frame_indices):
            if int(frame) in covered:
                return t
        return None


def render_variant(prediction: Any, pca: Any, channels: tuple[int, int, int] = (0, 1, 2)) -> MaskedVariant:
    """uint8 maps of every time step of a :class:`~jepa_studio.analysis.masked_prediction.MaskedPrediction`."""
    import torch

    from ..render.colormap import apply_colormap

    cosine = prediction.cosine.numpy().astype(np.float32)
    error = apply_colormap(cosine, vmin=0.0, vmax=1.0, name="viridis")
    error = np.array(error, dtype=np.uint8, copy=True)
    error[np.isnan(cosine)] = VISIBLE_GREY
    predicted = pca.to_rgb(prediction.combined, channels=channels)
    out = MaskedVariant(
        variant=prediction.variant,
        leaky=bool(prediction.leaky),
        predicted=frozen(predicted),
        error=frozen(error),
        cosine=frozen(cosine),
        l1=frozen(prediction.l1.numpy().astype(np.float32)),
        mean_cosine=float(prediction.mean_cosine),
        mean_l1=float(prediction.mean_l1),
        n_hidden=int(prediction.n_hidden),
        summary=prediction.summary(),
        tokens=None if prediction.leaky else prediction.combined.detach().to("cpu", dtype=torch.float16),
    )
    return out


def compute_masked_view(
    encoder: Any,
    frames: np.ndarray,
    request: MaskJob,
    features: Any | None = None,
    request_id: int = 0,
    check: Callable[[], None] = lambda: None,
) -> MaskedView:
    """The masked prediction of one clip, rendered for panes (any thread; no Qt).

    Parameters
    ----------
    encoder: the loaded encoder.
    frames: uint8 [T, H, W, 3], the clip's source frames (``request.frames``).
    request: what to compute.
    features: the encoder's PatchFeatures of these frames, when already computed (the full
        encoding is then not computed again).
    check: called between stages; raises :class:`Cancelled` when the request is stale.
    """
    from ..encoders.base import encoder_label
    from ..encoders.device import oom_guard
    from .inpaint import inpaint_prediction
    from .masked_prediction import masked_prediction, prepare_clip, reusable_encoding
    from .pca import fit_pca

    mask = request.mask
    frame_list = list(request.frames)
    if tuple(mask.size) != tuple(frames.shape[1:3]):
        raise UsageError(
            f"the mask is {mask.size[1]}x{mask.size[0]} pixels but the frames are "
            f"{frames.shape[2]}x{frames.shape[1]}: paint or load a mask of the video's size"
        )
    channels = tuple(int(c) for c in request.channels)
    n_components = max(3, max(channels) + 1)
    if has_predictor(encoder):
        x, grid = prepare_clip(encoder, frames, frame_list)
        hidden = token_mask(mask, grid, request.threshold)
        check()
        full = reusable_encoding(features, hidden.shape, len(frame_list), getattr(encoder, "window", 0))
        meta = dict(
            label=encoder_label(encoder, 'vjepa2'), frame_indices=grid.frame_indices, patch_size=grid.patch_size,
            input_size=grid.input_size, crop_box=grid.crop_box,
        )
        if not hidden.any():
            return _empty_view(request, request_id, meta["label"], "predictor", grid, encoder)
        with oom_guard(f"masked prediction with {meta['label']} on {len(frame_list)} frames", x.device):
            result = masked_prediction(encoder.model, x, hidden, include_leaky=request.leaky, full_encoding=full, **meta)
        predictions = [result.true] + ([result.leaky] if result.leaky is not None else [])
        method = "predictor"
    else:
        if features is None:
            features = encoder.encode(frames, frame_list)
        grid = TokenGrid.from_features(features)
        label = features.label
        if not token_mask(mask, grid, request.threshold).any():
            return _empty_view(request, request_id, label, "inpaint", grid, encoder)
        check()
        predictions = [
            inpaint_prediction(encoder, frames, mask, frame_list, request.fill, request.threshold, reference=features)
        ]
        method = "inpaint"
    check()
    target = predictions[0].target
    pca = fit_pca(target, n_components)  # on the layer-normed full encoding
    full_rgb = pca.to_rgb(target, channels=channels)
    variants = tuple(render_variant(p, pca, channels) for p in predictions)
    return MaskedView(
        request=request_id,
        encoder=request.encoder,
        label=predictions[0].label,
        method=method,
        grid=grid,
        full=frozen(full_rgb),
        hidden=frozen(predictions[0].hidden.numpy()),
        variants=variants,
        tubelet_size=int(getattr(encoder, "tubelet_size", 1)),
    )


def _empty_view(request: MaskJob, request_id: int, label: str, method: str, grid: TokenGrid, encoder: Any) -> MaskedView:
    if request.mask.pixels.any():
        note = "the mask hides no token of this clip: it applies to other time steps"
    else:
        note = "paint a region on the frame to hide it"
    return MaskedView(
        request=request_id, encoder=request.encoder, label=label, method=method, grid=grid,
        full=None, hidden=None, variants=(), tubelet_size=int(getattr(encoder, "tubelet_size", 1)), note=note,
    )
