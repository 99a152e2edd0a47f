"""Write frames to a video file: H.264 mp4, VP9 webm, or a looping palette gif."""

from __future__ import annotations

import os
from fractions import Fraction
from pathlib import Path
from typing import Iterable, Sequence

import av
import av.error
import numpy as np
from PIL import Image

from jepa_studio.errors import UsageError, VideoError

WRITABLE_SUFFIXES = (".mp4", ".gif", ".webm")
# Time bases for frames with given timestamps: gif delays are in 1/100 s, webm in ms.
_TIMESTAMP_BASES = {".mp4": Fraction(1, 90000), ".webm": Fraction(1, 1000), ".gif": Fraction(1, 100)}


def _rate(fps: float) -> Fraction:
    if not (fps > 0 and np.isfinite(fps)):
        raise UsageError(f"fps must be a positive number, got {fps}")
    return Fraction(fps).limit_denominator(1001)


def _check_frame(frame: np.ndarray, k: int, size: tuple[int, int] | None) -> np.ndarray:
    array = np.asarray(frame)
    if array.dtype != np.uint8 or array.ndim != 3 or array.shape[2] != 3:
        raise UsageError(f"frame {k} must be uint8 [H, W, 3], got {array.dtype} {tuple(array.shape)}")
    if size is not None and array.shape[:2] != size:
        raise UsageError(f"frame {k} is {array.shape[1]}x{array.shape[0]} but the first frame is {size[1]}x{size[0]}; all frames must share one size")
    return np.ascontiguousarray(array)


def frame_ticks(timestamps: Sequence[float] | np.ndarray, time_base: Fraction) -> np.ndarray:
    """Seconds at which frames are shown -> int64 [N] presentation times in ``time_base``
    units, from 0 and strictly increasing (frames closer than one unit are pushed apart).

    Raises
    ------
    UsageError
        When the timestamps are not finite or not strictly increasing.
    """
    seconds = np.asarray(timestamps, dtype=np.float64).reshape(-1)
    if seconds.size == 0 or not np.all(np.isfinite(seconds)):
        raise UsageError("timestamps must be finite numbers of seconds, one per frame")
    if np.any(np.diff(seconds) <= 0):
        raise UsageError("timestamps must increase from each frame to the next")
    ticks = np.round((seconds - seconds[0]) / float(time_base)).astype(np.int64)
    steps = np.arange(ticks.size, dtype=np.int64)
    return steps + np.maximum.accumulate(ticks - steps)  # t'[k] = max(t[k], t'[k-1] + 1)


def _pad_even(frame: np.ndarray) -> np.ndarray:
    """Pad bottom/right by repeating the edge so both sides are even (yuv420p needs it)."""
    h, w = frame.shape[:2]
    if h % 2 == 0 and w % 2 == 0:
        return frame
    return np.pad(frame, ((0, h % 2), (0, w % 2), (0, 0)), mode="edge")


def _gif_frame(frame: np.ndarray) -> av.VideoFrame:
    """An RGB frame as a pal8 frame with its own 256-colour palette (median cut)."""
    quantized = Image.fromarray(frame).quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    rgb = np.asarray(quantized.getpalette() or [], dtype=np.uint8).reshape(-1, 3)[:256]
    palette = np.zeros((256, 4), dtype=np.uint8)  # rows are A, R, G, B
    palette[:, 0] = 255
    palette[: rgb.shape[0], 1:] = rgb
    indices = np.ascontiguousarray(np.asarray(quantized, dtype=np.uint8))
    return av.VideoFrame.from_ndarray((indices, palette), format="pal8")


