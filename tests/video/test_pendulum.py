"""The action-conditioned pendulum: physics against formulas, the renderer, episodes."""

from __future__ import annotations

import math

import numpy as np
import pytest

from jepa_studio.errors import UsageError
from jepa_studio.video.pendulum import (
    BOB_FRACTION,
    ROD_FRACTION,
    PendulumEpisode,
    PendulumParams,
    pendulum_dataset,
    pendulum_energy,
    random_actions,
    render_pendulum,
    simulate_pendulum,
    step,
)

FREE = PendulumParams(damping=0.0)


def _roll(state: tuple[float, float], n: int, params: PendulumParams, action: float = 0.0) -> np.ndarray:
    out = [np.asarray(state, np.float64)]
    for _ in range(n):
        out.append(step(out[-1], action, params))
    return np.stack(out)


def _energy_by_hand(s: np.ndarray, p: PendulumParams) -> np.ndarray:
    # E = 1/2 m l^2 w^2 + m g l (1 - cos theta)
    return 0.5 * p.mass * p.length**2 * s[:, 1] ** 2 + p.mass * p.gravity * p.length * (1 - np.cos(s[:, 0]))


def test_energy_is_conserved_without_damping_or_torque() -> None:
    traj = _roll((2.0, 0.5), 400, FREE)  # large swings, 20 s
    energy = _energy_by_hand(traj, FREE)
    assert np.allclose(pendulum_energy(traj, FREE), energy)
    assert np.abs(energy - energy[0]).max() / energy[0] < 1e-4
    assert np.ptp(traj[:, 0]) > 3.0  # it really swung


def test_damping_decays_energy() -> None:
    p = PendulumParams(damping=0.3)
    energy = _energy_by_hand(_roll((1.5, 0.0), 200, p), p)
    assert np.all(np.diff(energy) <= 1e-9)
    assert energy[-1] < 0.2 * energy[0]


def test_small_angle_motion_matches_the_harmonic_solution() -> None:
    p = PendulumParams(gravity=9.81, length=0.5, damping=0.0, dt=0.02)
    theta0 = 0.02
    traj = _roll((theta0, 0.0), 300, p)
    t = np.arange(len(traj)) * p.dt
    w = math.sqrt(p.gravity / p.length)
    # theta(t) = theta0 cos(w t) for small angles
    assert np.abs(traj[:, 0] - theta0 * np.cos(w * t)).max() < 0.005 * theta0
    # period from the upward zero crossings of theta, interpolated
    th = traj[:, 0]
    idx = np.nonzero((th[:-1] < 0) & (th[1:] >= 0))[0]
    crossings = t[idx] + p.dt * (-th[idx] / (th[idx + 1] - th[idx]))
    period = np.diff(crossings).mean()
    assert period == pytest.approx(2 * math.pi * math.sqrt(p.length / p.gravity), rel=2e-3)


def test_constant_torque_settles_where_gravity_balances_it() -> None:
    p = PendulumParams(damping=2.0, max_torque=5.0)
    torque = 3.0
    final = _roll((0.0, 0.0), 600, p, action=torque)[-1]
    # m g l sin(theta) = tau at rest
    assert final[0] == pytest.approx(math.asin(torque / (p.mass * p.gravity * p.length)), abs=1e-3)
    assert abs(final[1]) < 1e-3


def test_torque_changes_the_trajectory_and_is_clipped() -> None:
    p = PendulumParams()
    free = _roll((0.3, 0.0), 20, p, action=0.0)
    pushed = _roll((0.3, 0.0), 20, p, action=2.0)
    assert np.all(pushed[1:, 0] > free[1:, 0])  # positive torque turns theta up
    assert np.array_equal(step(np.array([0.3, 0.0]), 100.0, p), step(np.array([0.3, 0.0]), p.max_torque, p))
    assert np.array_equal(step(np.array([0.3, 0.0]), -100.0, p), step(np.array([0.3, 0.0]), -p.max_torque, p))


def _bob_centroid(img: np.ndarray) -> tuple[float, float]:
    f = img.astype(np.int32)
    # the bob is the only red thing (R - G is about 150 inside it, under 10 elsewhere)
    w = np.clip((f[..., 0] - f[..., 1] - 20) / 100.0, 0, 1)
    ys, xs = np.mgrid[0 : img.shape[0], 0 : img.shape[1]] + 0.5
    return float((w * xs).sum() / w.sum()), float((w * ys).sum() / w.sum())


