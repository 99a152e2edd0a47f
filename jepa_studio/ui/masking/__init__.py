"""The masking feature: paint a mask, see what an encoder recovers of the hidden tokens."""

from .controller import MaskingFeature

__all__ = ["MaskingFeature"]
