"""Rollouts: predict k steps autoregressively from a context window, and decode them.

Time steps are latent steps (one per frame for image encoders, one per tubelet for V-JEPA 2).
With frameskip ``f`` and history ``H`` a rollout from start step ``s`` uses context steps
``s, s+f, ..., s+(H-1)f`` and predicts steps ``s+Hf, ..., s+(H+k-1)f``; each predicted step
covers the source frames ``frame_indices[step]``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..errors import UsageError
from .model import LatentSequence, WorldModel
from .transition import TransitionModel


@dataclass(frozen=True)
class Rollout:
    """One rollout.

    context_steps: latent steps given as context (length H); steps: predicted latent steps
    (length k); frame_indices: source frames each predicted step covers; predicted: float
    [k, h, w, D] normalised predictions; true: float [k, h, w, D] normalised true latents of
    ``steps``; context_frame: source index of the last real frame of the context (what the
    "nothing moves" baseline repeats).
    """

    context_steps: tuple[int, ...]
    steps: tuple[int, ...]
    frame_indices: tuple[tuple[int, ...], ...]
    predicted: torch.Tensor
    true: torch.Tensor
    context_frame: int

    @property
    def horizon(self) -> int:
        return len(self.steps)


@torch.no_grad()
def rollout_latents(
    model: TransitionModel,
    context: torch.Tensor,
    horizon: int,
    actions: torch.Tensor | None = None,
) -> torch.Tensor:
    """Feed predictions back for ``horizon`` steps.

    Parameters
    ----------
    context: float [B, H, h, w, D] normalised latents (H <= the model's history).
    actions: float [B, H + horizon - 1, A]: ``actions[:, j]`` drives the transition out of
        the j-th step of the whole sequence (context then predictions); None for a model
        without actions.

    Returns
    -------
    float [B, horizon, h, w, D]: the predicted normalised latents.
    """
    was_training = model.training
    model.eval()
    hist = model.config.history
    seq = context
    n0 = context.shape[1]
    out = []
    for k in range(horizon):
        window = seq[:, -hist:]
        first = seq.shape[1] - window.shape[1]
        a = None
        if model.config.action_dim:
            if actions is None:
                raise ValueError("this transition model needs actions")
            a = actions[:, first : first + window.shape[1]].to(window)
        nxt = model(window, a)[:, -1:]
        out.append(nxt)
        seq = torch.cat([seq, nxt], dim=1)
    model.train(was_training)
    assert seq.shape[1] == n0 + horizon
    return torch.cat(out, dim=1)


def rollout(world: WorldModel, sequence: LatentSequence, start: int, horizon: int) -> Rollout:
    """Roll ``world.transition`` out from context steps ``start, start+f, ...`` (see module doc)."""
    model = world.transition
    if model is None:
        raise ValueError("this world model has no transition model")
    h, f = model.config.history, world.frameskip
    steps_all = [start + j * f for j in range(h + horizon)]
    if start < 0 or steps_all[-1] >= sequence.n_steps:
        raise UsageError(
            f"a rollout of {horizon} steps from step {start} needs steps up to {steps_all[-1]}, "
            f"but the clip has {sequence.n_steps}"
        )
    idx = torch.tensor(steps_all)
    device = world.device
    context = sequence.latents[idx[:h]][None].to(device)
    actions = None
    if model.config.action_dim:
        if sequence.actions is None:
            raise ValueError("this transition model needs actions")
        actions = sequence.actions[idx[:-1]][None].to(device)
    pred = rollout_latents(model, context, horizon, actions)[0].cpu()
    steps = tuple(steps_all[h:])
    return Rollout(
        context_steps=tuple(steps_all[:h]),
        steps=steps,
        frame_indices=tuple(sequence.frame_indices[s] for s in steps),
        predicted=pred,
        true=sequence.latents[idx[h:]],
        context_frame=max(sequence.frame_indices[steps_all[h - 1]]),
    )


def decode_rollout(world: WorldModel, ro: Rollout, true: bool = False) -> torch.Tensor:
    """Decode a rollout's predictions (or, with ``true=True``, its true latents).

    Returns float [k, tubelet, 3, H, W] in [0, 1] on the CPU.
    """
    return world.decoder.decode((ro.true if true else ro.predicted).to(world.device)).cpu()
