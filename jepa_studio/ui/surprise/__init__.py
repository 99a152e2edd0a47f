"""The surprise feature: where an encoder's predictions of what comes next fail, over the video."""

from .controller import SurpriseFeature

__all__ = ["SurpriseFeature"]
