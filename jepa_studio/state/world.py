"""World models without Qt: what a model trains on, the options of the World model dock, and
the settings of one training run or comparison.

The dock binds its widgets to :class:`WorldState` (an evented :class:`WorldOptions`); the
tests drive the same object. Training defaults are ``jepa-studio compare``'s
(:data:`~jepa_studio.world.settings.DEFAULTS`), so the window and the CLI train the same
models unless the user changes something.
"""

from __future__ import annotations

import dataclasses
from dataclasses import asdict, dataclass
from typing import Any

from ..errors import UsageError
from ..world.latents import LATENT_MODES
from ..world.settings import DEFAULTS, PENDULUM, CompareSettings
from .events import Observable, Options
from .session import Session

#: model sizes: (transition width, depth, heads, decoder hidden channels)
SIZES = {"small": (64, 2, 4, 32), "medium": (128, 3, 4, 64), "large": (256, 4, 8, 128)}
#: what the decoder reads
TARGETS = ("raw", "layer_norm")
SOURCES = ("video", "pendulum")


@dataclass(frozen=True)
class DataSpec:
    """What a world model trains on.

    source: ``"video"`` (the open video's frames ``start:stop:step``) or ``"pendulum"``
    (``episodes`` simulated episodes of ``episode_frames`` frames, ``size`` pixels, ``seed``,
    with their torques as actions).
    """

    source: str = "video"
    start: int = 0
    stop: int = 0
    step: int = 1
    episodes: int = PENDULUM.episodes
    episode_frames: int = PENDULUM.frames
    size: int = PENDULUM.size
    seed: int = 0

    def frames(self, n_frames: int | None = None) -> list[int]:
        """Source frame indices of a video range (clamped to ``n_frames``)."""
        stop = self.stop if n_frames is None else min(self.stop, n_frames)
        return list(range(max(0, self.start), stop, max(1, self.step)))

    def describe(self, video: str = "video") -> str:
        if self.source == "pendulum":
            return f"pendulum ({self.episodes} episodes of {self.episode_frames} frames, seed {self.seed})"
        return f"{video} frames {self.start}:{self.stop}:{self.step}"

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "DataSpec":
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})


@dataclass(frozen=True)
class WorldSettings:
    """One training run (or comparison) from the window.

    encoders: session encoder names; data: see :class:`DataSpec`; training: the model and
    its training (:class:`~jepa_studio.world.settings.CompareSettings`, the CLI's defaults:
    latent mode, history H, horizon k, frameskip in data frames, decoder and transition
    steps, sizes, learning rates, seed); device, resolution: as the panes use them; target:
    what the decoder reads (``"raw"`` or ``"layer_norm"``); checkpoint_every, val_every:
    in optimiser steps.
    """

    encoders: tuple[str, ...]
    data: DataSpec = DataSpec()
    training: CompareSettings = DEFAULTS
    device: str = "auto"
    resolution: int | None = None
    target: str = "raw"
    checkpoint_every: int = 100
    val_every: int = 25

    def __post_init__(self) -> None:
        if not self.encoders:
            raise UsageError("choose at least one encoder for the world model")
        if self.data.source not in SOURCES:
            raise UsageError(f"unknown data source {self.data.source!r}: use 'video' or 'pendulum'")
        if self.target not in TARGETS:
            raise UsageError(f"unknown decoder input {self.target!r}: use 'raw' or 'layer_norm'")

    @classmethod
    def of(cls, encoders: tuple[str, ...], data: DataSpec = DataSpec(), **fields: Any) -> "WorldSettings":
        """Settings from flat keyword fields: those of this class (device, resolution, target,
        ...) and those of :class:`~jepa_studio.world.settings.CompareSettings` (history,
        decoder_steps, width, ...), the rest from the defaults."""
        own = {k: v for k, v in fields.items() if k in cls.__dataclass_fields__}
        try:
            training = dataclasses.replace(DEFAULTS, **{k: v for k, v in fields.items() if k not in own})
        except TypeError as error:
            raise UsageError(f"unknown world-model setting: {error}") from error
        return cls(tuple(encoders), data, training, **own)

    @property
    def latents(self) -> str:
        return self.training.latents

    @property
    def history(self) -> int:
        return self.training.history

    @property
    def horizon(self) -> int:
        return self.training.horizon

    @property
    def frameskip(self) -> int:
        return self.training.frameskip

    def on_device(self, device: str) -> CompareSettings:
        """The training settings on a resolved ``device`` (``"cpu"``, ``"cuda:0"``, ...)."""
        return dataclasses.replace(self.training, device=str(device))

    @property
    def short_side(self) -> int:
        """The short side frames are encoded at for the world model (the CLI's ``short_side``;
        not the panes' resolution: a world model is trained small)."""
        return self.training.short_side


