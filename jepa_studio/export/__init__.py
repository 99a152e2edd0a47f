"""Exports: labelled comparison grids and side-by-side videos of encoders' maps
(:mod:`.comparison`, ``jepa-studio export``) and of masked predictions (:mod:`.masked`,
``jepa-studio mask``). The window's exports come here too."""

from .comparison import (
    IMAGE_SUFFIXES,
    VIDEO_SUFFIXES,
    PcaView,
    comparison_image,
    comparison_video_frames,
    encoder_row_label,
    export_comparison,
    resolve_encoders,
)

__all__ = [
    "IMAGE_SUFFIXES",
    "VIDEO_SUFFIXES",
    "PcaView",
    "comparison_image",
    "comparison_video_frames",
    "encoder_row_label",
    "export_comparison",
    "resolve_encoders",
]
