"""PCA of patch features against scikit-learn and hand computations."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch
from sklearn.decomposition import PCA

from jepa_studio.analysis import PatchPCA, fit_frame_bases, fit_pca, pca_map
from jepa_studio.encoders.base import PatchFeatures
from jepa_studio.encoders.pixels import PixelEncoder
from jepa_studio.encoders.preprocess import Preprocessing
from jepa_studio.errors import UsageError


def planted(n: int, d: int, seed: int = 0, offset: float = 2.0) -> torch.Tensor:
    """Random tokens [n, d] with a decaying spectrum (clear gaps between the top components)."""
    g = torch.Generator().manual_seed(seed)
    basis, _ = torch.linalg.qr(torch.randn(d, d, generator=g, dtype=torch.float64))
    scales = torch.cat([torch.tensor([9.0, 6.0, 4.0, 2.5, 1.5]), 0.3 * torch.rand(d - 5, generator=g)])
    z = torch.randn(n, d, generator=g, dtype=torch.float64) * scales.double()
    return (z @ basis.T + offset * torch.randn(d, generator=g, dtype=torch.float64)).float()


def structured_image(height: int = 64, width: int = 96, seed: int = 0) -> np.ndarray:
    """uint8 [H, W, 3]: a gradient background with a disk, a square, stripes and noise."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float64)
    img = np.stack([xx / width, yy / height, 0.5 + 0.0 * xx], axis=-1) * 120
    disk = (yy - 0.4 * height) ** 2 + (xx - 0.3 * width) ** 2 < (0.22 * height) ** 2
    img[disk] = [230, 40, 30]
    img[int(0.5 * height) : int(0.9 * height), int(0.6 * width) : int(0.9 * width)] = [20, 60, 220]
    stripes = (xx // 3) % 2 == 0
    img[int(0.75 * height) :, : int(0.4 * width)][stripes[int(0.75 * height) :, : int(0.4 * width)]] = 250
    img += rng.normal(0, 6, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


def pixel_features(patch_size: int, frames: int = 1) -> PatchFeatures:
    img = structured_image()
    clip = np.stack([np.roll(img, 3 * i, axis=1) for i in range(frames)])
    enc = PixelEncoder(patch_size=patch_size, preprocessing=Preprocessing(short_side=64))
    return enc.encode(clip)


def sklearn_fit(x: torch.Tensor, k: int) -> PCA:
    return PCA(n_components=k, svd_solver="full").fit(x.double().numpy())


def assert_matches_sklearn(pca: PatchPCA, sk: PCA, x: torch.Tensor, same_signs: bool) -> None:
    np.testing.assert_allclose(pca.explained_variance.numpy(), sk.explained_variance_, rtol=1e-5)
    np.testing.assert_allclose(pca.explained_variance_ratio.numpy(), sk.explained_variance_ratio_, rtol=1e-5)
    np.testing.assert_allclose(pca.mean.numpy(), sk.mean_, atol=1e-5)
    ours = pca.components.double().numpy()
    # same subspace: equal projection matrices, and each matched component parallel
    np.testing.assert_allclose(ours.T @ ours, sk.components_.T @ sk.components_, atol=1e-4)
    np.testing.assert_allclose(np.abs(np.sum(ours * sk.components_, axis=1)), 1.0, atol=1e-6)
    np.testing.assert_allclose(ours @ ours.T, np.eye(len(ours)), atol=1e-5)
    proj = pca.transform(x).double().numpy()
    ref = sk.transform(x.double().numpy())
    if same_signs:
        np.testing.assert_allclose(ours, sk.components_, atol=1e-4)
        np.testing.assert_allclose(proj, ref, atol=1e-3 * np.abs(ref).max())
    else:
        signs = np.sign(np.sum(ours * sk.components_, axis=1))
        np.testing.assert_allclose(proj * signs, ref, atol=1e-3 * np.abs(ref).max())


@pytest.mark.parametrize("n, d", [(3000, 40), (30, 120)], ids=["tokens>dims", "tokens<dims"])
def test_random_tokens_match_sklearn(n: int, d: int) -> None:
    x = planted(n, d)
    pca = fit_pca(x, n_components=4)
    # scikit-learn >= 1.5 fixes signs the same way (largest |loading| positive)
    assert_matches_sklearn(pca, sklearn_fit(x, 4), x, same_signs=True)


@pytest.mark.parametrize("patch_size", [4, 16], ids=["384x48", "24x768"])
def test_pixel_features_match_sklearn(patch_size: int) -> None:
    feats = pixel_features(patch_size)
    x = feats.tokens.reshape(-1, feats.dim)
    pca = fit_pca(feats, n_components=3)
    assert_matches_sklearn(pca, sklearn_fit(x, 3), x, same_signs=False)
    assert pca.transform(feats).shape == (*feats.grid, 3)
    assert pca.to_rgb(feats).shape == (*feats.grid, 3)
    assert pca.to_rgb(feats).dtype == np.uint8


def test_signs_are_deterministic_under_token_permutation() -> None:
    x = planted(500, 24, seed=3)
    perm = torch.randperm(500, generator=torch.Generator().manual_seed(1))
    a, b = fit_pca(x, 3), fit_pca(x[perm], 3)
    np.testing.assert_allclose(a.components.numpy(), b.components.numpy(), atol=1e-6)
    comps = a.components.numpy()
    assert np.all(comps[np.arange(3), np.abs(comps).argmax(axis=1)] > 0)
    rgb_a, rgb_b = a.to_rgb(x), b.to_rgb(x)
    assert np.abs(rgb_a.astype(int) - rgb_b.astype(int)).max() <= 1
    # a second run gives the same basis bit for bit
    assert torch.equal(fit_pca(x, 3).components, a.components)


def test_percentile_scaling_by_hand() -> None:
    # column 0: -50..50 (the dominant component); columns 1 and 2 orthogonal to it, smaller
    rng = np.random.default_rng(0)
    c0 = np.arange(101, dtype=np.float64) - 50
    others = rng.normal(size=(101, 2))
    others -= others.mean(axis=0)
    for j in range(2):
        others[:, j] -= (others[:, j] @ c0) / (c0 @ c0) * c0
    others[:, 1] -= (others[:, 1] @ others[:, 0]) / (others[:, 0] @ others[:, 0]) * others[:, 0]
    others *= np.array([5.0, 1.0]) / others.std(axis=0)
    x = torch.tensor(np.column_stack([c0 + 7.0, others]), dtype=torch.float32)
    pca = fit_pca(x, 3, percentiles=(10.0, 90.0))
    # numpy's linear percentile of -50..50 at 10 % is -40, at 90 % is 40
    assert pca.low[0].item() == pytest.approx(-40.0, abs=1e-3)
    assert pca.high[0].item() == pytest.approx(40.0, abs=1e-3)
    expected = np.clip((c0 + 40.0) / 80.0, 0.0, 1.0)
    np.testing.assert_allclose(pca.scaled(x, channels=[0])[:, 0].numpy(), expected, atol=1e-5)
    red = pca.to_rgb(x)[:, 0].astype(int)
    assert np.abs(red - np.round(expected * 255)).max() <= 1
    assert red[0] == 0 and red[10] == 0 and red[-1] == 255
    # the other channels use their own percentiles of their own projections
    proj = pca.transform(x).numpy()
    for c in (1, 2):
        lo, hi = np.percentile(proj[:, c], [10, 90])
        assert pca.low[c].item() == pytest.approx(lo, abs=1e-4)
        assert pca.high[c].item() == pytest.approx(hi, abs=1e-4)


def test_channels_choose_components() -> None:
    x = planted(400, 16)
    pca = fit_pca(x, 4)
    rgb = pca.to_rgb(x, channels=(3, 0, 1))
    direct = (pca.scaled(x, [3, 0, 1]) * 255).round().numpy()
    assert np.abs(rgb.astype(int) - direct).max() == 0
    np.testing.assert_array_equal(rgb[:, 1], pca.to_rgb(x)[:, 0])
    with pytest.raises(UsageError):
        pca.to_rgb(x, channels=(0, 1, 4))


def foreground_clip() -> tuple[torch.Tensor, np.ndarray]:
    """tokens [2, 8, 10, 12]: a compact foreground block far from a background cluster."""
    g = torch.Generator().manual_seed(5)
    t, h, w, d = 2, 8, 10, 12
    fg = np.zeros((t, h, w), dtype=bool)
    fg[:, 2:5, 3:7] = True
    tokens = torch.randn(t, h, w, d, generator=g) * 0.5
    tokens[..., 0] += 1.0
    tokens[torch.from_numpy(fg)] += torch.tensor([-6.0, 5.0] + [0.0] * (d - 2))
    # texture within the foreground along other axes, for the refit basis
    tokens[torch.from_numpy(fg), 4] += torch.linspace(-2, 2, int(fg.sum()))
    return tokens, fg


@pytest.mark.parametrize("side", ["auto", "high", "low"])
def test_foreground_mask_separates_cluster(side: str) -> None:
    tokens, fg = foreground_clip()
    pca = fit_pca(tokens, 3, foreground_threshold=0.5, foreground_side=side)
    mask = pca.foreground_mask(tokens)
    assert mask.shape == fg.shape and mask.dtype == bool
    if side == "auto":
        np.testing.assert_array_equal(mask, fg)
    else:
        # exactly one of "high" and "low" picks the cluster; the other picks the background
        assert np.array_equal(mask, fg) or np.array_equal(mask, ~fg)
    rgb = pca.to_rgb(tokens)
    assert np.all(rgb[~mask] == 0)
    assert (rgb[mask].max(axis=-1) > 0).mean() > 0.9
    # the colour basis is refitted on the foreground tokens only
    again = fit_pca(tokens[torch.from_numpy(mask)], 3)
    np.testing.assert_allclose(pca.components.numpy(), again.components.numpy(), atol=1e-5)
    assert pca.n_samples == int(mask.sum())


def test_foreground_sides_are_opposite() -> None:
    tokens, fg = foreground_clip()
    high = fit_pca(tokens, 3, foreground_threshold=0.5, foreground_side="high").foreground_mask(tokens)
    low = fit_pca(tokens, 3, foreground_threshold=0.5, foreground_side="low").foreground_mask(tokens)
    assert not np.any(high & low)
    assert np.array_equal(high | low, np.ones_like(fg))


def test_no_threshold_means_all_foreground() -> None:
    feats = pixel_features(16, frames=2)
    pca = fit_pca(feats)
    assert pca.foreground is None
    assert pca.foreground_mask(feats).shape == feats.grid
    assert pca.foreground_mask(feats).all()


def test_shared_basis_equals_fit_on_concatenated_tokens() -> None:
    a = pixel_features(8, frames=2)
    b = replace(a, tokens=torch.flip(a.tokens, dims=[2]) * 0.8 + 0.1)
    shared = fit_pca([a, b], 3)
    cat = torch.cat([a.tokens.reshape(-1, a.dim), b.tokens.reshape(-1, b.dim)])
    ref = fit_pca(cat, 3)
    np.testing.assert_allclose(shared.components.numpy(), ref.components.numpy(), atol=1e-6)
    np.testing.assert_allclose(shared.explained_variance.numpy(), ref.explained_variance.numpy(), rtol=1e-6)
    np.testing.assert_allclose(shared.low.numpy(), ref.low.numpy(), atol=1e-5)
    assert shared.n_samples == cat.shape[0]
    assert_matches_sklearn(shared, sklearn_fit(cat, 3), cat, same_signs=False)


def test_max_tokens_subsamples_with_seed() -> None:
    x = planted(2000, 16)
    a = fit_pca(x, 3, max_tokens=500, seed=7)
    b = fit_pca(x, 3, max_tokens=500, seed=7)
    c = fit_pca(x, 3, max_tokens=500, seed=8)
    assert a.n_samples == 500
    assert torch.equal(a.components, b.components)
    assert not torch.equal(a.mean, c.mean)
    # the subsample's basis is close to the full one (clear spectral gaps)
    full = fit_pca(x, 3)
    cos = (a.components * full.components).sum(dim=1).abs()
    assert torch.all(cos > 0.99)


def test_align_to_flips_signs_to_reference() -> None:
    x = planted(600, 20, seed=2)
    base = fit_pca(x, 3)
    flip = torch.tensor([-1.0, 1.0, -1.0])
    reference = replace(base, components=base.components * flip[:, None])
    aligned = fit_pca(x, 3, align_to=reference)
    np.testing.assert_allclose(aligned.components.numpy(), reference.components.numpy(), atol=1e-6)
    np.testing.assert_allclose(aligned.low.numpy()[[0, 2]], -base.high.numpy()[[0, 2]], atol=1e-4)
    rgb, rgb_aligned = base.to_rgb(x).astype(int), aligned.to_rgb(x).astype(int)
    assert np.abs(rgb_aligned[:, 0] - (255 - rgb[:, 0])).max() <= 1
    assert np.abs(rgb_aligned[:, 1] - rgb[:, 1]).max() <= 1


def test_frame_bases_keep_colours_when_the_convention_would_flip() -> None:
    # the dominant direction has two nearly equal loadings of opposite sign; between the
    # two frames which one is larger changes, so the sign convention alone flips it
    g = torch.Generator().manual_seed(0)
    h, w, d = 6, 8, 6
    s = torch.linspace(-3, 3, h * w)
    tokens = []
    for u in ([1.0, -0.98], [0.98, -1.0]):
        direction = torch.tensor(u + [0.0] * (d - 2))
        direction = direction / direction.norm()
        z = s[:, None] * direction + 0.05 * torch.randn(h * w, d, generator=g)
        z[:, 2] += torch.linspace(1, -1, h * w) * 0.8 + 0.3 * torch.randn(h * w, generator=g)
        z[:, 3] += torch.randn(h * w, generator=g) * 0.4
        tokens.append(z.reshape(h, w, d))
    feats = PatchFeatures(
        tokens=torch.stack(tokens), frame_indices=((0,), (1,)), encoder="test", checkpoint="-",
        pretrained=True, patch_size=16, tubelet_size=1, input_size=(96, 128), crop_box=(0, 0, 128, 96),
    )
    independent = [fit_pca(feats.tokens[t], 3) for t in range(2)]
    assert (independent[0].components[0] @ independent[1].components[0]) < 0  # the flip happens
    rgb, frame_bases = pca_map(feats, basis="frame")
    assert rgb.shape == (2, h, w, 3) and rgb.dtype == np.uint8
    assert np.abs(rgb[0, ..., 0].astype(int) - rgb[1, ..., 0].astype(int)).mean() < 10
    bases = fit_frame_bases(feats, 3)
    assert (bases[0].components[0] @ bases[1].components[0]) > 0.9
    np.testing.assert_array_equal(rgb[1], bases[1].to_rgb(feats.tokens[1]))
    assert len(frame_bases) == 2 and torch.equal(frame_bases[1].components, bases[1].components)
    clip, clip_bases = pca_map(feats, basis="clip")
    np.testing.assert_array_equal(clip, fit_pca(feats).to_rgb(feats))
    assert len(clip_bases) == 1
    # a reference basis is used as is (exports keep one basis across the chunks of a video)
    other = fit_pca(feats.tokens[0], 3)
    np.testing.assert_array_equal(pca_map(feats, basis="clip", reference=other)[0], other.to_rgb(feats))


def test_user_errors_are_clear() -> None:
    x = planted(50, 8)
    with pytest.raises(UsageError, match="components"):
        fit_pca(x, 9)
    with pytest.raises(UsageError, match="dimensions"):
        fit_pca(x, 3).transform(torch.zeros(4, 7))
    with pytest.raises(UsageError, match="one dimension"):
        fit_pca([x, torch.zeros(10, 7)], 3)
    with pytest.raises(UsageError, match="threshold"):
        fit_pca(x, 3, foreground_threshold=1.5)
    with pytest.raises(UsageError):
        pca_map(pixel_features(16), basis="session")  # type: ignore[arg-type]


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_fit_runs_on_the_features_device() -> None:
    x = planted(3000, 64)
    cpu = fit_pca(x, 3)
    gpu = fit_pca(x.cuda(), 3)
    assert gpu.components.device.type == "cuda"
    np.testing.assert_allclose(gpu.components.cpu().numpy(), cpu.components.numpy(), atol=1e-4)
    np.testing.assert_allclose(gpu.explained_variance.cpu().numpy(), cpu.explained_variance.numpy(), rtol=1e-4)
    assert np.abs(gpu.to_rgb(x.cuda()).astype(int) - cpu.to_rgb(x).astype(int)).max() <= 1


def test_wide_tokens_use_the_iterative_solver_and_match_sklearn() -> None:
    # D > 512 takes the subspace-iteration path; a flat spectrum forces its fallback
    x = planted(700, 520, seed=4)
    assert_matches_sklearn(fit_pca(x, 3), sklearn_fit(x, 3), x, same_signs=True)
    flat = torch.randn(700, 520, generator=torch.Generator().manual_seed(9)).double()
    pca = fit_pca(flat.float(), 3)
    cov = np.cov(flat.numpy(), rowvar=False)  # float64 reference
    eig = np.linalg.eigvalsh(cov)[::-1]
    np.testing.assert_allclose(pca.explained_variance.numpy(), eig[:3], rtol=1e-5)
    np.testing.assert_allclose(pca.explained_variance_ratio.numpy(), eig[:3] / np.trace(cov), rtol=1e-5)
