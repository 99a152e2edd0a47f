"""The cost of world-model latents that do not see the future, against windowed ones.

    python benchmarks/bench_latents.py                       # CPU: a small random V-JEPA 2, 128 px
    python benchmarks/bench_latents.py --arch vjepa2-vitl    # CUDA: full-size ViT-L, random weights, 256 px

Side by side on the same frames (``encode_latents``):

- ``window``: the encoder's own bidirectional windows of 16 frames (one pass per window:
  the cheapest, and every step sees up to 14 later frames);
- ``causal``: one pass per time step over the window that ends at it (batched);
- ``per-frame``: one pass per frame, repeated to fill a tubelet (batched).

Each mode is timed three times, alternating, after a warm-up; the best run is reported with
its ratio to ``window``, and the ratio the passes' token counts predict.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_extract import make_encoder, sync  # noqa: E402
from jepa_studio.world.latents import LATENT_MODES, encode_latents  # noqa: E402


def tokens_seen(mode: str, n: int, window: int, tubelet: int = 2) -> int:
    """Sum over passes of the time steps each pass holds (cost ~ that, attention aside)."""
    steps = n // tubelet
    if mode == "window":
        return steps
    if mode == "per-frame":
        return n
    return sum(min(s + 1, window // tubelet) for s in range(steps))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--arch", default="small", help="'small' (CPU-sized random V-JEPA 2) or a registry name such as vjepa2-vitl")
    parser.add_argument("--device", default=None)
    parser.add_argument("--frames", type=int, default=None, help="clip length (default 32 on the CPU, 64 on a GPU)")
    parser.add_argument("--resolution", type=int, default=None, help="input short side (default 128 small / 256)")
    parser.add_argument("--window", type=int, default=16)
    parser.add_argument("--batch", type=int, default=8, help="passes per batch in causal / per-frame mode")
    parser.add_argument("--dtype", default=None)
    args = parser.parse_args()

    torch.manual_seed(0)
    encoder = make_encoder(args, parser)
    device = encoder.device
    n = args.frames or (64 if device.type != "cpu" else 32)
    frames = np.random.default_rng(0).integers(0, 256, (n, 180, 320, 3), dtype=np.uint8)
    print(f"device: {device} ({torch.cuda.get_device_name(device) if device.type == 'cuda' else os.cpu_count()} "
          f"{'' if device.type == 'cuda' else 'CPU cores'}), torch threads {torch.get_num_threads()}, "
          f"load average {os.getloadavg()[0]:.1f}")
    print(f"encoder: {encoder.name} ({sum(p.numel() for p in encoder.model.parameters()) / 1e6:.0f}M params, "
          f"random weights), {encoder.dtype}, window {args.window} frames; clip {n} frames 320x180")

    def run(mode: str) -> float:
        sync(device)
        start = time.perf_counter()
        encode_latents(encoder, frames, mode, batch_size=args.batch)
        sync(device)
        return time.perf_counter() - start

    for mode in LATENT_MODES:
        run(mode)  # warm-up
    times: dict[str, list[float]] = {m: [] for m in LATENT_MODES}
    for _ in range(3):
        for mode in LATENT_MODES:
            times[mode].append(run(mode))
    base = min(times["window"])
    shape = encode_latents(encoder, frames[:2], "window").tokens.shape
    print(f"tokens per step: {shape[1]}x{shape[2]}")
    for mode in ("window", "causal", "per-frame"):
        best = min(times[mode])
        expect = tokens_seen(mode, n, args.window) / tokens_seen("window", n, args.window)
        print(f"{mode:>9}: {best:7.2f} s  {n / best:7.1f} frames/s  x{best / base:5.2f} of window "
              f"(token count predicts x{expect:.2f}; runs {', '.join(f'{t:.2f}' for t in times[mode])})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
