"""A world model of one encoder's latents: latent stats, decoder, transition model and training state."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any, Sequence

import numpy as np
import torch

from ..encoders.base import PatchFeatures
from .decoder import LatentDecoder, decoder_config_for, prepare_tokens, target_frames
from .latents import LatentStats, split_point, step_actions
from .transition import TransitionConfig, TransitionModel


@dataclass(frozen=True)
class EncoderInfo:
    """What the latents came from (kept in checkpoints and reports)."""

    name: str
    checkpoint: str
    pretrained: bool
    label: str
    patch_size: int
    tubelet_size: int
    input_size: tuple[int, int]
    grid: tuple[int, int]
    dim: int
    latents: str = "window"
    future_frames: int = 0

    @classmethod
    def from_features(cls, features: PatchFeatures) -> "EncoderInfo":
        """What ``features`` came from; ``latents`` is their mode (see
        :func:`~.latents.encode_latents`: plain encoder output counts as ``"window"``) and
        ``future_frames`` how many later frames a step's tokens may have seen."""
        _, h, w = features.grid
        return cls(
            name=features.encoder,
            checkpoint=features.checkpoint,
            pretrained=bool(features.pretrained),
            label=features.label,
            patch_size=int(features.patch_size),
            tubelet_size=int(features.tubelet_size),
            input_size=(int(features.input_size[0]), int(features.input_size[1])),
            grid=(int(h), int(w)),
            dim=int(features.dim),
            latents=str(getattr(features, "mode", "window")),
            future_frames=int(getattr(features, "future_frames", 0)),
        )

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "EncoderInfo":
        known = {f.name for f in fields(cls)}
        data = {k: v for k, v in data.items() if k in known}
        data["input_size"] = tuple(data["input_size"])
        data["grid"] = tuple(data["grid"])
        return cls(**data)


@dataclass
class PartState:
    """Training state of one part ("decoder" or "transition").

    step: optimiser steps done; losses: training loss per step (a live history the GUI
    may read while training runs); val_losses: (step, held-out loss) pairs; optimizer: the
    torch optimiser's state dict, for resuming.
    """

    step: int = 0
    losses: list[float] = field(default_factory=list)
    val_losses: list[tuple[int, float]] = field(default_factory=list)
    optimizer: dict | None = None


@dataclass
class WorldModel:
    """Decoder and (optional) transition model over one encoder's normalised latents.

    ``frameskip`` is in latent time steps: the transition model predicts step
    ``t + frameskip`` from steps ``t, t - frameskip, ...``.
    """

    encoder: EncoderInfo
    stats: LatentStats
    decoder: LatentDecoder
    transition: TransitionModel | None = None
    frameskip: int = 1
    seed: int = 0
    state: dict[str, PartState] = field(default_factory=lambda: {"decoder": PartState(), "transition": PartState()})

    @classmethod
    def create(
        cls,
        features: Sequence[PatchFeatures],
        history: int = 4,
        frameskip: int = 1,
        action_dim: int = 0,
        val_fraction: float = 0.25,
        seed: int = 0,
        decoder_hidden: int = 128,
        width: int = 128,
        depth: int = 4,
        heads: int = 4,
        with_transition: bool = True,
        target: str = "raw",
    ) -> "WorldModel":
        """New untrained models for ``features`` (one or more clips of one encoder).

        Latent stats are fitted on the training part of each clip (all but the last
        ``val_fraction`` of its time steps). ``action_dim`` is the per-frame action size
        (0: no actions); the model's action input is ``action_dim * frameskip * tubelet``.
        ``target``: ``"raw"`` tokens or ``"layer_norm"`` ed ones (decode V-JEPA 2's masked
        predictions); both models read :meth:`prepare` d tokens.
        """
        first = features[0]
        stats = LatentStats.fit(
            [prepare_tokens(f.tokens[: split_point(f.grid[0], val_fraction)], target) for f in features]
        )
        torch.manual_seed(seed)
        decoder = LatentDecoder(decoder_config_for(first, hidden=decoder_hidden, target=target))
        transition = None
        if with_transition:
            _, h, w = first.grid
            transition = TransitionModel(
                TransitionConfig(
                    dim=first.dim,
                    grid=(h, w),
                    history=history,
                    width=width,
                    depth=depth,
                    heads=heads,
                    action_dim=action_dim * frameskip * first.tubelet_size,
                )
            )
        return cls(EncoderInfo.from_features(first), stats, decoder, transition, frameskip, seed)

    @property
    def history(self) -> int:
        return self.transition.config.history if self.transition is not None else 0

    @property
    def device(self) -> torch.device:
        return next(self.decoder.parameters()).device

    @property
    def target(self) -> str:
        """``"raw"`` or ``"layer_norm"``: which tokens the models were trained on."""
        return self.decoder.config.target

    def prepare(self, tokens: torch.Tensor) -> torch.Tensor:
        """Raw encoder tokens [..., D] -> normalised model input (layer-normed first when
        :attr:`target` is ``"layer_norm"``), float32 on the tokens' device."""
        return self.stats.normalize(prepare_tokens(tokens, self.target))

    def decode_tokens(self, tokens: torch.Tensor) -> np.ndarray:
        """Decode raw (un-normalised) token grids [T, h, w, D] -> uint8 frames [T * tubelet, H, W, 3].

        Works for any grid of this encoder's tokens: reconstructions of encoded frames, or a
        grid whose hidden tokens were replaced by predicted ones (masked prediction). With
        ``target == "layer_norm"`` the tokens may be raw or already layer-normed (layer norm
        is idempotent up to its epsilon), e.g. V-JEPA 2's context + predicted tokens.
        """
        from .decoder import to_uint8_frames

        z = self.prepare(tokens.detach().float().to(self.device))
        return to_uint8_frames(self.decoder.decode(z))

    def to(self, device: torch.device | str) -> "WorldModel":
        """Move both models to ``device`` (in place); returns self."""
        self.decoder.to(device)
        if self.transition is not None:
            self.transition.to(device)
        return self


