"""Tracking and the surprise timeline against a plain encoder pass, side by side.

    python benchmarks/bench_tracking.py                     # small random V-JEPA 2 and pixels, CPU
    python benchmarks/bench_tracking.py --arch vjepa2-vitl  # full-size ViT-L, random weights (GPU)

On frames of the bundled sample video (640 x 360), in one run:

- tracking: ``encoder.encode(clip)`` (what a pane costs anyway) against
  :func:`track_points` on those features for ``--points`` query points: seconds per clip
  and the ratio;
- surprise: a plain encoder pass over ``--seconds`` of video against the surprise curve of
  the same frames (V-JEPA 2's predictor with true masking, context 7 steps, k = 1, every
  step; and the pixel tubelet copy baseline against its own pass), extrapolated to a
  minute of video (the curve by its time per scored step: a short clip's first steps,
  which lack context, are not scored) and as a ratio.

Weights are random (no hub needed); timings do not depend on weight values. Rounds
interleave the compared functions, so load drifts hit them alike; medians are printed.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_masking import timed_side_by_side  # noqa: E402  (interleaved rounds, medians)
from jepa_studio import load_encoder, open_video, sample_video_path, track_points  # noqa: E402
from jepa_studio.analysis.surprise import surprise_curve  # noqa: E402

ARCHS = {
    "small": dict(hidden_size=192, num_hidden_layers=6, num_attention_heads=3, pred_hidden_size=96,
                  pred_num_hidden_layers=4, pred_num_attention_heads=3, crop_size=128),
    "vjepa2-vitl": dict(hidden_size=1024, num_hidden_layers=24, num_attention_heads=16, pred_hidden_size=384,
                        pred_num_hidden_layers=12, pred_num_attention_heads=12, crop_size=256),
}


def vjepa2_encoder(arch: str, device: torch.device, folder: Path):
    """A V-JEPA 2 encoder (and predictor) with random weights, saved and loaded the real way."""
    from transformers import VJEPA2Config, VJEPA2Model

    torch.manual_seed(0)
    VJEPA2Model(VJEPA2Config(frames_per_clip=16, **ARCHS[arch])).save_pretrained(folder)
    return load_encoder(str(folder), device=device)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--arch", choices=tuple(ARCHS), default="small")
    parser.add_argument("--clip", type=int, default=64, help="frames per tracked clip (default 64)")
    parser.add_argument("--points", type=int, default=16, help="query points tracked (default 16)")
    parser.add_argument("--seconds", type=float, default=2.0, help="seconds of video for the surprise curve (default 2)")
    parser.add_argument("--device", default=None)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    device = torch.device(args.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    video = open_video(sample_video_path())
    fps = video.fps
    clip = video.clip(0, args.clip)
    rng = np.random.default_rng(0)
    width, height = video.size
    queries = np.column_stack([np.zeros(args.points), rng.uniform(0, width, args.points), rng.uniform(0, height, args.points)])
    n_surprise = int(round(args.seconds * fps)) // 2 * 2
    frames = range(n_surprise)
    surprise_clip = video.clip(0, n_surprise)

    with tempfile.TemporaryDirectory() as tmp:
        vjepa = vjepa2_encoder(args.arch, device, Path(tmp) / "vjepa2")
        pixels = load_encoder("pixels-tubelet", device=device)
        print(f"device {device}, V-JEPA 2 '{args.arch}' (random weights), sample video {width}x{height} at {fps:g} fps")

        print(f"\ntracking {args.points} points through a {args.clip}-frame clip")
        print(f"{'encoder':<16}{'encode (s)':>12}{'track (s)':>12}{'track / encode':>16}")
        for name, enc in (("vjepa2 " + args.arch, vjepa), ("pixels-tubelet", pixels)):
            feats = enc.encode(clip)
            t = timed_side_by_side(
                {"encode": lambda enc=enc: enc.encode(clip), "track": lambda f=feats: track_points(f, queries)},
                device, args.repeats,
            )
            print(f"{name:<16}{t['encode']:>12.3f}{t['track']:>12.3f}{t['track'] / t['encode']:>15.2f}x")

        print(f"\nsurprise curve over {n_surprise} frames ({n_surprise / fps:.1f} s), extrapolated to one minute of video")
        print("(encode: seconds per frame x frames per minute; surprise: seconds per scored step x steps per minute)")
        print(f"{'encoder / method':<28}{'encode (s/min)':>16}{'surprise (s/min)':>18}{'ratio':>9}")
        for name, enc, method in (("vjepa2 " + args.arch + " / predictor", vjepa, "predictor"),
                                  ("pixels-tubelet / copy", pixels, "copy")):
            last: dict = {}

            def run_curve(enc=enc, m=method) -> None:
                last["curve"] = surprise_curve(enc, surprise_clip, frames, method=m)

            t = timed_side_by_side({"encode": lambda enc=enc: enc.encode(surprise_clip), "surprise": run_curve},
                                   device, args.repeats)
            scored = int(np.isfinite(last["curve"].cosine).sum())
            encode_min = t["encode"] / n_surprise * 60.0 * fps
            surprise_min = t["surprise"] / scored * 60.0 * fps / enc.tubelet_size
            print(f"{name:<28}{encode_min:>16.1f}{surprise_min:>18.1f}{surprise_min / encode_min:>8.1f}x")
    video.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
