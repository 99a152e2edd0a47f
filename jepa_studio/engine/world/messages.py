"""What the world-model engine delivers to the window (on the GPU thread): training progress,
models ready, runs done, reconstructions, rollouts, decoded masked predictions and the
comparison's progress and result."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np



@dataclass(frozen=True)
class WorldProgress:
    """Training of one encoder's world model: ``part`` ("encoding", "decoder", "transition")
    at ``step`` of ``total``; the part's whole loss history so far (``losses`` per step,
    ``val`` as (step, held-out loss)); encoder ``index`` of ``n_encoders`` in the run."""

    run: int
    encoder: str
    part: str
    step: int
    total: int
    losses: tuple[float, ...]
    val: tuple[tuple[int, float], ...]
    index: int
    n_encoders: int


@dataclass(frozen=True)
class WorldReady:
    """Encoder ``encoder`` has a world model (trained, being trained, or loaded): ``label``,
    the steps trained per part, and where its checkpoint is."""

    run: int
    encoder: str
    label: str
    decoder_steps: int
    transition_steps: int
    checkpoint: str | None
    target: str


@dataclass(frozen=True)
class WorldRunDone:
    """A training run ended: ``cancelled``, or ``error`` (a message for the user), else finished."""

    run: int
    cancelled: bool
    error: str = ""
    checkpoints: tuple[str, ...] = ()


@dataclass(frozen=True)
class Reconstruction:
    """The decoder's reconstruction of source frame ``frame``: uint8 [H_in, W_in, 3] laid over
    ``crop_box`` of the frame (or None with a ``note``)."""

    request: int
    encoder: str
    label: str
    frame: int
    image: np.ndarray | None
    crop_box: tuple[int, int, int, int]
    steps: int
    note: str = ""


@dataclass(frozen=True)
class RolloutView:
    """A decoded rollout of one encoder's world model beside the real future frames.

    predicted, real: uint8 [k, H, W, 3]: for each rollout step the decoded prediction (at the
    encoder's input size, over ``crop_box``) and the real frame (source size), both of the
    *last* source frame the step covers (``frames[j]``); context: the source frames of the
    context steps; source: "video" or "pendulum episode N"; note: why it is shorter or empty.
    """

    request: int
    encoder: str
    label: str
    frames: tuple[int, ...]
    predicted: np.ndarray | None
    real: np.ndarray | None
    crop_box: tuple[int, int, int, int]
    context: tuple[int, ...]
    source: str
    note: str = ""


@dataclass(frozen=True)
class MaskDecoded:
    """Decoded context + predicted tokens of a masked view: uint8 [T', H_in, W_in, 3] (the last
    frame of each time step), over ``crop_box``."""

    request: int
    encoder: str
    label: str
    images: np.ndarray
    frame_indices: tuple[tuple[int, ...], ...]
    crop_box: tuple[int, int, int, int]


@dataclass(frozen=True)
class CompareProgress:
    """The comparison's ``stage`` ("pixels: transition") at ``step`` of ``total``."""

    run: int
    stage: str
    step: int
    total: int
    loss: float


@dataclass(frozen=True)
class CompareDone:
    """The comparison ended: ``result`` (a ComparisonResult, possibly ``cancelled``) or ``error``."""

    run: int
    result: Any
    error: str = ""




def frozen(array: np.ndarray) -> np.ndarray:
    """A read-only contiguous copy-free view of ``array`` (images cross threads read-only)."""
    array = np.ascontiguousarray(array)
    array.setflags(write=False)
    return array