@dataclass
class LatentSequence:
    """One clip prepared for training and evaluation.

    latents: float32 [T', h, w, D], *normalised*; frame_indices: source frames per step;
    frames: uint8 [T', tubelet, 3, H, W], the real frames the decoder should output (or None);
    actions: float32 [T', A'] per-transition actions for the world model's frameskip (or None);
    split: first held-out time step.
    """

    latents: torch.Tensor
    frame_indices: tuple[tuple[int, ...], ...]
    frames: torch.Tensor | None
    actions: torch.Tensor | None
    split: int

    @property
    def n_steps(self) -> int:
        return int(self.latents.shape[0])


def prepare_sequence(
    world: WorldModel,
    features: PatchFeatures,
    frames: np.ndarray | None = None,
    actions: np.ndarray | None = None,
    val_fraction: float = 0.25,
    rows: dict[int, int] | None = None,
) -> LatentSequence:
    """Normalise ``features`` with ``world.stats`` and gather decoder targets and actions.

    Parameters
    ----------
    frames: uint8 [T, H, W, 3] source frames (``rows`` maps source index -> row; default identity).
    actions: float [T, A] per source frame (``actions[i]`` acts between frames i and i+1).
    """
    z = world.prepare(features.tokens.detach().float().cpu())
    target = None
    if frames is not None:
        target = (target_frames(frames, features, rows) * 255).round().to(torch.uint8)
    acts = None
    if actions is not None:
        acts = step_actions(actions, features.frame_indices, world.frameskip)
    return LatentSequence(z, tuple(features.frame_indices), target, acts, split_point(len(z), val_fraction))


def architecture_differences(a: WorldModel, b: WorldModel) -> list[str]:
    """What keeps a checkpoint ``a`` from resuming as ``b``, in words (empty: it can)."""
    ta = None if a.transition is None else a.transition.config
    tb = None if b.transition is None else b.transition.config
    out = []
    if a.encoder != b.encoder:
        diff = [f.name for f in fields(a.encoder) if getattr(a.encoder, f.name) != getattr(b.encoder, f.name)]
        out.append(f"encoder ({', '.join(diff)})")
    if a.decoder.config != b.decoder.config:
        out.append("decoder architecture")
    if ta != tb:
        out.append("transition architecture")
    if a.frameskip != b.frameskip:
        out.append(f"frameskip ({a.frameskip} vs {b.frameskip})")
    if a.seed != b.seed:
        out.append(f"seed ({a.seed} vs {b.seed})")
    return out


def same_architecture(a: WorldModel, b: WorldModel) -> bool:
    """True when a checkpoint ``a`` can resume as ``b``: same encoder, decoder and
    transition hyper-parameters, frameskip and seed."""
    ta = None if a.transition is None else a.transition.config
    tb = None if b.transition is None else b.transition.config
    return (
        a.encoder == b.encoder
        and a.decoder.config == b.decoder.config
        and ta == tb
        and a.frameskip == b.frameskip
        and a.seed == b.seed
    )
