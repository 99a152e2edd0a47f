"""One video, streamed to one features file: :func:`extract_video_features`.

A reader thread decodes (and, on the CPU, preprocesses) windows of frames into a bounded
queue while the calling thread runs the model on the previous window, and each window's
tokens go straight to the output file (see
:class:`~jepa_studio.encoders.features_io.FeatureWriter`), so memory stays flat however
long the video. Both dataset engines and ``jepa-studio extract VIDEO`` run this function;
the Ray engine hands it a clip range it decoded elsewhere (:class:`FrameArray`).
"""

from __future__ import annotations

import os
import queue
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import numpy as np
import torch

from ..analysis.clip_stream import iter_windows
from ..errors import UsageError

_DONE = object()


@dataclass(frozen=True)
class ExtractResult:
    """What :func:`extract_video_features` wrote: file, frames, time steps, seconds, frames per second."""

    path: Path
    frames: int
    steps: int
    seconds: float

    @property
    def fps(self) -> float:
        return self.frames / self.seconds if self.seconds > 0 else float("inf")


class FrameArray:
    """Decoded frames held in memory, read like a video by :func:`extract_video_features`.

    Parameters
    ----------
    frames: uint8 [n, H, W, 3].
    indices: the n source-video indices of those frames, increasing.
    """

    def __init__(self, frames: np.ndarray, indices: Sequence[int]) -> None:
        if len(frames) != len(indices):
            raise ValueError(f"{len(frames)} frames but {len(indices)} indices")
        self.frames, self.indices = frames, list(indices)

    def iter_frames(self, start: int, stop: int, step: int) -> Iterator[tuple[int, np.ndarray]]:
        """``(index, frame)`` for the held frames whose index is in ``range(start, stop, step)``."""
        wanted = range(start, stop, step)
        for i, frame in zip(self.indices, self.frames):
            if i in wanted:
                yield i, frame


def window_size(encoder: Any, window: int | None) -> int:
    """Frames per forward pass: ``window`` or the encoder's (default 16), a multiple of its tubelet size."""
    k = int(getattr(encoder, "tubelet_size", 1))
    w = int(window or getattr(encoder, "window", 16))
    if w < k or w % k:
        raise UsageError(f"--window must be a positive multiple of {k} frames for {encoder.name}, not {w}")
    return w


def check_window(encoder: Any, window: int | None) -> int:
    """:func:`window_size`, refusing a window that is not one forward pass of a video encoder."""
    win = window_size(encoder, window)
    if getattr(encoder, "window", win) != win and int(getattr(encoder, "tubelet_size", 1)) > 1:
        # a video encoder's attention spans one forward pass: chunks of ``win`` frames must
        # also be single passes, or the features would not be what was asked for
        raise UsageError(
            f"{encoder.name} runs forward passes of {encoder.window} frames; load it with "
            f"window={win} (jepa-studio extract --window {win}) to extract with {win}-frame passes"
        )
    return win


def count_steps(n_frames: int, window: int, tubelet_size: int) -> int:
    """Time steps from ``n_frames`` encoded in windows of ``window`` frames (each padded to whole tubelets)."""
    return sum(-(-min(window, n_frames - s) // tubelet_size) for s in range(0, n_frames, window))


def extract_video_features(
    video: Any,
    encoder: Any,
    frames: range,
    out: str | os.PathLike[str],
    *,
    window: int | None = None,
    store_dtype: torch.dtype = torch.float32,
    progress: Callable[[int, int], None] | None = None,
    queue_size: int = 2,
    metadata: dict[str, Any] | None = None,
) -> ExtractResult:
    """Encode ``frames`` of ``video`` window by window and stream the tokens to ``out``.

    Parameters
    ----------
    video: an opened :class:`~jepa_studio.video.Video` or a :class:`FrameArray` (only
        ``iter_frames`` is used).
    encoder: any Encoder; ``prepare`` / ``encode_prepared`` are used when it has them.
    frames: the source frames, in order.
    window: frames per forward pass (default ``encoder.window`` or 16; a multiple of the
        tubelet size, so tubelets never straddle two windows).
    store_dtype: dtype of the stored tokens (float32, float16 or bfloat16).
    progress: ``callback(frames_done, frames_total)``.
    metadata: extra flat fields for the file's metadata.

    Raises
    ------
    OutOfMemoryError
        The device ran out of memory (the partial file is removed).
    UsageError
        The encoder produced NaN or infinite values (named in the message).
    """
    from ..encoders.device import oom_guard
    from ..encoders.features_io import FeatureWriter, check_finite, feature_metadata

    out = Path(out)
    win = check_window(encoder, window)
    k = int(getattr(encoder, "tubelet_size", 1))
    total = len(frames)
    steps = count_steps(total, win, k)
    device = torch.device(getattr(encoder, "device", "cpu"))
    prepare_in_reader = hasattr(encoder, "prepare") and device.type == "cpu"
    jobs: queue.Queue[Any] = queue.Queue(maxsize=max(1, queue_size))
    stop = threading.Event()

    def put(item: Any) -> bool:
        while not stop.is_set():
            try:
                jobs.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def read() -> None:
        try:
            for idx, clip in iter_windows(video, frames, win):
                item: Any = encoder.prepare(clip, device="cpu") if prepare_in_reader else clip
                if not put((idx, item)):
                    return
        except BaseException as error:  # noqa: BLE001 - handed to the main thread
            put(error)
        finally:
            put(_DONE)

    reader = threading.Thread(target=read, name="jepa-extract-reader", daemon=True)
    writer: FeatureWriter | None = None
    done = 0
    start_time = time.perf_counter()
    reader.start()
    try:
        while True:
            item = jobs.get()
            if item is _DONE:
                break
            if isinstance(item, BaseException):
                raise item
            idx, data = item
            what = f"encoding frames {idx[0]}-{idx[-1]} with {encoder.name}"
            with oom_guard(what, device):
                if prepare_in_reader:
                    feats = encoder.encode_prepared(data, idx)
                elif hasattr(encoder, "encode_prepared"):
                    feats = encoder.encode_prepared(encoder.prepare(data), idx)
                else:
                    feats = encoder.encode(data, idx)
            check_finite(feats, f"for frames {idx[0]}-{idx[-1]}")
            if writer is None:
                _, h, w = feats.grid
                meta = feature_metadata(
                    feats,
                    frames=[frames.start, frames.stop, frames.step],
                    preprocessing=getattr(getattr(encoder, "preprocessing", None), "key", lambda: "-")(),
                    label=feats.label,
                    **(metadata or {}),
                )
                writer = FeatureWriter(
                    out, steps=steps, grid=(h, w), dim=feats.dim, tubelet_size=feats.tubelet_size,
                    has_cls=feats.cls is not None, dtype=store_dtype, metadata=meta,
                )
            writer.write(feats)
            done += len(idx)
            if progress is not None:
                progress(done, total)
        if writer is None:
            raise UsageError("the frame range holds no frames to encode")
        writer.close()
    except BaseException:
        if writer is not None:
            writer.abort()
        raise
    finally:
        stop.set()
        reader.join(timeout=5)
    return ExtractResult(out, done, steps, time.perf_counter() - start_time)
