"""Whole-video extraction throughput against the model's forward pass alone.

    python benchmarks/bench_extract.py                       # CPU: a small random V-JEPA 2, 128 px
    python benchmarks/bench_extract.py --arch vjepa2-vitl    # CUDA: full-size ViT-L, random weights, 256 px

Side by side in one run, on the same frames and windows:

- forward only: the clips are decoded and preprocessed beforehand (on the encoder's
  device), then only ``encode_prepared`` (the model's forward, windows of 16 frames) is timed;
- extract: ``extract_video_features`` as ``jepa-studio extract`` runs it: decode in a reader
  thread, preprocess, forward, stream tokens to a safetensors file.

The ratio extract / forward (frames per second) is the figure: 1.0 means decoding,
preprocessing and writing are completely hidden behind the model. Each is timed three times,
alternating, after a warm-up; the best of each is reported.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from jepa_studio.cli.extract import extract_video_features  # noqa: E402
from jepa_studio.encoders.loading import build_model  # noqa: E402
from jepa_studio.encoders.preprocess import Preprocessing  # noqa: E402
from jepa_studio.encoders.registry import CHECKPOINTS, load_encoder  # noqa: E402
from jepa_studio.encoders.vjepa2 import VJepa2Encoder  # noqa: E402
from jepa_studio.video import open_video, write_video  # noqa: E402

SMALL = dict(hidden_size=384, num_hidden_layers=6, num_attention_heads=6, crop_size=256, frames_per_clip=64,
             pred_hidden_size=192, pred_num_hidden_layers=2, pred_num_attention_heads=6)


def make_video(path: Path, frames: int, width: int, height: int) -> None:
    """A textured background with a moving square (H.264)."""
    rng = np.random.default_rng(0)
    background = rng.integers(0, 256, (height // 8 + 1, width // 8 + 1, 3), dtype=np.uint8)
    background = np.kron(background, np.ones((8, 8, 1), np.uint8))[:height, :width]

    def gen():
        for t in range(frames):
            f = background.copy()
            x = (t * 7) % (width - 64)
            f[height // 3 : height // 3 + 64, x : x + 64] = (255, 40, 40)
            yield f

    write_video(path, gen(), fps=30)


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def time_forward(encoder, clips, device) -> float:
    sync(device)
    start = time.perf_counter()
    for idx, clip in clips:
        encoder.encode_prepared(clip, idx)
    sync(device)
    return time.perf_counter() - start


def time_extract(encoder, video_path, frames, out, window) -> float:
    with open_video(video_path) as video:
        start = time.perf_counter()
        extract_video_features(video, encoder, frames, out, window=window)
        sync(encoder.device)
        return time.perf_counter() - start


def make_encoder(args: argparse.Namespace, parser: argparse.ArgumentParser):
    """The benchmark's V-JEPA 2 from ``--arch`` (``small``: :data:`SMALL` with random
    weights, float16 on a GPU), ``--device``, ``--dtype``, ``--resolution``, ``--window``."""
    if args.arch == "small":
        device = torch.device(args.device or "cpu")
        dtype = torch.float32 if device.type == "cpu" else torch.float16
        model = build_model("vjepa2", SMALL, random_weights=True, dtype=dtype, device=device)
        prep = Preprocessing(short_side=args.resolution or 128, interpolation="bilinear")
        return VJepa2Encoder(model, name="vjepa2-small", checkpoint="random", pretrained=False, device=device,
                             dtype=dtype, preprocessing=prep, trained_preprocessing=prep, window=args.window)
    if args.arch not in CHECKPOINTS:
        parser.error(f"unknown --arch {args.arch}")
    return load_encoder(args.arch, device=args.device, dtype=args.dtype, random_weights=True,
                        resolution=args.resolution, window=args.window)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--arch", default="small", help="'small' (CPU-sized random V-JEPA 2) or a registry name such as vjepa2-vitl")
    parser.add_argument("--device", default=None)
    parser.add_argument("--frames", type=int, default=None, help="video length (default 64 on the CPU, 320 on a GPU)")
    parser.add_argument("--size", default=None, help="video WxH (default 640x360 on the CPU, 1280x720 on a GPU)")
    parser.add_argument("--resolution", type=int, default=None, help="input short side (default 128 small / 256)")
    parser.add_argument("--window", type=int, default=16)
    parser.add_argument("--dtype", default=None)
    args = parser.parse_args()

    torch.manual_seed(0)
    encoder = make_encoder(args, parser)
    device = encoder.device
    gpu = device.type != "cpu"
    n = args.frames or (320 if gpu else 64)
    width, height = (int(v) for v in (args.size or ("1280x720" if gpu else "640x360")).split("x"))

    with tempfile.TemporaryDirectory() as tmp:
        video_path = Path(tmp) / "bench.mp4"
        make_video(video_path, n, width, height)
        frames = range(0, n)
        with open_video(video_path) as video:
            start = time.perf_counter()
            decoded = [(i, f) for i, f in video.iter_frames(0, n)]
            decode_s = time.perf_counter() - start
        windows = [decoded[s : s + args.window] for s in range(0, n, args.window)]
        clips = [([i for i, _ in w], encoder.prepare(np.stack([f for _, f in w]))) for w in windows]
        del decoded
        grid = clips[0][1].pixels.shape[-2:]
        print(f"device: {device} ({torch.cuda.get_device_name(device) if device.type == 'cuda' else os.cpu_count()} "
              f"{'' if device.type == 'cuda' else 'CPU cores'}), torch threads {torch.get_num_threads()}")
        print(f"encoder: {encoder.name} ({sum(p.numel() for p in encoder.model.parameters()) / 1e6:.0f}M params, "
              f"random weights), {encoder.dtype}, window {args.window} frames, input {tuple(grid)}")
        print(f"video: {n} frames {width}x{height}; sequential decode alone {n / decode_s:.1f} frames/s")

        out = Path(tmp) / "features.safetensors"
        encoder.encode_prepared(*reversed(clips[0]))  # warm-up (kernels, allocator)
        forward, full = [], []
        for _ in range(3):
            forward.append(time_forward(encoder, clips, device))
            full.append(time_extract(encoder, video_path, frames, out, args.window))
        f_fps, e_fps = n / min(forward), n / min(full)
        print(f"forward only (preprocessed clips): {f_fps:8.2f} frames/s  (runs: {', '.join(f'{t:.2f}s' for t in forward)})")
        print(f"extract (decode+prep+forward+write): {e_fps:6.2f} frames/s  (runs: {', '.join(f'{t:.2f}s' for t in full)})")
        print(f"ratio extract / forward: {e_fps / f_fps:.3f}  (aim >= 0.9)")
        print(f"output: {out.stat().st_size / 2**20:.1f} MiB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
