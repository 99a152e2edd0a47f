"""``jepa-studio mask VIDEO (--mask mask.png | --preset centre|tubes|future) --encoders ... --out ...``.

What each encoder recovers of a hidden region: V-JEPA 2 predicts the hidden tokens with its
predictor (true masking, and the leaky variant beside it, labelled); image encoders (DINOv2,
DINOv3, pixels) re-encode the frames with the hidden pixels filled in. Per encoder and
variant: the PCA of the full encoding, the PCA of context + predicted tokens through the
same basis, and the per-token cosine-similarity map with the mean scores.

``.png`` / ``.jpg``: one labelled grid, a column per shown frame (the whole range is one
clip). ``.mp4`` / ``.gif`` / ``.webm``: side-by-side panes per frame, the range cut into
clips of ``--window`` frames, each predicted with the same mask.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..export.masked import MaskSettings, mask_comparison_frames, mask_comparison_image
from .common import add_device_argument, parse_encoder_list, progress_bar
from ..video.ranges import parse_frame_range
from ..video.timing import video_timing

MAX_CLIP = 64


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "mask",
        help="hide part of a clip and show what each encoder recovers (.png, .mp4, .gif)",
        description="Hide a region (a mask image or a preset) and compare what encoders recover: "
        "V-JEPA 2 predicts the hidden tokens (true masking, plus the leaky variant), image encoders "
        "re-encode the frames with the hidden pixels filled in. Shows PCA maps of the full and the "
        "context+predicted encodings, and a cosine-similarity map with the mean scores.",
    )
    parser.add_argument("video", help="video file or a folder of images")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--mask", help="mask image (PNG, white or opaque = hidden), the video's size")
    source.add_argument("--preset", choices=("centre", "tubes", "future"), help="a preset mask")
    parser.add_argument("--encoders", default="vjepa2-vitl", help="comma-separated encoder names, hub ids or folders")
    parser.add_argument("--frames", default=None, help="START:STOP:STEP, one clip (default 0:16:1)")
    parser.add_argument("--out", required=True, help="output: .png/.jpg image or .mp4/.gif/.webm video")
    parser.add_argument("--fill", choices=("mean", "blur", "noise"), default="blur", help="how image encoders fill hidden pixels (default blur)")
    parser.add_argument("--threshold", type=float, default=0.0, help="hide a token when more than this fraction of its pixels is masked (default 0: any)")
    parser.add_argument("--no-leaky", action="store_true", help="leave out V-JEPA 2's leaky variant")
    parser.add_argument("--future-steps", type=int, default=None, metavar="K", help="future preset: hide the last K tubelets (default half the clip)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the tubes preset and of the noise fill")
    parser.add_argument("--window", type=int, default=16, help="frames per clip for video output (default 16)")
    parser.add_argument("--columns", type=int, default=8, help="most frames shown in an image (default 8)")
    add_device_argument(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..errors import UsageError
    from ..export import IMAGE_SUFFIXES, VIDEO_SUFFIXES, resolve_encoders
    from ..video import open_video, save_image, write_video

    out = Path(args.out)
    suffix = out.suffix.lower()
    if suffix not in IMAGE_SUFFIXES + VIDEO_SUFFIXES:
        raise UsageError(f"cannot write {out.name!r}: use .png or .jpg for an image, .mp4, .gif or .webm for a video")
    if not out.parent.exists():
        raise UsageError(f"the folder {str(out.parent)!r} does not exist")
    if not 0.0 <= args.threshold < 1.0:
        raise UsageError(f"--threshold must be in [0, 1), not {args.threshold}")
    encoders = resolve_encoders(parse_encoder_list(args.encoders), device=args.device)
    with open_video(args.video) as video:
        frames = list(parse_frame_range(args.frames, len(video), default="0:16:1"))
        settings = MaskSettings(
            mask_png=args.mask, preset=args.preset, fill=args.fill, threshold=args.threshold,
            leaky=not args.no_leaky, future_steps=args.future_steps, seed=args.seed,
        )
        with progress_bar("mask", unit="clip") as progress:
            if suffix in IMAGE_SUFFIXES:
                if len(frames) > MAX_CLIP:
                    raise UsageError(
                        f"an image shows one clip of at most {MAX_CLIP} frames, not {len(frames)}: "
                        "narrow --frames, or write a video"
                    )
                image = mask_comparison_image(video, encoders, frames, settings, columns=args.columns)
                save_image(out, image)
            else:
                window = max(2, args.window - args.window % 2)
                fps, times = video_timing(video, frames)
                clip = mask_comparison_frames(video, encoders, frames, settings, window, progress)
                write_video(out, clip, fps, timestamps=times)
    print(out, file=sys.stdout)
    return 0

