"""The tracking feature: click points, see where every encoder's features put them through the clip."""

from .controller import TrackingFeature

__all__ = ["TrackingFeature"]
