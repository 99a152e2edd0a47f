"""The settings of a world-model comparison and their defaults, shared by ``jepa-studio
compare`` and the studio window (one object: :data:`DEFAULTS`).

Defaults are chosen so that, on the pendulum with the pixel baselines, the world model
beats "nothing moves" at every horizon within a few minutes on a 2-core CPU; on a GPU
:meth:`CompareSettings.for_device` scales the training budget (steps) to the device.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from ..errors import UsageError
from .latents import LATENT_MODES
from .training import TrainSettings

#: training steps on a GPU, as a multiple of the CPU defaults
GPU_BUDGET = 4


@dataclass(frozen=True)
class CompareSettings:
    """Settings shared by every encoder in a comparison.

    Attributes
    ----------
    latents: how latents are encoded (:func:`~.latents.encode_latents`): ``"causal"``,
        ``"per-frame"`` or ``"window"`` (a labelled reference that sees future frames).
    history: H context steps; horizon: k rollout steps.
    frameskip: source frames between two steps of the world model (a multiple of the frames
        one step covers: 2 when a tubelet encoder is compared).
    decoder_steps, transition_steps: optimiser steps (the training budget).
    batch_size; lr, decoder_lr: the transition model's and the decoder's peak learning
        rates (warm-up, then cosine decay to 10%; the decoder starts at its closed-form
        linear readout, so it only needs fine-tuning);
    weight_decay: AdamW's, for the transition model;
    unroll: the transition model is trained on rollouts of this many steps (its own
        predictions fed back), not only one step ahead;
    val_fraction: the held-out last part of every clip (in time).
    short_side: frames are encoded at this short side (full frame).
    width, depth, heads: the transition ViT; decoder_hidden: the decoder's channels.
    seed; max_windows: evaluation rollouts (evenly spaced, the same for every encoder);
    probes: fit the temporal probes when the data knows its state; device.
    """

    latents: str = "causal"
    history: int = 3
    horizon: int = 4
    frameskip: int = 2
    decoder_steps: int = 150
    transition_steps: int = 300
    batch_size: int = 16
    lr: float = 3e-3
    decoder_lr: float = 1e-3
    weight_decay: float = 0.0
    unroll: int = 2
    val_fraction: float = 0.25
    short_side: int = 64
    width: int = 128
    depth: int = 3
    heads: int = 4
    decoder_hidden: int = 64
    seed: int = 0
    max_windows: int = 48
    probes: bool = True
    device: str = "cpu"

    def __post_init__(self) -> None:
        for name in ("history", "horizon", "frameskip", "batch_size", "short_side", "max_windows", "unroll",
                     "width", "depth", "heads", "decoder_hidden"):
            if int(getattr(self, name)) < 1:
                raise UsageError(f"{name} must be at least 1, got {getattr(self, name)}")
        for name in ("decoder_steps", "transition_steps"):
            if int(getattr(self, name)) < 0:
                raise UsageError(f"{name} must not be negative")
        if not 0.0 < self.val_fraction < 1.0:
            raise UsageError(f"the held-out fraction must be between 0 and 1, got {self.val_fraction}")
        if self.latents not in LATENT_MODES:
            raise UsageError(f"unknown latent mode {self.latents!r}: use one of {', '.join(LATENT_MODES)}")
        if self.width % self.heads:
            raise UsageError(f"width {self.width} must be a multiple of heads {self.heads}")
        if not (self.lr > 0 and self.decoder_lr > 0) or self.weight_decay < 0:
            raise UsageError("the learning rates must be positive and the weight decay not negative")

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def for_device(self, device: str) -> "CompareSettings":
        """These settings on ``device``; on a GPU the training steps are :data:`GPU_BUDGET` times more."""
        scale = GPU_BUDGET if str(device).startswith("cuda") else 1
        return dataclasses.replace(
            self,
            device=str(device),
            decoder_steps=self.decoder_steps * scale,
            transition_steps=self.transition_steps * scale,
        )

    def train_settings(self, part: str, steps: int | None = None, **extra: Any) -> TrainSettings:
        """The optimisation of ``part`` (``"decoder"`` or ``"transition"``): its steps (or
        ``steps``), learning rate, weight decay and unroll; ``extra`` overrides fields."""
        transition = part == "transition"
        return TrainSettings(
            steps=int(steps if steps is not None else self.transition_steps if transition else self.decoder_steps),
            batch_size=self.batch_size,
            lr=self.lr if transition else self.decoder_lr,
            seed=self.seed,
            device=self.device,
            weight_decay=self.weight_decay if transition else 0.0,
            unroll=self.unroll if transition else 1,
            **extra,
        )

    def new_world(self, features: Any, frameskip: int, action_dim: int = 0, target: str = "raw") -> Any:
        """A new, untrained :class:`~.model.WorldModel` of these settings' architecture over
        ``features`` (one PatchFeatures per clip); ``frameskip`` in latent time steps."""
        from .model import WorldModel

        return WorldModel.create(
            features, history=self.history, frameskip=frameskip, action_dim=action_dim,
            val_fraction=self.val_fraction, seed=self.seed, decoder_hidden=self.decoder_hidden,
            width=self.width, depth=self.depth, heads=self.heads, target=target,
        )

    @property
    def budget(self) -> str:
        """The training budget in words (for reports)."""
        return (
            f"{self.decoder_steps} decoder and {self.transition_steps} transition steps of batch "
            f"{self.batch_size} on {self.device}"
        )


@dataclass(frozen=True)
class PendulumData:
    """The default pendulum data: ``episodes`` episodes of ``frames`` frames, ``size`` pixels."""

    episodes: int = 32
    frames: int = 64
    size: int = 64
    seed: int = 0


#: the defaults of a comparison (the CLI's and the window's)
DEFAULTS = CompareSettings()
#: the default pendulum data
PENDULUM = PendulumData()
#: the default frames of a video: ``START:STOP:STEP``
VIDEO_FRAMES = "0:128:1"
