"""An action-conditioned pendulum: numpy dynamics, a small renderer, and episodes of both.

The world models learn "what happens next, given what I do" from these videos: each frame
shows the pendulum, and one torque action per frame pushes it. The action is invisible in
the pixels except through the motion it causes.

Conventions
-----------
- ``theta`` is the angle from hanging straight down, in radians; a positive angle puts the
  bob to the *right* of the pivot on screen. ``omega`` is d(theta)/dt in rad/s.
- The equation of motion is ``m l^2 theta'' = -m g l sin(theta) - b omega + tau``, with
  ``b`` the damping coefficient and ``tau`` the applied torque in N m, clipped to
  ``[-max_torque, max_torque]``.
- One step advances ``dt`` seconds (one video frame) with ``substeps`` RK4 steps, holding
  the torque constant.
- In an episode, ``actions[t]`` is the torque applied after frame ``t``: it takes
  ``states[t]`` to ``states[t + 1]``. The last action has no frame after it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from ..errors import UsageError


@dataclass(frozen=True)
class PendulumParams:
    """Physical and numerical parameters of the pendulum (SI units).

    Attributes
    ----------
    gravity
        g, m/s^2.
    length
        Rod length l, m (the renderer draws the rod at a fixed fraction of the image).
    mass
        Bob mass m, kg (the rod is massless).
    damping
        Viscous damping coefficient b, N m s: a torque ``-b * omega``.
    max_torque
        Actions are clipped to ``[-max_torque, max_torque]`` N m.
    dt
        Seconds between two frames.
    substeps
        RK4 steps per frame.
    """

    gravity: float = 9.81
    length: float = 1.0
    mass: float = 1.0
    damping: float = 0.05
    max_torque: float = 4.0
    dt: float = 0.05
    substeps: int = 4


@dataclass(frozen=True)
class PendulumEpisode:
    """One simulated video with its actions and true states.

    Attributes
    ----------
    frames
        uint8 [T, H, W, 3]: frame ``t`` shows ``states[t]``.
    actions
        float32 [T, 1]: torque (N m, already clipped) applied between frame ``t`` and ``t + 1``.
    states
        float32 [T, 2]: (theta, omega) shown in each frame, theta in radians (not wrapped).
    fps
        Frames per second (``1 / dt``).
    """

    frames: np.ndarray
    actions: np.ndarray
    states: np.ndarray
    fps: float = 1.0 / PendulumParams.dt

    def __len__(self) -> int:
        return int(self.frames.shape[0])


def _derivative(theta: float, omega: float, torque: float, p: PendulumParams) -> tuple[float, float]:
    inertia = p.mass * p.length**2
    alpha = (-p.mass * p.gravity * p.length * math.sin(theta) - p.damping * omega + torque) / inertia
    return omega, alpha


def step(state: np.ndarray, action: float, params: PendulumParams | None = None) -> np.ndarray:
    """Advance (theta, omega) by one frame (``params.dt`` s) under a constant torque.

    Parameters
    ----------
    state
        float [2]: (theta, omega).
    action
        Torque in N m; clipped to ``[-max_torque, max_torque]``.
    params
        Pendulum parameters (defaults when None).

    Returns
    -------
    np.ndarray
        float64 [2]: the state one frame later.
    """
    p = params or PendulumParams()
    torque = float(np.clip(float(action), -p.max_torque, p.max_torque))
    theta, omega = float(state[0]), float(state[1])
    h = p.dt / max(int(p.substeps), 1)
    for _ in range(max(int(p.substeps), 1)):
        k1t, k1w = _derivative(theta, omega, torque, p)
        k2t, k2w = _derivative(theta + 0.5 * h * k1t, omega + 0.5 * h * k1w, torque, p)
        k3t, k3w = _derivative(theta + 0.5 * h * k2t, omega + 0.5 * h * k2w, torque, p)
        k4t, k4w = _derivative(theta + h * k3t, omega + h * k3w, torque, p)
        theta += h / 6.0 * (k1t + 2 * k2t + 2 * k3t + k4t)
        omega += h / 6.0 * (k1w + 2 * k2w + 2 * k3w + k4w)
    return np.array([theta, omega], np.float64)


def pendulum_energy(state: np.ndarray, params: PendulumParams | None = None) -> np.ndarray:
    """Total mechanical energy (J) of states [..., 2]: kinetic plus potential (zero at rest)."""
    p = params or PendulumParams()
    s = np.asarray(state, np.float64)
    theta, omega = s[..., 0], s[..., 1]
    return 0.5 * p.mass * p.length**2 * omega**2 + p.mass * p.gravity * p.length * (1.0 - np.cos(theta))


def random_actions(
    n_frames: int,
    rng: np.random.Generator,
    max_torque: float = PendulumParams.max_torque,
    hold: tuple[int, int] = (3, 12),
) -> np.ndarray:
    """Smooth-ish random torques, float32 [n_frames, 1]: piecewise constant.

    Each value is held for a random number of frames in ``hold`` (inclusive), then a new
    one is drawn uniformly from ``[-max_torque, max_torque]``; about one hold in five is
    zero (letting the pendulum swing freely), so a model sees both pushed and free motion.
    """
    out = np.zeros((int(n_frames), 1), np.float32)
    t = 0
    while t < n_frames:
        length = int(rng.integers(hold[0], hold[1] + 1))
        value = 0.0 if rng.random() < 0.2 else float(rng.uniform(-max_torque, max_torque))
        out[t : t + length, 0] = value
        t += length
    return out


# --------------------------------------------------------------------------- rendering

_BACKGROUND_CENTRE = np.array([240, 236, 226], np.float32)
_BACKGROUND_EDGE = np.array([214, 210, 200], np.float32)
_ROD = np.array([62, 64, 76], np.float32)
_BOB = np.array([212, 62, 52], np.float32)
_PIVOT = np.array([40, 42, 52], np.float32)

#: rod length and bob radius as fractions of the image size
ROD_FRACTION = 0.36
BOB_FRACTION = 0.095


@lru_cache(maxsize=8)
def _canvas(size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Background float32 [size, size, 3] (a soft vignette) and pixel-centre x, y grids."""
    coords = np.arange(size, dtype=np.float32) + 0.5
    x = np.broadcast_to(coords[None, :], (size, size)).copy()
    y = np.broadcast_to(coords[:, None], (size, size)).copy()
    c = size / 2.0
    r = np.clip(np.hypot(x - c, y - c) / (0.75 * size), 0, 1) ** 2
    bg = _BACKGROUND_CENTRE + (_BACKGROUND_EDGE - _BACKGROUND_CENTRE) * r[..., None]
    for a in (bg, x, y):
        a.setflags(write=False)
    return bg, x, y


