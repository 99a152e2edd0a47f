"""Names of encoders and how to load them.

``load_encoder(name_or_path)`` takes a registry name (``pixels``, ``vjepa2-vitl`` ...),
a hub id, or a local folder saved with ``save_pretrained``.
"""

from __future__ import annotations

import torch

from ..errors import EncoderError
from .base import Encoder
from .pixels import PixelEncoder
from .preprocess import Preprocessing

PIXEL_ENCODERS = {"pixels": 1, "pixels-tubelet": 2}


def load_encoder(
    name_or_path: str,
    device: torch.device | str | None = None,
    dtype: torch.dtype | None = None,
    preprocessing: Preprocessing | None = None,
) -> Encoder:
    """Load an encoder by registry name, hub id or local folder."""
    if name_or_path in PIXEL_ENCODERS:
        return PixelEncoder(PIXEL_ENCODERS[name_or_path], preprocessing=preprocessing, device=device or "cpu")
    raise EncoderError(
        f"unknown encoder {name_or_path!r}; known: {', '.join(PIXEL_ENCODERS)}"
    )
