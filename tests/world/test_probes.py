"""Temporal probes: R² on held-out clips or held-out time only, readouts, the pendulum's and the
garden sample's targets."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from jepa_studio.encoders.base import PatchFeatures
from jepa_studio.world.probes import (
    MAX_GRID, ProbeTargets, held_out_blocks, pendulum_targets, pooled_r2, probe, r2_score, readout, scene_targets,
)


def _features(tokens: torch.Tensor, start: int = 0) -> PatchFeatures:
    return PatchFeatures(
        tokens=tokens.float(), frame_indices=tuple((start + t,) for t in range(len(tokens))), encoder="probe-test",
        checkpoint="-", pretrained=True, patch_size=16, tubelet_size=1, input_size=(16, 16), crop_box=(0, 0, 16, 16),
    )


def test_r2_is_scored_on_held_out_clips_not_on_the_training_clips():
    """Latents that only say which time step it is, and targets that follow the same curve in
    every training clip but the opposite one in the held-out clip: fitted on the training
    clips the probe is near perfect there, and wrong on the held-out clip. The reported R²
    must be the held-out one."""
    n, t = 4, 30
    onehot = torch.eye(t)[:, None, None, :]  # [T, 1, 1, T]
    curve = np.sin(np.arange(t) / 3.0)
    values = tuple(np.stack([curve if c < n - 1 else -curve], 1) for c in range(n))
    targets = ProbeTargets(("y",), values, {"y": (0,)}, "clips")
    result = probe([_features(onehot)] * n, targets, val_fraction=0.25)
    assert result.r2("y", "mean") < -2.0 and result.r2("y", "tokens") < -2.0
    assert "3 clips" in result.split and "1 held-out" in result.split
    # the same targets in the held-out clip: near perfect
    same = ProbeTargets(("y",), tuple(np.stack([curve], 1) for _ in range(n)), {"y": (0,)}, "clips")
    assert probe([_features(onehot)] * n, same).r2("y") > 0.9


def test_r2_is_scored_on_blocks_held_out_in_time():
    """One clip: latents carry the target linearly on the training steps only (noise on the
    held-out blocks): R² must be low; carrying it everywhere: high."""
    rng = np.random.default_rng(0)
    t = 80
    held = held_out_blocks(t, 0.25)
    assert held.sum() == 20 and held[-1] and not held[0]
    assert list(np.flatnonzero(held)) == list(range(30, 40)) + list(range(70, 80))
    y = np.sin(np.arange(t) / 5.0)
    x = torch.tensor(rng.normal(size=(t, 1, 1, 8)))
    x[~held, 0, 0, 0] = torch.tensor(y[~held])
    targets = ProbeTargets(("y",), (y[:, None],), {"y": (0,)}, "time")
    result = probe([_features(x)], targets, val_fraction=0.25)
    assert result.r2("y") < 0.2 and "6 of 8 blocks" in result.split
    x[held, 0, 0, 0] = torch.tensor(y[held])
    assert probe([_features(x)], targets, val_fraction=0.25).r2("y") > 0.95


def test_summaries_pool_the_residuals_so_a_nearly_constant_target_cannot_dominate():
    assert pooled_r2([(1.0, 10.0), (1e-6, 1e-9)]) == pytest.approx(1 - (1 + 1e-6) / (10 + 1e-9))
    assert r2_score(np.array([1.0, 1.0 + 1e-5]), np.array([1.1, 1.1])) < -1000  # alone it explodes
    assert np.isnan(pooled_r2([(1.0, 0.0)]))


def test_pendulum_state_is_read_from_a_latent_that_holds_it(episodes):
    """A latent that holds (sin, cos, omega) linearly (plus noise): R² near 1 held out; the
    target of a step is the state of its last frame."""
    rng = np.random.default_rng(1)
    mixing = rng.normal(size=(3, 6))
    feats = []
    for ep in episodes:
        s = ep.states.astype(np.float64)
        state = np.stack([np.sin(s[:, 0]), np.cos(s[:, 0]), s[:, 1]], 1)
        mix = state @ mixing + 0.01 * rng.normal(size=(len(s), 6))
        feats.append(_features(torch.tensor(mix)[:, None, None, :]))
    result = probe(feats, pendulum_targets(episodes))
    for name in ("θ", "ω"):
        for pooling in ("mean", "tokens"):
            assert result.r2(name, pooling) > 0.95, (name, pooling)
    assert {s.target for s in result.scores} == {"sin θ", "cos θ", "ω"}
    assert all(s.n_test == 24 for s in result.scores)  # one held-out episode of 24 frames


def test_readouts_mean_pool_and_cap_the_grid():
    x = torch.arange(2 * 12 * 10 * 3, dtype=torch.float32).reshape(2, 12, 10, 3)
    np.testing.assert_allclose(readout(x, "mean"), x.mean(dim=(1, 2)).numpy())
    tokens = readout(x, "tokens")
    assert tokens.shape == (2, min(12, MAX_GRID) * min(10, MAX_GRID) * 3)
    assert readout(x[:, :4, :4], "tokens").shape == (2, 48)


def test_r2_by_formula():
    y = np.array([1.0, 2.0, 3.0, 4.0])
    assert r2_score(y, y) == 1.0 and r2_score(y, np.full(4, 2.5)) == 0.0
    assert np.isnan(r2_score(np.ones(4), np.ones(4)))


def test_garden_sample_targets_follow_the_points():
    from jepa_studio.video.synthetic import SampleScene, TRACKED_POINTS

    truth = SampleScene((64, 36), 24.0).ground_truth(10)
    targets = scene_targets(truth)
    assert targets.held_out == "time" and len(targets.names) == 4 * len(TRACKED_POINTS)
    assert targets.values[0].shape == (10, 4 * len(TRACKED_POINTS))
    k = TRACKED_POINTS.index("ball")
    np.testing.assert_allclose(targets.values[0][:, 4 * k : 4 * k + 2], truth.xy[k])
    np.testing.assert_array_equal(targets.valid[0][:, 4 * k], truth.visible[k])
    assert set(targets.summary) == {"position", "velocity"}


def test_pixel_probes_on_the_pendulum(episodes):
    """What the raw pixels hold: the angle, from one frame (R² near 1 held out)."""
    from jepa_studio.encoders.preprocess import Preprocessing
    from jepa_studio.encoders.registry import load_encoder
    from jepa_studio.world.latents import encode_latents

    enc = load_encoder("pixels")
    enc.preprocessing = Preprocessing(short_side=32)
    result = probe([encode_latents(enc, ep.frames) for ep in episodes], pendulum_targets(episodes))
    assert result.r2("θ", "tokens") > 0.9