def _coverage(sdf: np.ndarray) -> np.ndarray:
    return np.clip(0.5 - sdf, 0.0, 1.0)[..., None]


def bob_position(theta: float, size: int = 64) -> tuple[float, float]:
    """Where :func:`render_pendulum` draws the bob's centre: (x, y) in pixels, y down."""
    c = size / 2.0
    rod = ROD_FRACTION * size
    return c + rod * math.sin(theta), c + rod * math.cos(theta)


def render_pendulum(theta: float, size: int = 64) -> np.ndarray:
    """Draw the pendulum at angle ``theta`` (radians, 0 = hanging down, + = bob to the right).

    The pivot is at the image centre, so the pendulum can swing all the way round.
    Edges are anti-aliased (one-pixel coverage ramps).

    Returns
    -------
    np.ndarray
        uint8 [size, size, 3].
    """
    size = int(size)
    if size < 8:
        raise UsageError(f"the pendulum image must be at least 8 pixels wide, got {size}")
    bg, x, y = _canvas(size)
    img = bg.copy()
    c = size / 2.0
    bx, by = bob_position(theta, size)
    # rod: a capsule from the pivot to the bob centre
    pax, pay = x - c, y - c
    bax, bay = bx - c, by - c
    h = np.clip((pax * bax + pay * bay) / max(bax * bax + bay * bay, 1e-9), 0.0, 1.0)
    rod = np.hypot(pax - bax * h, pay - bay * h) - 0.022 * size
    a = _coverage(rod)
    img = img * (1 - a) + _ROD * a
    # bob: a lit disc
    bob_r = BOB_FRACTION * size
    d = np.hypot(x - bx, y - by)
    light = np.clip(1.0 - np.hypot(x - (bx - 0.35 * bob_r), y - (by - 0.35 * bob_r)) / (1.6 * bob_r), 0, 1)
    bob_col = _BOB * (0.78 + 0.32 * light[..., None])
    a = _coverage(d - bob_r)
    img = img * (1 - a) + bob_col * a
    # pivot on top
    a = _coverage(np.hypot(x - c, y - c) - 0.035 * size)
    img = img * (1 - a) + _PIVOT * a
    return np.clip(img + 0.5, 0, 255).astype(np.uint8)


