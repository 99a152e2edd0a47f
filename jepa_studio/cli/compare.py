"""``jepa-studio compare (VIDEO | --pendulum) --encoders a,b --out DIR``: world models per encoder.

Trains the same latent decoder and transition model on each encoder's features of the same
frames, rolls out on the frames held out in time, and writes DIR/report.json, DIR/table.md,
DIR/plots/*.png, DIR/rollouts.png and DIR/checkpoints/<encoder>/; prints the table.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any, Callable

from .common import add_device_argument, parse_encoder_list
from ..video.ranges import parse_frame_range


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "compare",
        help="train the same world model on each encoder's features and compare rollouts",
        description="Train the same latent decoder and transition model on each encoder's features of "
        "the same frames, roll out on frames held out in time, and report latent cosine, normalised "
        "MSE, PSNR and SSIM per horizon beside the 'nothing moves' baseline and the decoder's ceiling.",
    )
    parser.add_argument("video", nargs="?", default=None, help="video file or folder of images (or use --pendulum)")
    parser.add_argument("--pendulum", action="store_true", help="use simulated pendulum episodes with actions")
    parser.add_argument("--encoders", default="pixels,pixels-tubelet", help="comma-separated encoder names (default pixels,pixels-tubelet)")
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--frames", default=None, help="video frames START:STOP:STEP (default 0:128:1)")
    parser.add_argument("--episodes", type=int, default=8, help="pendulum episodes (default 8)")
    parser.add_argument("--episode-frames", type=int, default=64, help="frames per pendulum episode (default 64)")
    parser.add_argument("--steps", type=int, default=300, help="training steps of the transition model (default 300)")
    parser.add_argument("--decoder-steps", type=int, default=None, help="training steps of the decoder (default: --steps)")
    parser.add_argument("--horizon", type=int, default=4, help="rollout steps K (default 4)")
    parser.add_argument("--history", type=int, default=3, help="context steps H (default 3)")
    parser.add_argument("--frameskip", type=int, default=2, help="source frames per step, even for tubelet encoders (default 2)")
    parser.add_argument("--resolution", type=int, default=64, help="short side in pixels the encoders see (default 64)")
    parser.add_argument("--held-out", type=float, default=0.25, help="fraction of each clip held out at its end (default 0.25)")
    parser.add_argument("--batch-size", type=int, default=16, help="training batch size (default 16)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--resume", action="store_true", help="continue from checkpoints in OUT/checkpoints")
    parser.add_argument("--threads", type=int, default=None, help="CPU threads for torch (default: torch's choice)")
    add_device_argument(parser)
    parser.set_defaults(run=run)


def _stage_bars() -> tuple[Callable[[str, int, int, float], None], Callable[[], None]]:
    """A tqdm bar on stderr per stage, with the current loss."""
    from tqdm import tqdm

    state: dict[str, Any] = {"stage": None, "bar": None}

    def close() -> None:
        if state["bar"] is not None:
            state["bar"].close()
            state["bar"] = None

    def update(stage: str, step: int, total: int, loss: float) -> None:
        if stage != state["stage"]:
            close()
            state["stage"] = stage
            state["bar"] = tqdm(desc=stage, total=total, file=sys.stderr, leave=False, dynamic_ncols=True, mininterval=0.5)
        bar = state["bar"]
        bar.total = total
        bar.n = step
        if loss == loss:  # not NaN
            bar.set_postfix(loss=f"{loss:.4f}", refresh=False)
        bar.refresh()

    return update, close


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from ..encoders.device import pick_device
    from ..errors import UsageError
    from ..world.compare import Clip, CompareSettings, compare_encoders
    from ..world.report import format_table, write_report

    if (args.video is None) == (not args.pendulum):
        raise UsageError("give either a VIDEO or --pendulum (exactly one)")
    names = parse_encoder_list(args.encoders)
    for flag, value in (("--episodes", args.episodes), ("--episode-frames", args.episode_frames), ("--steps", args.steps + 1)):
        if value < 1:
            raise UsageError(f"{flag} must be positive, got {value}")
    if args.threads is not None:
        if args.threads < 1:
            raise UsageError(f"--threads must be positive, got {args.threads}")
        import torch

        torch.set_num_threads(args.threads)
    device = str(pick_device(args.device))
    settings = CompareSettings(
        history=args.history,
        horizon=args.horizon,
        frameskip=args.frameskip,
        decoder_steps=args.steps if args.decoder_steps is None else args.decoder_steps,
        transition_steps=args.steps,
        batch_size=args.batch_size,
        val_fraction=args.held_out,
        short_side=args.resolution,
        seed=args.seed,
        device=device,
    )
    if args.pendulum:
        from ..video.pendulum import pendulum_dataset

        data: Any = pendulum_dataset(args.episodes, args.episode_frames, seed=args.seed, size=max(32, args.resolution))
        source = f"pendulum ({args.episodes} episodes of {args.episode_frames} frames, seed {args.seed})"
    else:
        from ..video import open_video

        with open_video(args.video) as video:
            frames = parse_frame_range(args.frames, len(video), default="0:128:1")
            clip = video.clip(frames.start, len(frames), frames.step)
        data = Clip(clip)
        source = f"{Path(args.video).name} frames {frames.start}:{frames.stop}:{frames.step}"
    out = Path(args.out)
    update, close = _stage_bars()
    try:
        result = compare_encoders(
            data, names, settings, progress=update, checkpoint_dir=out / "checkpoints", source=source, resume=args.resume
        )
    finally:
        close()
    paths = write_report(result, out)
    print(format_table(result, markdown=False), end="")
    print(f"wrote {', '.join(str(p) for p in paths.values())}")
    return 0
