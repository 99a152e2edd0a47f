"""The encoder panes feature: maps of every chosen encoder side by side, and exports of the view."""

from .controller import ViewerFeature

__all__ = ["ViewerFeature"]
