"""k-means colour maps: stable colours when refitting, matching back permuted clusters,
and matching across encoders by overlap."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from jepa_studio import fit_kmeans
from jepa_studio.analysis.clusters import kmeans_rgb, labels_on_grid, palette
from jepa_studio.encoders.base import PatchFeatures
from jepa_studio.errors import UsageError


def _blobs(seed: int = 0, t: int = 3, h: int = 6, w: int = 8, d: int = 32, k: int = 4) -> tuple[PatchFeatures, np.ndarray]:
    """Tokens from k well-separated clusters laid out as vertical bands that shift in time."""
    g = torch.Generator().manual_seed(seed)
    centres = torch.randn(k, d, generator=g) * 4
    cols = (np.arange(w)[None, None, :] + 2 * np.arange(t)[:, None, None]) % w  # bands move two columns a step
    truth = np.broadcast_to(cols * k // w, (t, h, w)).copy()
    tokens = centres[torch.from_numpy(truth)] + 0.3 * torch.randn(t, h, w, d, generator=g) + 10.0
    feats = PatchFeatures(tokens, tuple((i,) for i in range(t)), "test", "-", True, 16, 1, (16 * h, 16 * w), (0, 0, 16 * w, 16 * h))
    return feats, truth


def _same_partition(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether two label maps group tokens the same way (up to renaming)."""
    pairs = set(zip(a.ravel().tolist(), b.ravel().tolist()))
    return len(pairs) == len(set(a.ravel().tolist())) == len(set(b.ravel().tolist()))


def test_kmeans_finds_the_clusters_and_colours_every_token() -> None:
    feats, truth = _blobs()
    rgb, model = kmeans_rgb(feats, 4)
    assert rgb.shape == (3, 6, 8, 3) and rgb.dtype == np.uint8
    labels = model.predict(feats)
    assert _same_partition(labels, truth)
    assert np.array_equal(rgb, palette(4)[model.colour_index][labels])
    assert model.sizes.sum() == pytest.approx(1.0) and (np.diff(model.sizes) <= 0).all()  # largest first


def test_refitting_the_same_clip_gives_the_same_colours() -> None:
    feats, _ = _blobs()
    first = fit_kmeans(feats, 4, seed=0)
    assert np.array_equal(fit_kmeans(feats, 4, seed=0).to_rgb(feats), first.to_rgb(feats))
    # another seed finds the same clusters in another order: matched to the first fit, the
    # colours come back
    other = fit_kmeans(feats, 4, seed=3, reference=first)
    assert np.array_equal(other.to_rgb(feats), first.to_rgb(feats))
    # a later clip of the same scene (bands moved on) keeps each cluster's colour
    later, _ = _blobs(seed=0, t=5)
    refit = fit_kmeans(later, 4, seed=1, reference=first)
    assert np.array_equal(refit.to_rgb(later)[:3], first.to_rgb(later)[:3])


def test_a_permuted_label_refit_is_matched_back() -> None:
    feats, _ = _blobs(seed=2)
    model = fit_kmeans(feats, 4)
    perm = np.array([2, 0, 3, 1])
    shuffled = replace(model, centres=model.centres[perm], sizes=model.sizes[perm])  # colours by position
    assert not np.array_equal(shuffled.to_rgb(feats), model.to_rgb(feats))
    matched = shuffled.matched_to(model)
    assert matched.colour_index.tolist() == model.colour_index[perm].tolist()
    assert np.array_equal(matched.to_rgb(feats), model.to_rgb(feats))


def test_more_clusters_than_the_reference_get_unused_colours() -> None:
    feats, _ = _blobs()
    three = fit_kmeans(feats, 3)
    five = fit_kmeans(feats, 5, reference=three)
    assert len(set(five.colour_index.tolist())) == 5
    assert set(three.colour_index.tolist()) <= set(five.colour_index.tolist())


def test_clusters_of_two_encoders_are_matched_by_overlap() -> None:
    """Two encoders with different dimensions and grids: colours follow what overlaps."""
    feats, truth = _blobs(w=8)
    g = torch.Generator().manual_seed(5)
    # a second "encoder": other dimension, a 3 x 4 grid over the same frame (2 x 2 tokens merged;
    # the bands are two tokens wide, so each coarse token lies in one band)
    centres = torch.randn(4, 12, generator=g) * 4
    coarse_truth = truth[:, ::2, ::2]
    tokens = centres[torch.from_numpy(coarse_truth)] + 0.3 * torch.randn(*coarse_truth.shape, 12, generator=g)
    other = replace(feats, tokens=tokens)
    a, b = fit_kmeans(feats, 4), fit_kmeans(other, 4, seed=9)
    grid = (12, 16)
    la = labels_on_grid(a.predict(feats), feats.crop_box, feats.crop_box, grid)
    lb = labels_on_grid(b.predict(other), other.crop_box, feats.crop_box, grid)
    matched = b.matched_by_overlap(lb, a, la)
    assert np.array_equal(matched.colours[lb], a.colours[la])
    with pytest.raises(UsageError, match="match by overlap"):
        b.matched_to(a)


def test_labels_on_grid_samples_by_source_position() -> None:
    labels = np.arange(6).reshape(1, 2, 3)  # a 2 x 3 grid over the box (30, 0, 90, 40)
    out = labels_on_grid(labels, (30, 0, 90, 40), (30, 0, 90, 40), (4, 6))
    assert out[0].tolist() == [[0, 0, 1, 1, 2, 2]] * 2 + [[3, 3, 4, 4, 5, 5]] * 2


def test_bad_cluster_settings_are_usage_errors() -> None:
    feats, _ = _blobs()
    with pytest.raises(UsageError, match="at least 2 clusters"):
        fit_kmeans(feats, 1)
    with pytest.raises(UsageError, match="cannot fit 200 clusters on 144 tokens"):
        fit_kmeans(feats, 200)
    with pytest.raises(UsageError, match="5 dimensions but the clusters were fitted on 32"):
        fit_kmeans(feats, 3).predict(torch.zeros(2, 5))
