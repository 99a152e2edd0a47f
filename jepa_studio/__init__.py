"""JEPA Studio: see what V-JEPA 2, DINOv2 and DINOv3 learned, on your own videos.

The notebook API::

    from jepa_studio import open_video, load_encoder, fit_pca, track_points

    video = open_video("clip.mp4")            # len(video), video.fps, video.size, video[i]
    frames = video.clip(0, 16, stride=2)       # uint8 [16, H, W, 3]
    enc = load_encoder("pixels-tubelet")       # or "vjepa2-vitl", "dinov2-small", a hub id, a folder
    feats = enc.encode(frames)                 # feats.tokens [T', h, w, D], feats.frame_indices
    pca = fit_pca(feats)                       # pca.components [k, D], pca.explained_variance_ratio
    rgb = pca.to_rgb(feats)                    # uint8 [T', h, w, 3]
    tracks = track_points(feats, [[0, 320.0, 180.0]])  # tracks.xy [N, T', 2] in source pixels
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "open_video": "jepa_studio.video",
    "write_video": "jepa_studio.video",
    "load_encoder": "jepa_studio.encoders",
    "PatchFeatures": "jepa_studio.encoders",
    "Preprocessing": "jepa_studio.encoders",
    "fit_pca": "jepa_studio.analysis.pca",
    "track_points": "jepa_studio.analysis.tracking",
    "read_truth": "jepa_studio.analysis.tap_metrics",
    "score_tracks": "jepa_studio.analysis.tap_metrics",
    "surprise_curve": "jepa_studio.analysis.surprise",
    "fit_kmeans": "jepa_studio.analysis.clusters",
    "export_comparison": "jepa_studio.export",
    "extract_dataset": "jepa_studio.dataset",
    "sample_video_path": "jepa_studio.resources",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    """Import the public API lazily, so ``import jepa_studio`` stays fast (torch loads on use)."""
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'jepa_studio' has no attribute {name!r}")
