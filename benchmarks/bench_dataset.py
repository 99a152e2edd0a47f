"""Dataset extraction: the local engine against the Ray engine on the same folder of videos.

    python benchmarks/bench_dataset.py                        # CPU: a small random V-JEPA 2, 8 videos
    python benchmarks/bench_dataset.py --arch vjepa2-vitl     # GPU: full-size ViT-L (random weights), 1 GPU actor

Side by side in one run, on one folder of generated H.264 videos and one encoder (random
weights, saved to a folder so every Ray actor loads the same ones):

- local: ``extract_dataset(..., engine="local")`` in this process;
- Ray: a local Ray (its start-up timed apart), then ``extract_dataset(..., engine="ray")``
  with one encoder actor (one per GPU), long videos in clip ranges;
- Ray rerun: the same call again, every file already done.

Local and Ray runs alternate (``--repeat`` times each, into fresh folders) and the best
of each is reported, so a change in the machine's load hits both. Printed: wall time,
videos/s and frames/s of each, Ray's overhead per video ((Ray - local) / videos, start-up
excluded), and whether the two engines' files are identical bit for bit.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench_extract import SMALL, make_video  # noqa: E402

from jepa_studio.dataset import EncoderRequest, extract_dataset  # noqa: E402
from jepa_studio.dataset.ray_engine import start_ray  # noqa: E402
from jepa_studio.encoders.features_io import load_features  # noqa: E402
from jepa_studio.encoders.loading import build_model  # noqa: E402
from jepa_studio.encoders.registry import CHECKPOINTS  # noqa: E402


def save_random_model(arch: str, folder: Path) -> Path:
    """A random V-JEPA 2 (``small`` or a registry architecture) saved with the random-weights marker."""
    torch.manual_seed(0)
    hyper = SMALL if arch == "small" else dict(CHECKPOINTS[arch].hyper)
    model = build_model("vjepa2", hyper, random_weights=True, dtype=torch.float32, device=torch.device("cpu"))
    model.config.jepa_studio_random_init = True
    model.save_pretrained(folder)
    return folder


def timed(**kwargs) -> tuple[float, list[dict]]:
    start = time.perf_counter()
    rows = extract_dataset(**kwargs)
    return time.perf_counter() - start, rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--arch", default="small", help="'small' (CPU-sized random V-JEPA 2) or a registry name such as vjepa2-vitl")
    parser.add_argument("--videos", type=int, default=None, help="how many videos (default 6 on the CPU, 16 on a GPU)")
    parser.add_argument("--frames", type=int, default=None, help="frames per video (default 48 on the CPU, 256 on a GPU)")
    parser.add_argument("--repeat", type=int, default=2, help="runs of each engine, alternating (best reported)")
    parser.add_argument("--size", default="320x240", help="video WxH")
    parser.add_argument("--resolution", type=int, default=None, help="input short side (default 128 small / 256)")
    parser.add_argument("--clip-frames", type=int, default=None, help="Ray clip ranges (default 4 windows)")
    parser.add_argument("--ray-address", default=None, help="join this Ray cluster instead of starting one")
    args = parser.parse_args()

    gpu = torch.cuda.is_available()
    n_videos = args.videos or (16 if gpu else 6)
    n_frames = args.frames or (256 if gpu else 48)
    width, height = (int(v) for v in args.size.split("x"))
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        folder = root / "videos"
        for i in range(n_videos):
            (folder / f"part{i % 2}").mkdir(parents=True, exist_ok=True)
            make_video(folder / f"part{i % 2}" / f"clip{i}.mp4", n_frames, width, height)
        request = EncoderRequest(str(save_random_model(args.arch, root / "model")),
                                 resolution=args.resolution or (128 if args.arch == "small" else 256), window=16)
        total = n_videos * n_frames
        print(f"machine: {os.cpu_count()} CPUs, {'GPU ' + torch.cuda.get_device_name() if gpu else 'no GPU'}, "
              f"torch threads {torch.get_num_threads()}, load average {os.getloadavg()[0]:.1f}")
        print(f"videos: {n_videos} x {n_frames} frames {width}x{height}; encoder {args.arch} (random weights), "
              f"input short side {request.resolution}")

        start = time.perf_counter()
        start_ray(args.ray_address)
        startup_s = time.perf_counter() - start
        local_runs, ray_runs = [], []
        for k in range(args.repeat):
            local_runs.append(timed(inputs=[folder], encoder=request, out=root / f"local{k}")[0])
            seconds, rows = timed(inputs=[folder], encoder=request, out=root / f"ray{k}", engine="ray",
                                  clip_frames=args.clip_frames)
            ray_runs.append(seconds)
            assert {r["status"] for r in rows} == {"done"}
        rerun_s, again = timed(inputs=[folder], encoder=request, out=root / "ray0", engine="ray")
        assert {r["status"] for r in again} == {"skipped"}
        local_s, ray_s = min(local_runs), min(ray_runs)

        identical = all(
            torch.equal(load_features(root / "local0" / f"{r['name']}.safetensors").tokens,
                        load_features(root / "ray0" / f"{r['name']}.safetensors").tokens)
            for r in rows
        )
        print(f"{'engine':<12}{'wall s':>9}{'videos/s':>10}{'frames/s':>10}")
        for name, seconds in (("local", local_s), ("ray", ray_s), ("ray rerun", rerun_s)):
            print(f"{name:<12}{seconds:>9.2f}{n_videos / seconds:>10.2f}{total / seconds:>10.1f}")
        print(f"runs (s): local {', '.join(f'{t:.1f}' for t in local_runs)}; ray {', '.join(f'{t:.1f}' for t in ray_runs)}")
        print(f"ray / local wall time: {ray_s / local_s:.2f}; Ray start-up {startup_s:.1f} s (not counted above); "
              f"Ray overhead per video {(ray_s - local_s) / n_videos:+.2f} s")
        print(f"files identical bit for bit: {'yes' if identical else 'NO'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