@dataclass(frozen=True)
class WorldOptions:
    """The World model dock's options (what :meth:`WorldState.settings` turns into a run).

    encoders: the checked session encoders (None: all of them); source, start, stop, step,
    episodes, episode_frames: the data (see :class:`DataSpec`); resolution: the short side in
    pixels frames are encoded (and pendulum frames drawn) at; latents, history, horizon,
    frameskip, decoder_steps, transition_steps, seed: as ``jepa-studio compare``'s options;
    size: a key of :data:`SIZES`; target: what the decoder reads.
    """

    encoders: tuple[str, ...] | None = None
    source: str = "video"
    start: int = 0
    stop: int = 0
    step: int = 1
    episodes: int = PENDULUM.episodes
    episode_frames: int = PENDULUM.frames
    resolution: int = DEFAULTS.short_side
    latents: str = DEFAULTS.latents
    history: int = DEFAULTS.history
    horizon: int = DEFAULTS.horizon
    frameskip: int = DEFAULTS.frameskip
    decoder_steps: int = DEFAULTS.decoder_steps
    transition_steps: int = DEFAULTS.transition_steps
    seed: int = DEFAULTS.seed
    size: str = "medium"
    target: str = "raw"

    def __post_init__(self) -> None:
        if self.encoders is not None and not (
            isinstance(self.encoders, tuple) and all(isinstance(n, str) for n in self.encoders)
        ):
            raise ValueError("encoders must be a tuple of names (or None for all)")
        if self.source not in SOURCES:
            raise ValueError(f"unknown data source {self.source!r}")
        if self.latents not in LATENT_MODES:
            raise ValueError(f"unknown latent mode {self.latents!r}")
        if self.size not in SIZES:
            raise ValueError(f"unknown model size {self.size!r}")
        if self.target not in TARGETS:
            raise ValueError(f"unknown decoder input {self.target!r}")
        if not 16 <= self.resolution <= 1024:
            raise ValueError("the world-model resolution must be between 16 and 1024 px")
        for name in ("history", "horizon", "frameskip", "step", "episodes", "episode_frames"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be at least 1")
        if min(self.start, self.stop, self.seed, self.decoder_steps, self.transition_steps) < 0:
            raise ValueError("frames, seed and steps must not be negative")


class WorldState(Observable):
    """The World model dock's options for one session (evented: ``state.options``).

    Parameters
    ----------
    session: the window's session (its encoders, video, device and resolution).
    overrides: fields of :class:`~jepa_studio.world.settings.CompareSettings` that replace
        the options' (tests use tiny models and few steps).
    """

    def __init__(self, session: Session, overrides: dict[str, Any] | None = None) -> None:
        super().__init__()
        self.session = session
        self.options: Options[WorldOptions] = Options(WorldOptions())
        self.overrides: dict[str, Any] = dict(overrides or {})

    def chosen_encoders(self) -> tuple[str, ...]:
        """The checked encoders, in the session's order."""
        chosen = self.options.encoders
        return tuple(n for n in self.session.encoders if chosen is None or n in chosen)

    def use_all_frames(self) -> None:
        """Train on every frame of the open video."""
        self.options.update(start=0, stop=self.session.n_frames, step=1)

    def data(self) -> DataSpec:
        o = self.options.value
        return DataSpec(
            source=o.source, start=o.start, stop=o.stop, step=o.step, episodes=o.episodes,
            episode_frames=o.episode_frames, size=o.resolution, seed=o.seed,
        )

    def settings(self) -> WorldSettings:
        """The run the options describe (raises UsageError when they cannot make one)."""
        o = self.options.value
        width, depth, heads, hidden = SIZES[o.size]
        fields = dict(
            latents=o.latents, history=o.history, horizon=o.horizon, frameskip=o.frameskip,
            decoder_steps=o.decoder_steps, transition_steps=o.transition_steps, seed=o.seed,
            width=width, depth=depth, heads=heads, decoder_hidden=hidden, short_side=o.resolution,
        )
        fields.update(self.overrides)
        return WorldSettings.of(
            self.chosen_encoders(), self.data(),
            **{"device": self.session.device, "resolution": self.session.resolution, "target": o.target, **fields},
        )
