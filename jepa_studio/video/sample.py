"""The bundled sample video: the garden scene (:mod:`.synthetic`) rendered, streamed or written.

``python -m jepa_studio.video.sample --out resources/sample.mp4`` regenerates
``resources/sample.mp4``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Callable, Iterator, Sequence

import numpy as np

from .synthetic import SAMPLE_CRF, SAMPLE_FPS, SAMPLE_FRAMES, SAMPLE_SEED, SAMPLE_SIZE, SampleScene


def iter_sample_scene(
    n_frames: int = SAMPLE_FRAMES,
    size: tuple[int, int] = SAMPLE_SIZE,
    fps: float = SAMPLE_FPS,
    seed: int = SAMPLE_SEED,
) -> Iterator[np.ndarray]:
    """Yield the sample scene's frames one at a time, uint8 [H, W, 3] each.

    Memory does not grow with ``n_frames``: each frame is drawn when asked for.
    ``size`` is (width, height).
    """
    scene = SampleScene(size, fps, seed)
    for i in range(int(n_frames)):
        yield scene.frame(i)


def render_sample_scene(
    n_frames: int = SAMPLE_FRAMES,
    size: tuple[int, int] = SAMPLE_SIZE,
    fps: float = SAMPLE_FPS,
    seed: int = SAMPLE_SEED,
) -> np.ndarray:
    """The sample scene as one array, uint8 [T, H, W, 3] with T = ``n_frames``.

    ``size`` is (width, height). The same arguments always give the same frames.
    """
    width, height = int(size[0]), int(size[1])
    out = np.empty((int(n_frames), height, width, 3), np.uint8)
    for i, frame in enumerate(iter_sample_scene(n_frames, size, fps, seed)):
        out[i] = frame
    return out


def write_sample_video(
    path: str | Path,
    n_frames: int = SAMPLE_FRAMES,
    size: tuple[int, int] = SAMPLE_SIZE,
    fps: float = SAMPLE_FPS,
    seed: int = SAMPLE_SEED,
    crf: int = SAMPLE_CRF,
    progress: Callable[[int], None] | None = None,
) -> Path:
    """Render the sample scene straight into a video file (H.264 for .mp4); returns its path."""
    from .writer import write_video

    def frames() -> Iterator[np.ndarray]:
        for i, frame in enumerate(iter_sample_scene(n_frames, size, fps, seed)):
            if progress is not None:
                progress(i)
            yield frame

    return Path(write_video(path, frames(), fps, crf=crf))


def _parse_size(text: str) -> tuple[int, int]:
    try:
        w, h = text.lower().split("x")
        return int(w), int(h)
    except ValueError:
        raise argparse.ArgumentTypeError(f"size must look like 640x360, got {text!r}") from None


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m jepa_studio.video.sample --out resources/sample.mp4``."""
    parser = argparse.ArgumentParser(
        prog="python -m jepa_studio.video.sample",
        description="Render the JEPA Studio sample scene (a garden with moving objects) to a video.",
    )
    parser.add_argument("--out", type=Path, required=True, help="output video (.mp4, or what the writer supports)")
    parser.add_argument("--frames", type=int, default=SAMPLE_FRAMES, help=f"number of frames ({SAMPLE_FRAMES})")
    parser.add_argument("--size", type=_parse_size, default=SAMPLE_SIZE, help="WIDTHxHEIGHT (640x360)")
    parser.add_argument("--fps", type=float, default=SAMPLE_FPS, help=f"frames per second ({SAMPLE_FPS:g})")
    parser.add_argument("--seed", type=int, default=SAMPLE_SEED, help="texture seed (0)")
    parser.add_argument("--crf", type=int, default=SAMPLE_CRF, help=f"H.264 quality, lower is better ({SAMPLE_CRF})")
    args = parser.parse_args(argv)
    if args.frames < 1:
        parser.error("--frames must be at least 1")
    if args.fps <= 0:
        parser.error("--fps must be positive")
    if min(args.size) < 16:
        parser.error("--size must be at least 16x16")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    path = write_sample_video(args.out, args.frames, args.size, args.fps, args.seed, args.crf)
    print(f"wrote {path} ({args.frames} frames, {args.size[0]}x{args.size[1]}, {args.fps:g} fps, "
          f"{path.stat().st_size / 1e6:.2f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