def write_video(
    path: str | os.PathLike,
    frames: Iterable[np.ndarray],
    fps: float,
    *,
    crf: int = 20,
    timestamps: Sequence[float] | np.ndarray | None = None,
) -> Path:
    """Encode ``frames`` into ``path``; the format follows the suffix.

    ``.mp4``: H.264 (libx264, yuv420p, ``crf``), odd sizes padded to even by repeating the
    last row/column. ``.webm``: VP9 (yuv420p, constant quality ``crf``). ``.gif``: one
    256-colour palette per frame, loops forever. Frames are consumed one at a time, so a
    generator works and memory stays flat. The file appears at ``path`` only when complete:
    on failure nothing is left and an existing file there is kept.

    Parameters
    ----------
    path:
        Output file; its folder must exist.
    frames:
        uint8 [H, W, 3] RGB frames, all the same size.
    fps:
        Frames per second (with ``timestamps``: the nominal rate written in the header).
    crf:
        Constant rate factor for mp4/webm (lower is better quality and bigger).
    timestamps:
        float [N], optional: the second at which each frame is shown (any origin; strictly
        increasing), for a variable frame rate; the last frame lasts as long as the gap
        before it. Export a range of a video at its own speed with
        ``timestamps=video.timestamps[indices]``. Default: frame k at ``k / fps``.

    Returns
    -------
    Path
        The written file.

    Raises
    ------
    UsageError
        Unknown suffix, no frames, frames of the wrong dtype/shape, bad fps, timestamps not
        increasing or not one per frame.
    VideoError
        The file cannot be created or encoding fails.
    """
    out = Path(path).expanduser()
    suffix = out.suffix.lower()
    if suffix not in WRITABLE_SUFFIXES:
        raise UsageError(f"cannot write '{out.name}': the suffix must be one of {', '.join(WRITABLE_SUFFIXES)}")
    rate = _rate(fps)
    time_base = _TIMESTAMP_BASES[suffix] if timestamps is not None else 1 / rate
    ticks = frame_ticks(timestamps, time_base) if timestamps is not None else None
    if ticks is not None:  # each frame lasts until the next; the last as long as the one before
        last = ticks[-1] - ticks[-2] if ticks.size > 1 else max(1, round(1 / (rate * time_base)))
        durations = np.append(np.diff(ticks), last)
    if not out.parent.is_dir():
        raise VideoError(f"Cannot write '{out.name}': folder '{out.parent}' does not exist.")
    partial = _partial_path(out)
    try:
        container = av.open(str(partial), mode="w", options={"movflags": "+faststart"} if suffix == ".mp4" else {})
    except (av.error.FFmpegError, OSError) as error:
        raise VideoError(f"Cannot create '{out.name}': {error}.") from None
    written = 0
    try:
        stream = None
        size: tuple[int, int] | None = None
        for k, frame in enumerate(frames):
            array = _check_frame(frame, k, size)
            if ticks is not None and k >= ticks.size:
                raise UsageError(f"more frames than the {ticks.size} timestamps given for '{out.name}'")
            if stream is None:
                size = array.shape[:2]
                stream = _add_stream(container, suffix, rate, array, crf)
                stream.codec_context.time_base = time_base
            if suffix == ".gif":
                av_frame = _gif_frame(array)
            else:
                av_frame = av.VideoFrame.from_ndarray(_pad_even(array), format="rgb24")
            av_frame.pts = k if ticks is None else int(ticks[k])
            av_frame.time_base = time_base
            if ticks is not None:
                av_frame.duration = int(durations[k])
            for packet in stream.encode(av_frame):
                container.mux(packet)
            written += 1
        if stream is None:
            raise UsageError(f"no frames to write to '{out.name}'")
        if ticks is not None and written != ticks.size:
            raise UsageError(f"{ticks.size} timestamps were given for the {written} frames of '{out.name}'")
        for packet in stream.encode():
            container.mux(packet)
        container.close()
        _replace(partial, out)
    except BaseException as error:
        try:
            container.close()
        except Exception:  # noqa: BLE001 - already failing; the original error matters
            pass
        if isinstance(error, av.error.FFmpegError):
            raise VideoError(f"Encoding '{out.name}' failed after {written} frames: {error}.") from None
        raise
    finally:
        partial.unlink(missing_ok=True)
    return out


def save_image(path: str | os.PathLike, image: np.ndarray) -> Path:
    """Write uint8 [H, W, 3] to ``path`` (PNG, JPEG ... by suffix).

    Like :func:`write_video`, the file appears only when complete: an existing file at
    ``path`` is kept if writing fails. Raises VideoError when the file cannot be written.
    """
    from PIL import Image

    out = Path(path).expanduser()
    partial = _partial_path(out)
    try:
        try:
            Image.fromarray(np.ascontiguousarray(image)).save(partial)
        except (OSError, ValueError) as error:
            raise VideoError(f"Cannot write '{out}': {getattr(error, 'strerror', None) or error}.") from None
        _replace(partial, out)
    finally:
        partial.unlink(missing_ok=True)
    return out


def _partial_path(out: Path) -> Path:
    """Where a file is written before it is complete: hidden, beside ``out``, same suffix."""
    return out.with_name(f".{out.stem}.partial{out.suffix}")


def _replace(partial: Path, out: Path) -> None:
    try:
        os.replace(partial, out)
    except OSError as error:
        raise VideoError(f"Cannot write '{out}': {error.strerror or error}.") from None


def _add_stream(container: av.container.OutputContainer, suffix: str, rate: Fraction, first: np.ndarray, crf: int) -> av.video.stream.VideoStream:
    h, w = first.shape[:2]
    if suffix == ".gif":
        stream = container.add_stream("gif", rate=rate)
        stream.pix_fmt = "pal8"
        stream.width, stream.height = w, h
        return stream
    if suffix == ".mp4":
        stream = container.add_stream("libx264", rate=rate)
        stream.options = {"crf": str(int(crf)), "preset": "medium"}
    else:
        stream = container.add_stream("libvpx-vp9", rate=rate)
        stream.options = {"crf": str(int(crf)), "b": "0", "row-mt": "1", "cpu-used": "5", "deadline": "good"}
    stream.pix_fmt = "yuv420p"
    stream.width, stream.height = w + w % 2, h + h % 2
    return stream
