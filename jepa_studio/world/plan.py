"""One plan of time steps and evaluation windows for every encoder in a comparison.

Encoders differ in how many source frames one time step covers (one for an image encoder,
a tubelet of two for V-JEPA 2). A fair comparison gives every encoder the same context
frames and scores it on the same frames ahead, so a comparison fixes ``group``, the frames
one world-model step covers (the largest tubelet among the encoders): a per-frame
encoder's latents are stacked in groups of that many frames
(:func:`~.latents.group_steps`), and every encoder then has the same steps, the same
held-out split and the same evaluation windows. A predicted step is scored on every frame
it covers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from ..encoders.base import PatchFeatures
from ..errors import UsageError
from .latents import split_point, window_starts


@dataclass(frozen=True)
class EvalWindow:
    """One evaluation rollout, in source frames.

    clip: which clip; start: the latent step of its first context step;
    context: the source frames the context steps cover (in order);
    targets: per horizon step, the source frames it covers (what it is scored on).
    """

    clip: int
    start: int
    context: tuple[int, ...]
    targets: tuple[tuple[int, ...], ...]

    @property
    def last_context_frame(self) -> int:
        """The frame "nothing moves" repeats."""
        return self.context[-1]

    def to_json(self) -> dict[str, Any]:
        return {"clip": self.clip, "context_frames": list(self.context), "target_frames": [list(t) for t in self.targets]}


@dataclass(frozen=True)
class StepPlan:
    """Time steps, splits and evaluation windows shared by every encoder of a comparison.

    Attributes
    ----------
    group: source frames per latent step; skip: latent steps per world-model step
        (``frameskip / group``); history, horizon: context and rollout steps.
    steps: per clip, the source frames each latent step covers.
    splits: per clip, the first held-out latent step.
    windows: the evaluation rollouts (every predicted step held out).
    fps: frames per second of the source (None when unknown).
    """

    group: int
    skip: int
    history: int
    horizon: int
    steps: tuple[tuple[tuple[int, ...], ...], ...]
    splits: tuple[int, ...]
    windows: tuple[EvalWindow, ...]
    fps: float | None = None

    @property
    def frameskip(self) -> int:
        """Source frames between two world-model steps."""
        return self.group * self.skip

    def frames_ahead(self, j: int) -> tuple[int, int]:
        """(first, last) frame of horizon step ``j`` (1-based) after the last context frame."""
        last = j * self.frameskip
        return last - self.group + 1, last

    def held_out_frames(self, clip: int) -> tuple[int, int]:
        """(first, last) source frame of the held-out part of ``clip``."""
        steps = self.steps[clip]
        return steps[self.splits[clip]][0], steps[-1][-1]

    def check(self, features: PatchFeatures, clip: int) -> None:
        """Raise when ``features`` (already grouped) do not have this plan's steps for ``clip``."""
        if tuple(tuple(g) for g in features.frame_indices) != self.steps[clip]:
            raise ValueError(f"{features.label}: its time steps do not cover the plan's frames of clip {clip}")

    def describe(self) -> str:
        """The plan in words, for reports."""
        f, g = self.frameskip, self.group
        ctx = self.history * g if self.skip == 1 else None
        ahead = ", ".join(
            (f"{a}" if a == b else f"{a}-{b}") + (f" ({b / self.fps:.2f} s)" if self.fps else "")
            for a, b in (self.frames_ahead(j) for j in range(1, self.horizon + 1))
        )
        context = (
            f"the last {ctx} frames" if ctx is not None
            else f"{self.history} steps of {g} frame(s), {f} frames apart"
        )
        return (
            f"every encoder sees the same context ({context}, ending at frame c) and is scored on the same "
            f"frames c + {ahead}; {len(self.windows)} evaluation rollouts, all predicting held-out frames only"
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "frames_per_step": self.group,
            "frameskip": self.frameskip,
            "history": self.history,
            "horizon": self.horizon,
            "fps": self.fps,
            "held_out_from_step": list(self.splits),
            "frames_ahead": [list(self.frames_ahead(j)) for j in range(1, self.horizon + 1)],
            "windows": [w.to_json() for w in self.windows],
        }


def _pick(items: list[Any], n: int) -> list[Any]:
    """At most ``n`` of ``items``, evenly spaced (always the first and the last)."""
    if len(items) <= n:
        return items
    return [items[j] for j in np.linspace(0, len(items) - 1, n).round().astype(int)]


def make_plan(
    steps: Sequence[Sequence[Sequence[int]]],
    group: int,
    frameskip: int,
    history: int,
    horizon: int,
    val_fraction: float,
    max_windows: int,
    fps: float | None = None,
) -> StepPlan:
    """The plan for clips whose latent steps cover ``steps[clip][t]`` (each ``group`` frames).

    Raises
    ------
    UsageError: ``frameskip`` is not a multiple of ``group``, or the held-out part of the
        clips is too short for one rollout.
    """
    if frameskip % group:
        raise UsageError(
            f"frameskip {frameskip} is not a multiple of the {group} frames one step covers (a tubelet "
            f"encoder is compared): use a frameskip that is a multiple of {group}"
        )
    skip = frameskip // group
    frozen = tuple(tuple(tuple(int(i) for i in g) for g in clip) for clip in steps)
    splits = tuple(split_point(len(c), val_fraction) for c in frozen)
    windows = []
    for ci, clip in enumerate(frozen):
        for s in window_starts(len(clip), history + horizon, skip, history, first_target=splits[ci]):
            ctx = [clip[s + j * skip] for j in range(history)]
            tgt = [clip[s + (history + j) * skip] for j in range(horizon)]
            windows.append(EvalWindow(ci, s, tuple(i for g in ctx for i in g), tuple(tgt)))
    if not windows:
        raise UsageError(
            f"the held-out frames are too few for a rollout of {horizon} steps after {history} context steps "
            f"(frameskip {frameskip}): use more frames, a larger held-out fraction, a shorter horizon or history"
        )
    return StepPlan(group, skip, history, horizon, frozen, splits, tuple(_pick(windows, max_windows)), fps)
