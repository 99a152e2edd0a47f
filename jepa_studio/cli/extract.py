"""``jepa-studio extract VIDEO --encoder NAME --out features.safetensors``: features of a whole video.

Streaming: a reader thread decodes (and, on the CPU, preprocesses) windows of frames into a
bounded queue while the main thread runs the model on the previous window, and each
window's tokens go straight to the output file (see
:class:`~jepa_studio.encoders.features_io.FeatureWriter`), so memory stays flat however
long the video. :func:`extract_video_features` is the same pipeline for Python callers.
"""

from __future__ import annotations

import argparse
import os
import queue
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np
import torch

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


def _windows(video: Any, frames: range, window: int) -> Iterator[tuple[list[int], np.ndarray]]:
    """(source indices, uint8 [n, H, W, 3]) for consecutive windows of ``frames``."""
    idx: list[int] = []
    buf: list[np.ndarray] = []
    for i, frame in video.iter_frames(frames.start, frames.stop, frames.step):
        idx.append(int(i))
        buf.append(frame)
        if len(buf) == window:
            yield idx, np.stack(buf)
            idx, buf = [], []
    if buf:
        yield idx, np.stack(buf)


def _window_size(encoder: Any, window: int | None) -> int:
    k = int(getattr(encoder, "tubelet_size", 1))
    w = int(window or getattr(encoder, "window", 16))
    if w < k or w % k:
        raise UsageError(f"--window must be a positive multiple of {k} frames for {encoder.name}, not {w}")
    return w


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
    video: an opened :class:`~jepa_studio.video.Video` (only ``iter_frames`` is used).
    encoder: any Encoder; ``prepare`` / ``encode_prepared`` are used when it has them.
    frames: the source frames, in order.
    window: frames per forward pass (default ``encoder.window`` or 16; a multiple of the
        tubelet size, so tubelets never straddle two windows).
    store_dtype: dtype of the stored tokens (float32, float16 or bfloat16).
    progress: ``callback(frames_done, frames_total)``.

    Raises
    ------
    OutOfMemoryError
        The device ran out of memory (the partial file is removed).
    """
    from ..encoders.device import oom_guard
    from ..encoders.features_io import FeatureWriter, feature_metadata

    out = Path(out)
    win = _window_size(encoder, window)
    if getattr(encoder, "window", win) != win and int(getattr(encoder, "tubelet_size", 1)) > 1:
        # a video encoder's attention spans one forward pass: chunks of ``win`` frames must
        # also be single passes, or the features would not be what was asked for
        raise UsageError(
            f"{encoder.name} runs forward passes of {encoder.window} frames; load it with "
            f"window={win} (jepa-studio extract --window {win}) to extract with {win}-frame passes"
        )
    k = int(getattr(encoder, "tubelet_size", 1))
    total = len(frames)
    steps = sum(-(-min(win, total - s) // k) for s in range(0, total, win))
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
            for idx, clip in _windows(video, frames, win):
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


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "extract",
        help="encode a whole video (or a frame range) and write the features to a .safetensors file",
        description="Encode a video with one encoder, streaming in windows (decoding overlapped with "
        "the model), and write tokens [T', h, w, D], the source frames of each time step, the CLS "
        "tokens where there are some, and JSON metadata to a safetensors file.",
    )
    parser.add_argument("video", nargs="?", help="video file (mp4, mov, mkv, webm, avi) or a folder of images")
    parser.add_argument("--encoder", help="registry name (see --list-encoders), hub id, or folder saved with save_pretrained")
    parser.add_argument("--out", help="output .safetensors file")
    parser.add_argument("--frames", default=None, help="START:STOP:STEP (default: every frame)")
    parser.add_argument("--device", default=None, help="cuda, cuda:1, mps or cpu (default: best available)")
    parser.add_argument("--dtype", default=None, help="compute precision: float32, float16, bfloat16 (default: bf16/fp16 on a GPU, fp32 on the CPU)")
    parser.add_argument("--resolution", type=int, default=None, metavar="SHORT_SIDE", help="input short side in pixels (crop size with --crop; default: the checkpoint's)")
    parser.add_argument("--crop", action="store_true", help="the checkpoint's own resize + centre crop instead of the full frame")
    parser.add_argument("--window", type=int, default=None, help="frames per forward pass (V-JEPA 2: even, default 16; DINO: batch size)")
    parser.add_argument("--half", action="store_true", help="store tokens as float16 (half the file size)")
    parser.add_argument("--random-weights", action="store_true", help="build the architecture with random weights (no download; labelled so)")
    parser.add_argument("--list-encoders", action="store_true", help="list known encoders with their size and memory needs, then exit")
    parser.set_defaults(run=run)


def list_encoders_text() -> str:
    """A table of the pixel baselines and every known checkpoint."""
    from ..encoders.registry import CHECKPOINTS, PIXEL_ENCODERS

    lines = [f"{'name':<22}{'params':>9}{'GPU fp16':>10}{'fp32':>8}  hub id"]
    lines += [f"{name:<22}{'-':>9}{'-':>10}{'-':>8}  (no weights: raw pixels)" for name in PIXEL_ENCODERS]
    for info in CHECKPOINTS.values():
        gated = "  [gated: needs `hf auth login`]" if info.gated else ""
        lines.append(
            f"{info.name:<22}{info.params_m:>8.0f}M{info.memory_gb_fp16:>8.1f}GB{info.memory_gb_fp32:>6.1f}GB  {info.hub_id}{gated}"
        )
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from ..encoders.device import parse_dtype
    from ..encoders.registry import load_encoder
    from ..video import open_video
    from .common import parse_frame_range, progress_bar

    if args.list_encoders:
        print(list_encoders_text())
        return 0
    if not args.video or not args.encoder or not args.out:
        raise UsageError("extract needs VIDEO, --encoder NAME and --out FILE.safetensors (see --help)")
    if not args.out.lower().endswith(".safetensors"):
        raise UsageError(f"--out must name a .safetensors file, not {args.out!r}")
    if args.resolution is not None and args.resolution < 16:
        raise UsageError(f"--resolution must be at least 16 pixels, not {args.resolution}")
    if args.window is not None and args.window < 1:
        raise UsageError(f"--window must be a positive number of frames, not {args.window}")
    encoder = load_encoder(
        args.encoder,
        device=args.device,
        dtype=parse_dtype(args.dtype),
        preprocessing="crop" if args.crop else "full",
        random_weights=args.random_weights,
        resolution=args.resolution,
        window=args.window,
    )
    with open_video(args.video) as video:
        frames = parse_frame_range(args.frames, len(video), default="::1")
        with progress_bar(f"extract {encoder.name}") as progress:
            result = extract_video_features(
                video, encoder, frames, args.out, window=args.window,
                store_dtype=torch.float16 if args.half else torch.float32, progress=progress,
                metadata={"video": str(Path(args.video).resolve()), "fps": float(video.fps)},
            )
    print(
        f"{result.path}: {result.steps} time steps from {result.frames} frames "
        f"({result.fps:.1f} frames/s)",
        file=sys.stdout,
    )
    return 0
