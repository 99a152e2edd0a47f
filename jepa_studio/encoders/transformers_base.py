"""What the transformers-backed encoders share: construction, labels, the layer choice,
input preparation, and encoding a long clip in windows.

Layers: ``layer`` picks the block whose output becomes the tokens, as an index into the
model's ``hidden_states`` (what ``output_hidden_states=True`` returns: 0 is the patch
embeddings, i the output of block i; negative indices count from the end) or ``"last"``
(the default; the index of the last block means the same and is stored as ``"last"``).
``final_norm`` (default True) applies the model's final norm to that output, as the
model does to its last block; without it the last block's output is the raw residual
stream (DINOv3's is about 76x larger than after the norm).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Sequence

import numpy as np
import torch

from ..errors import EncoderError
from .base import Layer, PatchFeatures, describe_weights, layer_tag
from .preprocess import Preprocessing, preprocess_frames


@dataclass(frozen=True)
class PreparedClip:
    """Frames ready for the model: ``pixels`` float [T, 3, H, W] (normalised) and the crop box."""

    pixels: torch.Tensor
    crop_box: tuple[int, int, int, int]


def concat_features(parts: Sequence[PatchFeatures]) -> PatchFeatures:
    """Concatenate PatchFeatures of consecutive clips (same encoder and grid) along time."""
    first = parts[0]
    cls = None if first.cls is None else torch.cat([p.cls for p in parts], dim=0)
    return replace(
        first,
        tokens=torch.cat([p.tokens for p in parts], dim=0),
        frame_indices=tuple(g for p in parts for g in p.frame_indices),
        cls=cls,
    )


def check_frame_indices(n_frames: int, frame_indices: Sequence[int] | None) -> Sequence[int]:
    """``frame_indices`` (default ``0..n-1``), checked to have one index per frame."""
    if frame_indices is None:
        return range(n_frames)
    if len(frame_indices) != n_frames:
        raise ValueError("frame_indices must have one index per frame")
    return frame_indices


def resolve_layer(layer: Layer, num_layers: int, name: str = "this encoder") -> Layer:
    """A layer choice checked against a model of ``num_layers`` blocks: ``"last"`` or 0..L-1.

    Accepts ``"last"``, an int (or its text) from -(L+1) to L; L and -1 mean ``"last"``.

    Raises
    ------
    EncoderError
        Not a layer of this model.
    """
    value: object = layer
    if isinstance(value, str):
        if value.strip().lower() == "last":
            return "last"
        try:
            value = int(value)
        except ValueError:
            pass
    if isinstance(value, int) and not isinstance(value, bool) and -num_layers - 1 <= value <= num_layers:
        index = value % (num_layers + 1)
        return "last" if index == num_layers else index
    raise EncoderError(
        f"{name} has no layer {layer!r}: choose 0 (the patch embeddings) to {num_layers} (its last block), "
        "a negative index counting from the end, or 'last'"
    )


class TransformersEncoder:
    """Base of encoders around a transformers model.

    Subclasses set ``tubelet_size``, define ``window`` (frames per forward pass) and
    ``encode_frames(clip, frame_indices) -> PatchFeatures``.

    Attributes
    ----------
    model: the transformers model.
    name, checkpoint, pretrained: what the features are labelled with.
    weights_note: what is known about the weights (see :attr:`~.base.PatchFeatures.weights_note`).
    device, dtype: where and in which precision the model runs.
    preprocessing: how frames become input (full frame by default).
    trained_preprocessing: the checkpoint's own resize + centre crop + mean/std.
    layer, final_norm: which block's output the tokens are, and whether the final norm is
        applied to it (see the module docstring); settable between calls.
    """

    tubelet_size = 1
    window: int

    def __init__(
        self,
        model: torch.nn.Module,
        *,
        name: str,
        checkpoint: str,
        pretrained: bool,
        device: torch.device,
        dtype: torch.dtype,
        preprocessing: Preprocessing,
        trained_preprocessing: Preprocessing,
        weights_note: str = "",
        layer: Layer = "last",
        final_norm: bool = True,
    ) -> None:
        self.model = model
        self.name = name
        self.checkpoint = checkpoint
        self.pretrained = pretrained
        self.weights_note = describe_weights(checkpoint, pretrained, weights_note)
        self.device = torch.device(device)
        self.dtype = dtype
        self.preprocessing = preprocessing
        self.trained_preprocessing = trained_preprocessing
        patch = model.config.patch_size
        self.patch_size = int(patch if isinstance(patch, int) else patch[0])
        self.layer = layer
        self.final_norm = bool(final_norm)

    @property
    def dim(self) -> int:
        """D, the token dimension."""
        return int(self.model.config.hidden_size)

    @property
    def num_layers(self) -> int:
        """L, the number of transformer blocks (``hidden_states`` has L + 1 entries)."""
        return int(self.model.config.num_hidden_layers)

    @property
    def layer(self) -> Layer:
        """Which block's output the tokens are: ``"last"`` or an index 0..L-1 into ``hidden_states``."""
        return self._layer

    @layer.setter
    def layer(self, value: Layer) -> None:
        self._layer = resolve_layer(value, self.num_layers, self.name)

    @property
    def layer_index(self) -> int:
        """The layer as an index into ``hidden_states`` (L for ``"last"``)."""
        return self.num_layers if self._layer == "last" else int(self._layer)

    @property
    def layer_tag(self) -> str:
        """The layer choice as labels show it (``""`` for the default)."""
        return layer_tag(self._layer, self.final_norm)

    def features(
        self,
        tokens: torch.Tensor,
        frame_indices: tuple[tuple[int, ...], ...],
        clip: PreparedClip,
        cls: torch.Tensor | None = None,
    ) -> PatchFeatures:
        """PatchFeatures of ``tokens`` [T', h, w, D] from ``clip``, labelled with this encoder."""
        return PatchFeatures(
            tokens=tokens,
            frame_indices=frame_indices,
            encoder=self.name,
            checkpoint=self.checkpoint,
            pretrained=self.pretrained,
            patch_size=self.patch_size,
            tubelet_size=self.tubelet_size,
            input_size=(int(clip.pixels.shape[2]), int(clip.pixels.shape[3])),
            crop_box=clip.crop_box,
            cls=cls,
            layer=self._layer,
            normed=self.final_norm,
            weights_note=self.weights_note,
        )

    def prepare(self, frames: np.ndarray, device: torch.device | str | None = None) -> PreparedClip:
        """uint8 frames [T, H, W, 3] -> normalised float32 pixels [T, 3, H', W'] on ``device``."""
        x, box = preprocess_frames(frames, self.patch_size, self.preprocessing, device or self.device)
        return PreparedClip(x, box)

    def encode_prepared(self, clip: PreparedClip, frame_indices: Sequence[int] | None = None) -> PatchFeatures:
        """Encode prepared pixels [T, 3, H, W] (``frame_indices`` default 0..T-1)."""
        n = clip.pixels.shape[0]
        frame_indices = check_frame_indices(n, frame_indices)
        if n == 0:
            raise ValueError("no frames to encode")
        return self.encode_frames(clip, frame_indices)

    def encode_frames(self, clip: PreparedClip, frame_indices: Sequence[int]) -> PatchFeatures:
        """Encode prepared pixels [T, 3, H, W], T >= 1, with one source index per frame."""
        raise NotImplementedError

    def encode(self, frames: np.ndarray, frame_indices: Sequence[int] | None = None) -> PatchFeatures:
        """uint8 frames [T, H, W, 3] -> PatchFeatures (tokens float32 [T', h, w, D]).

        ``frame_indices`` (length T, default 0..T-1) are the frames' source indices. Frames
        are preprocessed one window at a time, so memory does not grow with T beyond the
        frames and tokens themselves.
        """
        frame_indices = check_frame_indices(len(frames), frame_indices)
        w = self.window
        parts = [
            self.encode_prepared(self.prepare(frames[s : s + w]), frame_indices[s : s + w])
            for s in range(0, len(frames), w)
        ]
        if not parts:
            raise ValueError("no frames to encode")
        return parts[0] if len(parts) == 1 else concat_features(parts)
