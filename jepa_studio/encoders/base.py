"""The one encoder interface: uint8 frames in, :class:`PatchFeatures` out."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Protocol, Sequence, Union, runtime_checkable

import numpy as np
import torch

#: what a checkpoint built here at random, or marked so in its config, is labelled with
RANDOM_WEIGHTS = "random weights"
#: what the pixel baselines are labelled with
NO_WEIGHTS = "no weights (raw pixels)"

#: which transformer layer features come from: an index into ``hidden_states`` (0: the patch
#: embeddings, i: the output of block i) or ``"last"`` (the last block)
Layer = Union[int, str]


def pretrained_note(hub_id: str) -> str:
    """The weights note of a known, trained hub checkpoint: ``"pretrained (facebook/dinov2-small)"``."""
    return f"pretrained ({hub_id})"


def weights_from_note(source: str) -> str:
    """The weights note of weights read from a folder or an unlisted hub id: ``"weights from SOURCE"``."""
    return f"weights from {source}"


def short_weights_note(note: str, limit: int = 30) -> str:
    """``note`` in lines of at most about ``limit`` characters: a longer note becomes its kind
    on one line and the end of its source on the next (``"weights from\n...run-42/step-1000"``)."""
    if len(note) <= limit:
        return note
    for head, tail in (("pretrained (", ")"), ("weights from ", "")):
        if note.startswith(head) and note.endswith(tail):
            source = note[len(head) : len(note) - len(tail)]
            source = source if len(source) <= limit else "..." + source[-(limit - 3) :]
            return f"{head.rstrip(' (')}\n{source}"
    return note


def layer_tag(layer: Layer, normed: bool) -> str:
    """How a layer choice reads in labels: ``""`` for the default (the last block, final norm
    applied), else e.g. ``"layer 4"``, ``"layer 4, no final norm"``, ``"no final norm"``."""
    parts = [] if layer == "last" else [f"layer {layer}"]
    if not normed:
        parts.append("no final norm")
    return ", ".join(parts)


@dataclass(frozen=True)
class PatchFeatures:
    """Patch tokens of one clip, on a regular (time, row, column) grid.

    Attributes
    ----------
    tokens:
        float tensor [T', h, w, D]: one D-dim token per patch (per tubelet for video
        encoders) per time step. Rows and columns follow the preprocessed input image.
    frame_indices:
        length T'; ``frame_indices[t]`` are the source-video frame indices that time
        step ``t`` covers (one for image encoders, two for V-JEPA 2's tubelets; the
        last tubelet of an odd-length clip covers one real frame).
    encoder:
        registry name of the encoder family, e.g. ``"pixels"`` or ``"vjepa2-vitl"``.
    checkpoint:
        hub id or folder the weights came from (``"-"`` where there are none).
    pretrained:
        False when the weights are random (built here, or marked so in the checkpoint's
        config); every view says so.
    patch_size, tubelet_size:
        pixels per token side; frames per token in time.
    input_size:
        (H, W) in pixels of the preprocessed input the encoder saw; h = H / patch_size.
    crop_box:
        (x0, y0, x1, y1) region of the *source* frame the input was resized from
        (the whole frame in full-frame mode), so maps can be laid over the frame.
    cls:
        optional float tensor [T', D]: the CLS token per time step (image encoders with one).
    layer:
        which block the tokens come from: ``"last"`` (default) or an index i into the
        model's ``hidden_states`` (0: patch embeddings, i: output of block i).
    normed:
        whether the model's final norm was applied to that block's output (default True:
        with ``layer="last"`` this is the model's ``last_hidden_state``).
    weights_note:
        what is known about the weights, for labels and exports: ``"pretrained (HUB_ID)"``
        for a known hub checkpoint, ``"weights from SOURCE"`` for a folder or an unlisted hub
        id, :data:`RANDOM_WEIGHTS`, or :data:`NO_WEIGHTS` for the pixel baselines. Default:
        derived from ``checkpoint`` and ``pretrained`` (random weights always say so).
    """

    tokens: torch.Tensor
    frame_indices: tuple[tuple[int, ...], ...]
    encoder: str
    checkpoint: str
    pretrained: bool
    patch_size: int
    tubelet_size: int
    input_size: tuple[int, int]
    crop_box: tuple[int, int, int, int]
    cls: torch.Tensor | None = field(default=None, repr=False)
    layer: Layer = "last"
    normed: bool = True
    weights_note: str = ""

    def __post_init__(self) -> None:
        if self.tokens.ndim != 4:
            raise ValueError(f"tokens must be [T', h, w, D], got shape {tuple(self.tokens.shape)}")
        if len(self.frame_indices) != self.tokens.shape[0]:
            raise ValueError("frame_indices must have one entry per time step")
        note = describe_weights(self.checkpoint, self.pretrained, self.weights_note)
        object.__setattr__(self, "weights_note", note)

    @property
    def grid(self) -> tuple[int, int, int]:
        """(T', h, w): the token grid."""
        t, h, w, _ = self.tokens.shape
        return int(t), int(h), int(w)

    @property
    def dim(self) -> int:
        """D, the token dimension."""
        return int(self.tokens.shape[-1])

    @property
    def layer_tag(self) -> str:
        """The layer choice as labels show it (``""`` for the default); see :func:`layer_tag`."""
        return layer_tag(self.layer, self.normed)

    @property
    def label(self) -> str:
        """Human-readable name for panes and exports: the encoder, its checkpoint, the layer
        when it is not the default, and ``[random weights]`` when the weights are random."""
        text = self.encoder if self.checkpoint in ("-", self.encoder) else f"{self.encoder} ({self.checkpoint})"
        if self.layer_tag:
            text += f" [{self.layer_tag}]"
        return f"{text} [{RANDOM_WEIGHTS}]" if self.weights_note == RANDOM_WEIGHTS else text

    def time_step_of_frame(self, frame: int) -> int | None:
        """The time step whose tokens cover source frame ``frame``, or None."""
        for t, covered in enumerate(self.frame_indices):
            if frame in covered:
                return t
        return None

    def to(self, device: torch.device | str) -> "PatchFeatures":
        """A copy with tensors on ``device``."""
        return replace(
            self,
            tokens=self.tokens.to(device),
            cls=None if self.cls is None else self.cls.to(device),
        )


@runtime_checkable
class Encoder(Protocol):
    """Anything that turns uint8 frames into :class:`PatchFeatures`."""

    name: str
    checkpoint: str
    pretrained: bool
    patch_size: int
    tubelet_size: int
    device: torch.device

    def encode(
        self, frames: np.ndarray, frame_indices: Sequence[int] | None = None
    ) -> PatchFeatures:
        """Encode uint8 frames [T, H, W, 3].

        ``frame_indices`` (length T) are the frames' indices in the source video,
        default ``0..T-1``; they are carried into ``PatchFeatures.frame_indices``.
        """
        ...


def describe_weights(checkpoint: str, pretrained: bool, note: str = "") -> str:
    """The weights note of an encoder or its features (see :attr:`PatchFeatures.weights_note`).

    Random weights (``pretrained`` False) are always :data:`RANDOM_WEIGHTS` and a checkpoint
    of ``"-"`` is :data:`NO_WEIGHTS`, whatever ``note`` says; otherwise ``note``, or when it
    is empty ``"weights from CHECKPOINT"`` (nothing more is known).
    """
    if not pretrained:
        return RANDOM_WEIGHTS
    if checkpoint == "-":
        return NO_WEIGHTS
    return note or weights_from_note(checkpoint)


def encoder_label(encoder: object, default: str = "encoder") -> str:
    """An encoder's name for panes and exports, flagging random weights."""
    name = str(getattr(encoder, "name", default))
    note = getattr(encoder, "weights_note", None)
    random = note == RANDOM_WEIGHTS if note is not None else getattr(encoder, "pretrained", True) is False
    return f"{name} [{RANDOM_WEIGHTS}]" if random else name


def group_frame_indices(
    frame_indices: Sequence[int], tubelet_size: int
) -> tuple[tuple[int, ...], ...]:
    """Split source frame indices into consecutive groups of ``tubelet_size``.

    >>> group_frame_indices([4, 6, 8, 10, 12], 2)
    ((4, 6), (8, 10), (12,))
    """
    idx = [int(i) for i in frame_indices]
    return tuple(tuple(idx[i : i + tubelet_size]) for i in range(0, len(idx), tubelet_size))
