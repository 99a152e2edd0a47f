"""``jepa-studio export VIDEO --encoders a,b --frames 0:32:4 --out grid.png|clip.mp4|clip.gif``."""

from __future__ import annotations

import argparse
import sys

from .common import add_device_argument, parse_encoder_list, parse_layers, progress_bar
from ..video.ranges import parse_frame_range


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "export",
        help="write a labelled PCA comparison image (.png) or video (.mp4, .gif)",
        description="Write a labelled comparison of encoders' PCA maps: an image with a row of "
        "source frames and one row per encoder, or a side-by-side video over the range.",
    )
    parser.add_argument("video", help="video file (mp4, mov, mkv, webm, avi) or a folder of images")
    parser.add_argument("--encoders", default="pixels,pixels-tubelet", help="comma-separated encoder names, hub ids or folders")
    parser.add_argument("--frames", default=None, help="START:STOP:STEP (default 0:32:4 for images, the whole video for videos)")
    parser.add_argument("--out", required=True, help="output file: .png/.jpg image or .mp4/.gif/.webm video")
    parser.add_argument("--basis", choices=("clip", "frame"), default="clip", help="one PCA basis for the clip, or one per time step")
    parser.add_argument("--components", default="1,2,3", help="PCA components shown as R,G,B (1-based), default 1,2,3")
    parser.add_argument("--foreground", type=float, default=None, metavar="T", help="hide tokens whose first component is below T (0..1)")
    parser.add_argument("--layers", default=None, metavar="L,L,...",
                        help="a layer sweep (images): one row per layer, e.g. 4,8,12,last (negative: counted from the last block)")
    add_device_argument(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..errors import UsageError
    from ..export import VIDEO_SUFFIXES, PcaView, export_comparison, resolve_encoders
    from ..video import open_video

    try:
        channels = tuple(int(c) - 1 for c in args.components.split(","))
    except ValueError:
        raise UsageError(f"--components must be three numbers like 1,2,3, not {args.components!r}") from None
    if len(channels) != 3:
        raise UsageError(f"--components must name three components, not {args.components!r}")
    view = PcaView(basis=args.basis, channels=channels, foreground_threshold=args.foreground)
    layers = parse_layers(args.layers) if args.layers else None
    encoders = resolve_encoders(parse_encoder_list(args.encoders), device=args.device)
    with open_video(args.video) as video:
        is_video = args.out.lower().endswith(VIDEO_SUFFIXES)
        frames = parse_frame_range(args.frames, len(video), default="::1" if is_video else "0:32:4")
        with progress_bar("export", unit="frame" if is_video else "encoder") as progress:
            out = export_comparison(video, encoders, frames, args.out, view, progress=progress, layers=layers)
    print(out, file=sys.stdout)
    return 0
