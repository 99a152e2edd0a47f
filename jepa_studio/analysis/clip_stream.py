"""Frames of a selection, read in order with bounded memory, and encoded window by window.

A *source* is an opened :class:`~jepa_studio.video.Video` or a uint8 array [T, H, W, 3]
(tests and notebooks); a *selection* is any increasing sequence of frame indices (a
``range`` from ``--frames START:STOP:STEP`` is decoded sequentially, without seeking).
"""

from __future__ import annotations

from typing import Any, Callable, Iterator, Sequence

import numpy as np

from ..encoders.base import PatchFeatures
from ..errors import Cancelled, UsageError

Progress = Callable[[int, int], None]
Cancel = Callable[[], bool]


def check_selection(source: Any, frames: Sequence[int]) -> list[int]:
    """The selection as a list, checked to be increasing and inside the source."""
    frames = [int(f) for f in frames]
    if not frames:
        raise UsageError("the frame range is empty")
    n = len(source)
    bad = [f for f in frames if not 0 <= f < n]
    if bad:
        raise UsageError(f"frame {bad[0]} is outside the video (it has {n} frames: 0..{n - 1})")
    if any(b <= a for a, b in zip(frames, frames[1:])):
        raise UsageError("frames must be given in increasing order")
    return frames


def iter_selected(source: Any, frames: Sequence[int]) -> Iterator[tuple[int, np.ndarray]]:
    """Yield ``(index, uint8 [H, W, 3])`` for each selected frame, in order.

    A Video given a ``range`` decodes sequentially (one seek); other selections read by index.
    """
    if isinstance(source, np.ndarray):
        for f in frames:
            yield int(f), source[int(f)]
        return
    if isinstance(frames, range) and hasattr(source, "iter_frames"):
        yield from source.iter_frames(frames.start, frames.stop, frames.step)
        return
    for f in frames:
        yield int(f), source[int(f)]


def iter_windows(source: Any, frames: Sequence[int], window: int) -> Iterator[tuple[list[int], np.ndarray]]:
    """Consecutive windows of ``window`` selected frames: (indices, uint8 [n, H, W, 3])."""
    idx: list[int] = []
    buf: list[np.ndarray] = []
    for f, frame in iter_selected(source, frames):
        idx.append(f)
        buf.append(frame)
        if len(buf) == window:
            yield idx, np.stack(buf)
            idx, buf = [], []
    if buf:
        yield idx, np.stack(buf)


def encoding_window(encoder: Any, preferred: int = 64) -> int:
    """Frames to hand an encoder at once so results equal one call on the whole selection.

    A multiple of the encoder's own forward window (V-JEPA 2 attends within it), hence of
    its tubelet size.
    """
    own = int(getattr(encoder, "window", 0) or 0)
    tub = int(getattr(encoder, "tubelet_size", 1))
    base = own if own > 0 else tub
    return max(base, preferred // base * base)


def encode_selection(
    encoder: Any,
    source: Any,
    frames: Sequence[int],
    *,
    max_bytes: int | None = 8 * 2**30,
    progress: Progress | None = None,
    cancel: Cancel | None = None,
) -> PatchFeatures:
    """Encode the selected frames window by window and concatenate the features.

    Frames are never all in memory at once; the tokens are. ``max_bytes`` bounds them:
    when the first window shows the whole selection's tokens would exceed it, a
    :class:`UsageError` asks for a shorter range or a larger step.

    Returns
    -------
    PatchFeatures of the whole selection (tokens [T', h, w, D]).
    """
    from dataclasses import replace

    from ..encoders.transformers_base import concat_features

    frames = check_selection(source, frames)
    window = encoding_window(encoder)
    parts: list[PatchFeatures] = []
    done = 0
    for idx, clip in iter_windows(source, frames, window):
        if cancel is not None and cancel():
            raise Cancelled("cancelled")
        feats = encoder.encode(clip, idx)
        feats = replace(feats, tokens=feats.tokens.to("cpu"), cls=None)
        if not parts and max_bytes is not None:
            per_frame = feats.tokens.numel() * feats.tokens.element_size() / len(idx)
            need = per_frame * len(frames)
            if need > max_bytes:
                raise UsageError(
                    f"{encoder.name}'s features of {len(frames)} frames would take {need / 2**30:.1f} GiB: "
                    "select fewer frames with --frames START:STOP:STEP (a larger STEP, or a shorter range)"
                )
        parts.append(feats)
        done += len(idx)
        if progress is not None:
            progress(done, len(frames))
    return parts[0] if len(parts) == 1 else concat_features(parts)