@pytest.mark.parametrize("size", [64, 96])
@pytest.mark.parametrize("theta", [0.0, 0.7, math.pi / 2, -2.0, math.pi])
def test_renderer_puts_the_bob_where_theta_says(theta: float, size: int) -> None:
    img = render_pendulum(theta, size)
    assert img.shape == (size, size, 3) and img.dtype == np.uint8
    # theta = 0 hangs straight down from the centre; positive theta swings right
    expected = (size / 2 + ROD_FRACTION * size * math.sin(theta), size / 2 + ROD_FRACTION * size * math.cos(theta))
    x, y = _bob_centroid(img)
    assert x == pytest.approx(expected[0], abs=0.6)
    assert y == pytest.approx(expected[1], abs=0.6)
    # anti-aliased: the bob's rim has in-between values, not a hard two-colour edge
    rim = np.abs(np.hypot(*(np.mgrid[0:size, 0:size] + 0.5 - np.array(expected[::-1])[:, None, None])) - BOB_FRACTION * size) < 0.5
    levels = img[rim][:, 1]
    assert len(np.unique(levels)) > 3


def test_episode_layout_and_action_timing() -> None:
    acts = np.zeros(12, np.float32)
    ep = simulate_pendulum(12, acts, size=32, initial_state=(0.4, 0.0))
    assert isinstance(ep, PendulumEpisode) and len(ep) == 12
    assert ep.frames.shape == (12, 32, 32, 3) and ep.frames.dtype == np.uint8
    assert ep.actions.shape == (12, 1) and ep.actions.dtype == np.float32
    assert ep.states.shape == (12, 2) and ep.states.dtype == np.float32
    assert np.allclose(ep.states[0], (0.4, 0.0))
    for t in range(11):  # states[t + 1] = step(states[t], actions[t])
        assert np.allclose(ep.states[t + 1], step(ep.states[t].astype(np.float64), float(ep.actions[t, 0])), atol=1e-5)
    for t in (0, 5, 11):
        assert np.array_equal(ep.frames[t], render_pendulum(float(ep.states[t, 0]), 32))
    # an action taken after frame 5 changes frame 6 onwards, never frames up to 5
    kicked = acts.copy()
    kicked[5] = 3.0
    ep2 = simulate_pendulum(12, kicked, size=32, initial_state=(0.4, 0.0))
    assert np.array_equal(ep.states[:6], ep2.states[:6]) and np.array_equal(ep.frames[:6], ep2.frames[:6])
    assert ep2.states[6, 1] > ep.states[6, 1]
    assert not np.array_equal(ep.frames[7:], ep2.frames[7:])


def test_random_episodes_are_seeded_and_actions_matter() -> None:
    a = simulate_pendulum(40, "random", seed=1, size=32)
    b = simulate_pendulum(40, "random", seed=1, size=32)
    assert np.array_equal(a.frames, b.frames) and np.array_equal(a.actions, b.actions)
    c = simulate_pendulum(40, "random", seed=2, size=32)
    assert not np.array_equal(a.actions, c.actions)
    # the same start with no torque ends up elsewhere, in the states and in the pixels
    still = simulate_pendulum(40, None, seed=1, size=32, initial_state=a.states[0])
    assert np.abs(still.states[-1, 0] - a.states[-1, 0]) > 0.05
    assert np.abs(still.frames[-1].astype(int) - a.frames[-1]).sum() > 0


def test_random_actions_are_smooth_and_bounded() -> None:
    acts = random_actions(2000, np.random.default_rng(0), max_torque=2.5)
    assert acts.shape == (2000, 1) and acts.dtype == np.float32
    assert np.abs(acts).max() <= 2.5 and np.abs(acts).max() > 2.0
    changes = np.count_nonzero(np.diff(acts[:, 0]))
    assert 2000 / 12 - 40 < changes < 2000 / 3  # held for 3 to 12 frames at a time
    assert 0.1 < np.mean(acts[:, 0] == 0) < 0.35  # some free swinging
    assert abs(acts.mean()) < 0.25  # no drift to one side


def test_dataset_is_reproducible_and_varied() -> None:
    data = pendulum_dataset(3, 10, seed=5, size=24)
    again = pendulum_dataset(3, 10, seed=5, size=24)
    assert len(data) == 3 and all(e.frames.shape == (10, 24, 24, 3) for e in data)
    assert all(np.array_equal(x.frames, y.frames) for x, y in zip(data, again))
    assert len({e.states[0, 0].item() for e in data}) == 3


@pytest.mark.parametrize(
    "kwargs",
    [
        {"n_frames": 0},
        {"n_frames": 5, "actions": "sometimes"},
        {"n_frames": 5, "actions": np.zeros(4)},
        {"n_frames": 5, "actions": np.array([0, 1, np.nan, 0, 0])},
        {"n_frames": 5, "size": 4},
    ],
)
def test_bad_arguments_raise_usage_errors(kwargs: dict) -> None:
    with pytest.raises(UsageError):
        simulate_pendulum(**kwargs)
