"""Which time step shows a frame, which token is under a pixel, per-frame PCA alignment."""

from __future__ import annotations

import numpy as np
import torch

from jepa_studio.analysis.pca import fit_pca
from jepa_studio.encoders.base import PatchFeatures
from jepa_studio.maps import ClipContext, get, time_step_for, token_at
from jepa_studio.state import ViewSettings


def _features(t: int = 3, h: int = 4, w: int = 6, d: int = 8) -> PatchFeatures:
    gen = torch.Generator().manual_seed(0)
    return PatchFeatures(
        tokens=torch.randn(t, h, w, d, generator=gen),
        frame_indices=tuple((2 * i, 2 * i + 1) for i in range(t)),
        encoder="test",
        checkpoint="-",
        pretrained=True,
        patch_size=16,
        tubelet_size=2,
        input_size=(h * 16, w * 16),
        crop_box=(10, 0, 106, 64),
    )


def test_time_step_for_tubelets_and_strided_clips() -> None:
    tubelets = ((8, 9), (10, 11), (12, 13))
    assert [time_step_for(tubelets, f) for f in (8, 9, 10, 13)] == [0, 0, 1, 2]
    strided = ((0,), (4,), (8,))
    assert [time_step_for(strided, f) for f in (0, 3, 4, 7, 9)] == [0, 0, 1, 1, 2]


def test_token_at_follows_the_crop_box() -> None:
    feats = _features()
    assert token_at(feats, 10, 0) == (0, 0)
    assert token_at(feats, 105.9, 63.9) == (3, 5)
    assert token_at(feats, 10 + 16 * 2 + 1, 16 * 1 + 1) == (1, 2)
    assert token_at(feats, 5, 10) is None  # left of the crop


def pca_maps(feats: PatchFeatures, view: ViewSettings) -> np.ndarray:
    return get("pca").compute(feats, view, ClipContext(feats)).images


def test_frame_basis_fits_each_step_and_clip_basis_fits_once() -> None:
    feats = _features()
    clip = pca_maps(feats, ViewSettings(basis="clip"))
    np.testing.assert_array_equal(clip, fit_pca(feats, 3).to_rgb(feats))
    frame = pca_maps(feats, ViewSettings(basis="frame", channels=(1, 0, 2)))
    first = fit_pca(feats.tokens[0], 3)
    np.testing.assert_array_equal(frame[0], first.to_rgb(feats.tokens[0], (1, 0, 2)))
    second = fit_pca(feats.tokens[1], 3, align_to=first)
    np.testing.assert_array_equal(frame[1], second.to_rgb(feats.tokens[1], (1, 0, 2)))


def test_kmeans_map_keeps_its_colours_from_clip_to_clip() -> None:
    """The k-means kind, added as one file: the first clip's clusters colour every later
    clip's (matched by centre), and refitting the first clip gives its colours back."""
    from jepa_studio.analysis.clusters import fit_kmeans, kmeans_rgb

    first, second = _features(t=3), _features(t=3)
    second = PatchFeatures(**{**first.__dict__, "tokens": first.tokens + 0.05 * torch.randn_like(first.tokens)})
    context = ClipContext(first)
    view = ViewSettings(map_kind="kmeans", clusters=4)
    a = get("kmeans").compute(first, view, context)
    b = get("kmeans").compute(second, view, context)  # the memo holds the first clip's model
    reference = fit_kmeans(first, 4)
    np.testing.assert_array_equal(a.images, kmeans_rgb(first, 4, reference=reference)[0])
    np.testing.assert_array_equal(b.images, kmeans_rgb(second, 4, reference=reference)[0])
    assert (a.images == b.images).all(-1).mean() > 0.9  # a small change keeps most colours
    assert a.caption.startswith("4 clusters")
