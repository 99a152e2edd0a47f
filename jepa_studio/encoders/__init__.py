"""Encoders: one interface (:class:`Encoder` -> :class:`PatchFeatures`) over pixel baselines,
V-JEPA 2, DINOv2 and DINOv3."""

from .base import Encoder, PatchFeatures
from .preprocess import Preprocessing
from .registry import load_encoder

__all__ = ["Encoder", "PatchFeatures", "Preprocessing", "load_encoder"]
