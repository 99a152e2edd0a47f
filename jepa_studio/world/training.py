"""Training loops for the decoder and the transition model: background-friendly.

Both loops report ``progress(step, total, loss)`` after every step, stop early when
``cancel`` (a :class:`threading.Event`) is set, append to the live loss history in
``world.state[part]``, and write a checkpoint every ``checkpoint_every`` steps, on cancel and
at the end when given a path, so closing the app mid-training keeps the last checkpoint.
``settings.steps`` is the *total* step count: a model loaded from a checkpoint at step 100
and trained with ``steps=200`` does 100 more. Batches are drawn from a generator seeded by
(seed, step), so a resumed run draws the same batches as an uninterrupted one.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import torch
import torch.nn.functional as F

from ..errors import UsageError
from .decoder import fit_readout
from .latents import window_starts
from .model import LatentSequence, PartState, WorldModel

#: ``progress(step, total, loss)``
ProgressFn = Callable[[int, int, float], None]
#: training tokens the decoder's closed-form readout is fitted on (evenly spaced steps)
READOUT_TOKENS = 8192


@dataclass(frozen=True)
class TrainSettings:
    """Optimisation settings (not architecture).

    steps: total optimiser steps; batch_size; lr: peak AdamW learning rate (linear warm-up over
    ``warmup`` steps, cosine decay to 10%); weight_decay; seed; checkpoint_every: steps
    between checkpoints; val_every: steps between held-out evaluations; device;
    unroll: the transition model's loss covers rollouts of this many steps (1: teacher
    forcing only).
    """

    steps: int = 400
    batch_size: int = 16
    lr: float = 1e-3
    weight_decay: float = 0.0
    warmup: int = 20
    seed: int = 0
    checkpoint_every: int = 100
    val_every: int = 50
    device: str = "cpu"
    unroll: int = 1

    def lr_at(self, step: int) -> float:
        warm = min(1.0, (step + 1) / max(1, self.warmup))
        decay = 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(step, self.steps) / max(1, self.steps)))
        return self.lr * warm * decay


def _generator(seed: int, step: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed * 1_000_003 + step)


def _fit(
    world: WorldModel,
    part: str,
    model: torch.nn.Module,
    batch_loss: Callable[[torch.Generator], torch.Tensor],
    val_loss: Callable[[], float | None],
    settings: TrainSettings,
    progress: ProgressFn | None,
    cancel: threading.Event | None,
    checkpoint: str | Path | None,
) -> PartState:
    from .checkpoints import save_world

    state = world.state[part]
    world.to(settings.device)
    optimizer = torch.optim.AdamW(
        model.parameters(), lr=settings.lr, weight_decay=settings.weight_decay, foreach=True
    )
    if state.optimizer is not None:
        optimizer.load_state_dict(state.optimizer)

    def save() -> None:
        state.optimizer = optimizer.state_dict()
        if checkpoint is not None:
            save_world(world, checkpoint)

    model.train()
    total = settings.steps
    while state.step < total:
        if cancel is not None and cancel.is_set():
            break
        for group in optimizer.param_groups:
            group["lr"] = settings.lr_at(state.step)
        loss = batch_loss(_generator(settings.seed, state.step))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        state.step += 1
        value = float(loss.detach())
        state.losses.append(value)
        if state.step % settings.val_every == 0 or state.step == total:
            val = val_loss()
            if val is not None:
                state.val_losses.append((state.step, val))
        if progress is not None:
            progress(state.step, total, value)
        if checkpoint is not None and state.step % settings.checkpoint_every == 0:
            save()
    model.eval()
    save()
    return state


def _pick(gen: torch.Generator, n: int, k: int) -> list[int]:
    return torch.randint(0, n, (k,), generator=gen).tolist()


def train_decoder(
    world: WorldModel,
    sequences: Sequence[LatentSequence],
    settings: TrainSettings = TrainSettings(),
    progress: ProgressFn | None = None,
    cancel: threading.Event | None = None,
    checkpoint: str | Path | None = None,
) -> PartState:
    """Train ``world.decoder`` (MSE on pixels) on the training steps of ``sequences``.

    A new ``"patch"`` decoder's linear readout starts at the ridge regression from tokens to
    pixels (:func:`~.decoder.fit_readout`, on at most :data:`READOUT_TOKENS` training tokens).
    The held-out loss (``state.val_losses``) is the MSE on the held-out steps (at most 256,
    evenly spaced). Needs ``sequence.frames``.
    """
    if any(s.frames is None for s in sequences):
        raise ValueError("decoder training needs the real frames of every sequence")
    train = [(i, t) for i, s in enumerate(sequences) for t in range(s.split)]
    held = [(i, t) for i, s in enumerate(sequences) for t in range(s.split, s.n_steps)]
    if not train:
        raise UsageError("no frames left to train the decoder on: use a longer clip or a smaller held-out fraction")
    if len(held) > 256:
        held = [held[j] for j in torch.linspace(0, len(held) - 1, 256).long().tolist()]
    device = torch.device(settings.device)

    def gather(pairs: Sequence[tuple[int, int]]) -> tuple[torch.Tensor, torch.Tensor]:
        z = torch.stack([sequences[i].latents[t] for i, t in pairs]).to(device)
        x = torch.stack([sequences[i].frames[t] for i, t in pairs]).to(device).float() / 255.0  # type: ignore[index]
        return z, x

    if world.state["decoder"].step == 0:  # a closed-form start for the linear readout
        h, w = sequences[0].latents.shape[1:3]
        n = max(1, min(len(train), READOUT_TOKENS // (h * w)))
        fit_readout(world.decoder.to(device), *gather([train[j] for j in torch.linspace(0, len(train) - 1, n).long().tolist()]))

    def batch_loss(gen: torch.Generator) -> torch.Tensor:
        z, x = gather([train[j] for j in _pick(gen, len(train), settings.batch_size)])
        return F.mse_loss(world.decoder(z), x)

    @torch.no_grad()
    def val_loss() -> float | None:
        if not held:
            return None
        world.decoder.eval()
        total = 0.0
        for j in range(0, len(held), 64):
            z, x = gather(held[j : j + 64])
            total += float(F.mse_loss(world.decoder(z), x, reduction="sum"))
        world.decoder.train()
        return total / (len(held) * sequences[0].frames[0].numel())  # type: ignore[index]

    return _fit(world, "decoder", world.decoder, batch_loss, val_loss, settings, progress, cancel, checkpoint)


def transition_windows(
    sequences: Sequence[LatentSequence], length: int, frameskip: int, held_out: bool, n_context: int = 1
) -> list[tuple[int, int]]:
    """(sequence, start step) of every window of ``length`` steps ``frameskip`` apart.

    Training windows (``held_out=False``) lie wholly before each sequence's split; held-out
    windows have every predicted step (window position ``>= n_context``) at or after it.
    """
    out = []
    for i, s in enumerate(sequences):
        if held_out:
            starts = window_starts(s.n_steps, length, frameskip, n_context, first_target=s.split)
        else:
            starts = window_starts(s.n_steps, length, frameskip, 1, 0, last_target=s.split)
        out += [(i, st) for st in starts]
    return out


def gather_windows(
    sequences: Sequence[LatentSequence], pairs: Sequence[tuple[int, int]], length: int, frameskip: int
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Latents [B, length, h, w, D] and actions [B, length, A] (or None) of windows."""
    zs, acts = [], []
    for i, st in pairs:
        idx = torch.arange(length) * frameskip + st
        zs.append(sequences[i].latents[idx])
        a = sequences[i].actions
        if a is not None:
            acts.append(a[idx])
    return torch.stack(zs), (torch.stack(acts) if acts else None)


