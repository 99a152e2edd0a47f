"""Temporal difference, patch similarity and layer norm against explicit computations."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from jepa_studio.analysis import layer_norm_tokens, patch_similarity, temporal_difference
from jepa_studio.encoders.base import PatchFeatures
from jepa_studio.errors import UsageError


def small_tokens(seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(4, 3, 5, 6, generator=g) * 2 + 0.5


def as_features(tokens: torch.Tensor) -> PatchFeatures:
    t, h, w, _ = tokens.shape
    return PatchFeatures(
        tokens=tokens, frame_indices=tuple((2 * i, 2 * i + 1) for i in range(t)), encoder="test",
        checkpoint="-", pretrained=True, patch_size=16, tubelet_size=2, input_size=(16 * h, 16 * w),
        crop_box=(0, 0, 16 * w, 16 * h),
    )


def test_temporal_difference_by_hand() -> None:
    z = small_tokens()
    out = temporal_difference(as_features(z))
    assert out.shape == (3, 3, 5) and out.dtype == torch.float32
    for t in range(3):
        for r in range(3):
            for c in range(5):
                diff = z[t + 1, r, c] - z[t, r, c]
                assert out[t, r, c].item() == pytest.approx(math.sqrt(float((diff * diff).sum())), rel=1e-6)
    # a static clip has no difference; one step gives an empty map
    static = z[:1].expand(3, -1, -1, -1)
    assert torch.count_nonzero(temporal_difference(static)) == 0
    assert temporal_difference(z[:1]).shape == (0, 3, 5)


def test_patch_similarity_matches_cosine_similarity() -> None:
    z = small_tokens(1)
    for t, r, c in [(0, 0, 0), (2, 1, 3), (-1, -1, -1)]:
        out = patch_similarity(as_features(z), t, r, c)
        ref = F.cosine_similarity(z, z[t, r, c].expand_as(z), dim=-1)
        assert out.shape == (4, 3, 5)
        torch.testing.assert_close(out, ref, atol=1e-6, rtol=1e-6)
        assert out[t, r, c].item() == pytest.approx(1.0, abs=1e-6)
    # a negated token is exactly opposite
    z2 = z.clone()
    z2[3, 2, 4] = -z2[0, 0, 0] * 3
    assert patch_similarity(z2, 0, 0, 0)[3, 2, 4].item() == pytest.approx(-1.0, abs=1e-6)


def test_patch_similarity_rejects_positions_outside_the_grid() -> None:
    z = small_tokens()
    with pytest.raises(UsageError, match="row"):
        patch_similarity(z, 0, 3, 0)
    with pytest.raises(UsageError, match="time step"):
        patch_similarity(z, 4, 0, 0)


def test_layer_norm_tokens_normalises_each_token() -> None:
    z = small_tokens().double() * 5 + 3
    out = layer_norm_tokens(z)
    assert out.dtype == torch.float64 and out.shape == z.shape
    np.testing.assert_allclose(out.mean(dim=-1).numpy(), 0.0, atol=1e-6)
    np.testing.assert_allclose(out.var(dim=-1, unbiased=False).numpy(), 1.0, atol=1e-4)
    mean = z.mean(dim=-1, keepdim=True)
    var = z.var(dim=-1, unbiased=False, keepdim=True)
    torch.testing.assert_close(out, (z - mean) / torch.sqrt(var + 1e-5), atol=1e-5, rtol=1e-5)
    feats = layer_norm_tokens(as_features(z.float()))
    assert isinstance(feats, PatchFeatures)
    torch.testing.assert_close(feats.tokens, out.float(), atol=1e-5, rtol=1e-5)
