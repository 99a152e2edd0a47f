"""Analysis of patch features: PCA, scalar maps (and, later, masking and metrics)."""

from .maps import layer_norm_tokens, patch_similarity, temporal_difference
from .pca import ForegroundInfo, PatchPCA, fit_frame_bases, fit_pca, pca_map

__all__ = [
    "ForegroundInfo",
    "PatchPCA",
    "fit_frame_bases",
    "fit_pca",
    "layer_norm_tokens",
    "patch_similarity",
    "pca_map",
    "temporal_difference",
]
