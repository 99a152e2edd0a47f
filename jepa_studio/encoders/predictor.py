"""Encoders that can predict hidden tokens: the protocol masked prediction reaches a family through.

A family with a predictor (today V-JEPA 2) gives a :class:`TokenPredictor` for a loaded
model: the token grid of an input, the encoding of only the kept tokens (true masking), and
predictions at target positions from context. :mod:`jepa_studio.analysis.masked_prediction`
does the rest (targets, scores, the leaky variant) for any family.

:func:`predictor_of` is the one check of whether an encoder has a predictor, with the two
messages a user can meet: the family has none, or the checkpoint held no predictor weights.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import torch

from ..errors import UsageError
from .base import encoder_label
from .families import family_of_model


@runtime_checkable
class TokenPredictor(Protocol):
    """Masked encoding and prediction of one model.

    Token ids are flat (time, row, column) indices into the (T', h, w) token grid.
    """

    @property
    def dtype(self) -> torch.dtype:
        """The compute dtype (encodings passed in are cast to it)."""
        ...

    def token_grid(self, pixel_values_videos: torch.Tensor) -> tuple[int, int, int]:
        """(T', h, w) of a preprocessed input [1, T, C, H, W]."""
        ...

    def encode_tokens(self, pixel_values_videos: torch.Tensor, keep: torch.Tensor | None = None) -> torch.Tensor:
        """[1, K, D]: the encoding of the tokens ``keep`` (int64 [K]; all when None), computed
        from those tokens alone, so nothing hidden reaches them."""
        ...

    def predict_tokens(
        self, context: torch.Tensor, context_ids: torch.Tensor, target_ids: torch.Tensor, grid: tuple[int, int, int]
    ) -> torch.Tensor:
        """[1, M, D]: one prediction per ``target_ids`` (int64 [M]) from ``context`` [1, K, D]
        at ``context_ids`` (int64 [K])."""
        ...


def _family(encoder: Any) -> Any:
    model = getattr(encoder, "model", encoder)
    return model, family_of_model(model)


def has_predictor(encoder: Any) -> bool:
    """Whether ``encoder`` (an encoder object or a transformers model) is of a family that
    predicts hidden tokens (V-JEPA 2), whether or not its checkpoint held the predictor's
    weights (:func:`predictor_of` says so when it did not)."""
    _, family = _family(encoder)
    return family is not None and family.has_predictor


def predictor_of(encoder: Any) -> TokenPredictor:
    """The :class:`TokenPredictor` of an encoder object, a transformers model, or a TokenPredictor.

    Raises
    ------
    UsageError
        The encoder's family has no predictor, or its checkpoint held no predictor weights.
    """
    if isinstance(encoder, TokenPredictor):
        return encoder
    model, family = _family(encoder)
    label = encoder_label(encoder, getattr(family, "name", "this encoder"))
    if family is None or not family.has_predictor:
        raise UsageError(
            f"{label} has no predictor: masked prediction needs a V-JEPA 2 encoder; "
            "image encoders are compared by inpainting instead"
        )
    predictor = family.token_predictor(model)
    if predictor is None:
        raise UsageError(
            f"{label}: its checkpoint holds no predictor weights; masked prediction needs the full "
            f"{family.title or family.name} checkpoint (encoder and predictor)"
        )
    return predictor
