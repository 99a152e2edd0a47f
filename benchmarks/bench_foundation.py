"""The foundation's numbers in one run, on one 1280x720, 300-frame H.264 video:

- random-access decode throughput (``video[i]`` in random order, no cache) against
  sequential decode (``iter_frames``);
- ``fit_pca`` on that video's pixel-tubelet tokens against scikit-learn's PCA.

Usage: ``python benchmarks/bench_foundation.py [VIDEO]`` (default: a generated clip).
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_pca import bench_pca, print_result  # noqa: E402
from bench_video import bench_decode, make_test_video  # noqa: E402

from jepa_studio.encoders import load_encoder  # noqa: E402
from jepa_studio.video import open_video  # noqa: E402


def video_tokens(path: Path, encoder_name: str, chunk: int = 20) -> torch.Tensor:
    """Tokens [N, D] of every frame of the video, encoded ``chunk`` frames at a time."""
    encoder = load_encoder(encoder_name, device="cpu")
    parts = []
    with open_video(path) as video:
        for start in range(0, len(video), chunk):
            count = min(chunk, len(video) - start)
            feats = encoder.encode(video.clip(start, count), range(start, start + count))
            parts.append(feats.tokens.reshape(-1, feats.dim))
    return torch.cat(parts)


def main(argv: list[str]) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(argv[1]) if len(argv) > 1 else make_test_video(Path(tmp) / "bench_720p.mp4")
        r = bench_decode(path)
        print(f"video: {r['width']}x{r['height']}, {r['frames']} frames")
        print(f"  sequential decode (iter_frames)      {r['sequential_fps']:8.1f} frames/s   1.00x")
        print(f"  random access (video[i], no cache)   {r['random_fps']:8.1f} frames/s   {r['random_fps'] / r['sequential_fps']:.2f}x")
        for name in ("pixels-tubelet", "pixels"):
            t0 = time.perf_counter()
            tokens = video_tokens(path, name)
            print(f"\n{name} tokens of the whole video: {tuple(tokens.shape)} in {time.perf_counter() - t0:.1f} s")
            print_result(bench_pca(tokens, name=f"PCA of {name} tokens"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
