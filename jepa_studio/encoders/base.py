"""The one encoder interface: uint8 frames in, :class:`PatchFeatures` out."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, Sequence, runtime_checkable

import numpy as np
import torch


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
        False when the weights were built here at random; every view says so.
    patch_size, tubelet_size:
        pixels per token side; frames per token in time.
    input_size:
        (H, W) in pixels of the preprocessed input the encoder saw; h = H / patch_size.
    crop_box:
        (x0, y0, x1, y1) region of the *source* frame the input was resized from
        (the whole frame in full-frame mode), so maps can be laid over the frame.
    cls:
        optional float tensor [T', D]: the CLS token per time step (image encoders).
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

    def __post_init__(self) -> None:
        if self.tokens.ndim != 4:
            raise ValueError(f"tokens must be [T', h, w, D], got shape {tuple(self.tokens.shape)}")
        if len(self.frame_indices) != self.tokens.shape[0]:
            raise ValueError("frame_indices must have one entry per time step")

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
    def label(self) -> str:
        """Human-readable name for panes and exports, flagging random weights."""
        text = self.encoder if self.checkpoint in ("-", self.encoder) else f"{self.encoder} ({self.checkpoint})"
        return text if self.pretrained or self.checkpoint == "-" else f"{text} [random weights]"

    def time_step_of_frame(self, frame: int) -> int | None:
        """The time step whose tokens cover source frame ``frame``, or None."""
        for t, covered in enumerate(self.frame_indices):
            if frame in covered:
                return t
        return None

    def to(self, device: torch.device | str) -> "PatchFeatures":
        """A copy with tensors on ``device``."""
        from dataclasses import replace

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


def encoder_label(encoder: object, default: str = "encoder") -> str:
    """An encoder's name for panes and exports, flagging random weights."""
    name = str(getattr(encoder, "name", default))
    return f"{name} [random weights]" if getattr(encoder, "pretrained", True) is False else name


def group_frame_indices(
    frame_indices: Sequence[int], tubelet_size: int
) -> tuple[tuple[int, ...], ...]:
    """Split source frame indices into consecutive groups of ``tubelet_size``.

    >>> group_frame_indices([4, 6, 8, 10, 12], 2)
    ((4, 6), (8, 10), (12,))
    """
    idx = [int(i) for i in frame_indices]
    return tuple(tuple(idx[i : i + tubelet_size]) for i in range(0, len(idx), tubelet_size))