# --------------------------------------------------------------------------- episodes


def _actions_array(actions: np.ndarray | None | str, n_frames: int, rng: np.random.Generator, p: PendulumParams) -> np.ndarray:
    if isinstance(actions, str):
        if actions == "random":
            return random_actions(n_frames, rng, p.max_torque)
        if actions in ("none", "zero"):
            return np.zeros((n_frames, 1), np.float32)
        raise UsageError(f"unknown pendulum actions {actions!r}: use 'random', 'zero' or an array of torques")
    if actions is None:
        return np.zeros((n_frames, 1), np.float32)
    arr = np.asarray(actions, np.float32)
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.shape != (n_frames, 1):
        raise UsageError(
            f"pendulum actions must have one torque per frame, shape ({n_frames},) or ({n_frames}, 1); "
            f"got {tuple(np.shape(actions))}"
        )
    if not np.all(np.isfinite(arr)):
        raise UsageError("pendulum actions must be finite numbers")
    return np.clip(arr, -p.max_torque, p.max_torque).astype(np.float32)


def simulate_pendulum(
    n_frames: int,
    actions: np.ndarray | None | str = "random",
    seed: int = 0,
    size: int = 64,
    params: PendulumParams | None = None,
    initial_state: np.ndarray | tuple[float, float] | None = None,
) -> PendulumEpisode:
    """Simulate and render one episode.

    Parameters
    ----------
    n_frames
        T, the number of frames.
    actions
        ``"random"`` (smooth random torques from :func:`random_actions`, seeded), ``"zero"``
        or None (no torque), or torques [T] / [T, 1] in N m (clipped to ``max_torque``).
    seed
        Seeds the random actions and, when ``initial_state`` is None, the initial state
        (theta uniform in [-pi, pi), omega uniform in [-1, 1] rad/s).
    size
        Frame size in pixels (square).
    params
        Pendulum parameters (defaults when None).
    initial_state
        (theta, omega) of the first frame.

    Returns
    -------
    PendulumEpisode
        frames uint8 [T, size, size, 3], actions float32 [T, 1], states float32 [T, 2].
    """
    n_frames = int(n_frames)
    if n_frames < 1:
        raise UsageError(f"a pendulum episode needs at least one frame, got {n_frames}")
    p = params or PendulumParams()
    rng = np.random.default_rng(seed)
    if initial_state is None:
        state = np.array([rng.uniform(-math.pi, math.pi), rng.uniform(-1.0, 1.0)], np.float64)
    else:
        state = np.asarray(initial_state, np.float64).reshape(2)
    acts = _actions_array(actions, n_frames, rng, p)
    states = np.empty((n_frames, 2), np.float64)
    for t in range(n_frames):
        states[t] = state
        if t + 1 < n_frames:
            state = step(state, float(acts[t, 0]), p)
    frames = np.stack([render_pendulum(float(th), size) for th in states[:, 0]])
    return PendulumEpisode(frames=frames, actions=acts, states=states.astype(np.float32), fps=1.0 / p.dt)


def pendulum_dataset(n_episodes: int, n_frames: int, seed: int = 0, size: int = 64) -> list[PendulumEpisode]:
    """``n_episodes`` episodes with random actions and initial states, each of ``n_frames``.

    Episode ``i`` uses its own seed derived from ``seed``, so the list is reproducible
    and its episodes differ.
    """
    seeds = np.random.SeedSequence(int(seed)).generate_state(int(n_episodes))
    return [simulate_pendulum(n_frames, "random", seed=int(s), size=size) for s in seeds]
