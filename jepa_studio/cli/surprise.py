"""``jepa-studio surprise VIDEO --encoder vjepa2-vitl --out DIR``: the surprise timeline.

V-JEPA 2 (with its predictor) predicts the next ``k`` steps of every step from the
``context`` steps before it with true masking; other encoders use a baseline predictor
(``--method copy`` or ``velocity``). Writes ``DIR/surprise.csv`` (per step: ``1 - cos``,
L1, and the pixel temporal difference as the control), ``DIR/surprise.png`` (the curves),
``DIR/surprise_maps.safetensors`` (the per-patch surprise of every step) and
``DIR/peaks.png`` (the frames of the highest peaks with their per-patch surprise).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING


from .common import add_device_argument, progress_bar
from ..video.ranges import parse_frame_range

if TYPE_CHECKING:
    pass


def register(subparsers: argparse._SubParsersAction) -> None:
    from ..analysis.surprise import METHODS

    parser = subparsers.add_parser(
        "surprise",
        help="the surprise timeline: how badly each next step is predicted, with the pixel control",
        description="At every time step, hide the next K steps (true masking) and score V-JEPA 2's predictor "
        "against the layer-normed encoding (1 - cosine and L1); or, for any encoder, a copy / constant-velocity "
        "baseline. Writes a CSV, a plot, the per-patch maps and the frames of the highest peaks.",
    )
    parser.add_argument("video", help="video file or a folder of images")
    parser.add_argument("--encoder", default="vjepa2-vitl", help="one encoder name, hub id or folder (default vjepa2-vitl)")
    parser.add_argument("--method", choices=METHODS, default=None,
                        help="predictor (V-JEPA 2, the default for it), copy or velocity (the default for others: copy)")
    parser.add_argument("--k", type=int, default=1, help="steps predicted at once (default 1)")
    parser.add_argument("--context", type=int, default=7, help="predictor: steps of context before them (default 7)")
    parser.add_argument("--stride", type=int, default=1, help="predictor: score every N-th step only (default 1)")
    parser.add_argument("--frames", default=None, help="START:STOP:STEP (default: the whole video)")
    parser.add_argument("--out", required=True, help="output folder (created if needed)")
    add_device_argument(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..analysis.surprise import surprise_curve
    from ..export.surprise import peaks_image, surprise_plot, write_csv, write_maps
    from ..errors import UsageError
    from ..export import resolve_encoders
    from ..video import open_video, save_image

    if "," in args.encoder:
        raise UsageError("--encoder takes one encoder; run the command once per encoder")
    (encoder,) = resolve_encoders([args.encoder.strip()], device=args.device)
    out = Path(args.out)
    with open_video(args.video) as video:
        frames = parse_frame_range(args.frames, len(video), default="::1")
        with progress_bar("surprise", unit="step") as progress:
            curve = surprise_curve(
                encoder, video, frames, method=args.method, k=args.k, context=args.context, stride=args.stride,
                progress=progress,
            )
        out.mkdir(parents=True, exist_ok=True)
        write_csv(out / "surprise.csv", curve)
        save_image(out / "surprise.png", surprise_plot(curve))
        write_maps(out / "surprise_maps.safetensors", curve)
        save_image(out / "peaks.png", peaks_image(video, curve))
    print(curve.title)
    for s in curve.peaks(3):
        f = curve.frame_indices[s][0]
        when = f" ({curve.seconds[s]:.2f}s)" if curve.timed else ""
        print(f"peak at frame {f}{when}: 1 - cos {curve.cosine[s]:.4f}, L1 {curve.l1[s]:.4f}, "
              f"pixel difference {curve.pixel_difference[s]:.4f}")
    print(out, file=sys.stdout)
    return 0