def train_transition(
    world: WorldModel,
    sequences: Sequence[LatentSequence],
    settings: TrainSettings = TrainSettings(),
    progress: ProgressFn | None = None,
    cancel: threading.Event | None = None,
    checkpoint: str | Path | None = None,
) -> PartState:
    """Train ``world.transition`` (MSE on normalised latents): teacher-forced one step ahead,
    and on its own rollouts when ``settings.unroll > 1``.

    Windows of ``history + unroll`` steps ``world.frameskip`` apart, wholly in the training
    part; positions ``0..H-1`` are inputs and ``1..H`` targets (teacher forcing), then the
    model's prediction is fed back ``unroll - 1`` times (gradients flow through it) and
    each rolled-out step is compared with the true one; the loss averages the ``unroll``
    terms. The held-out loss is the one-step MSE at the last position (full history) of
    windows whose target is held out.
    """
    model = world.transition
    if model is None:
        raise ValueError("this world model has no transition model")
    h, f = model.config.history, world.frameskip
    u = max(1, int(settings.unroll))
    train = transition_windows(sequences, h + u, f, held_out=False)
    held = transition_windows(sequences, h + 1, f, held_out=True, n_context=h)
    if not train:
        raise UsageError(
            f"the clip is too short for a history of {h} steps and {u} predicted step(s) with frameskip {f}: "
            "use more frames, a shorter history, less unrolling or a smaller frameskip"
        )
    if len(held) > 256:
        held = [held[j] for j in torch.linspace(0, len(held) - 1, 256).long().tolist()]
    device = torch.device(settings.device)
    if model.config.action_dim and any(s.actions is None for s in sequences):
        raise ValueError("this transition model needs actions for every sequence")

    def batch_loss(gen: torch.Generator) -> torch.Tensor:
        pairs = [train[j] for j in _pick(gen, len(train), settings.batch_size)]
        z, a = gather_windows(sequences, pairs, h + u, f)
        z = z.to(device)
        a = a.to(device) if a is not None and model.config.action_dim else None
        out = model(z[:, :h], None if a is None else a[:, :h])
        loss = F.mse_loss(out, z[:, 1 : h + 1])
        seq = torch.cat([z[:, :h], out[:, -1:]], 1)
        for k in range(1, u):
            nxt = model(seq[:, -h:], None if a is None else a[:, k : k + h])[:, -1:]
            loss = loss + F.mse_loss(nxt, z[:, h + k : h + k + 1])
            seq = torch.cat([seq, nxt], 1)
        return loss / u

    @torch.no_grad()
    def val_loss() -> float | None:
        if not held:
            return None
        model.eval()
        total = 0.0
        for j in range(0, len(held), 64):
            z, a = gather_windows(sequences, held[j : j + 64], h + 1, f)
            z = z.to(device)
            a = a[:, :h].to(device) if a is not None and model.config.action_dim else None
            pred = model(z[:, :h], a)[:, -1]
            total += float(F.mse_loss(pred, z[:, -1], reduction="sum"))
        model.train()
        return total / (len(held) * sequences[0].latents[0].numel())

    return _fit(world, "transition", model, batch_loss, val_loss, settings, progress, cancel, checkpoint)
