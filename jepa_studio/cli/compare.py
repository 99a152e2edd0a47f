"""``jepa-studio compare (VIDEO | --pendulum) --encoders a,b --out DIR``: world models per encoder.

Encodes the same frames with each encoder (causally by default: no latent sees a later
frame), trains the same latent decoder and transition model on each encoder's latents, rolls
out on the frames held out in time, and writes DIR/report.json, DIR/table.md,
DIR/plots/*.png, DIR/rollouts.png and DIR/checkpoints/<encoder>/ (the report after every
encoder); prints a time estimate first and the table at the end. Ctrl+C stops training at
the next step, saves the checkpoint and writes the report of the encoders finished so far
(press it twice to quit at once).
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path
from typing import Any, Callable, Iterator

from contextlib import contextmanager

from .common import add_device_argument, parse_encoder_list
from ..video.ranges import parse_frame_range

#: the exit status after Ctrl+C (128 + SIGINT)
INTERRUPTED = 130


def register(subparsers: argparse._SubParsersAction) -> None:
    from ..world.latents import LATENT_MODES
    from ..world.settings import DEFAULTS, PENDULUM, VIDEO_FRAMES

    d = DEFAULTS
    parser = subparsers.add_parser(
        "compare",
        help="train the same world model on each encoder's features and compare rollouts",
        description="Train the same latent decoder and transition model on each encoder's latents of "
        "the same frames, roll out on frames held out in time, and report latent cosine, normalised "
        "MSE, PSNR and SSIM per horizon beside 'nothing moves', 'constant velocity' and the decoder's "
        "ceiling, with probes of the simulator's state where it is known.",
    )
    parser.add_argument("video", nargs="?", default=None, help="video file or folder of images (or use --pendulum)")
    parser.add_argument("--pendulum", action="store_true", help="use simulated pendulum episodes with actions")
    parser.add_argument("--encoders", default="pixels,pixels-tubelet", help="comma-separated encoder names (default pixels,pixels-tubelet)")
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--latents", default=d.latents, choices=LATENT_MODES,
                        help=f"how latents are encoded: causal (no latent sees a later frame), per-frame "
                        f"(each frame repeated to fill a tubelet), window (bidirectional: sees future frames; "
                        f"a reference) (default {d.latents})")
    parser.add_argument("--frames", default=None, help=f"video frames START:STOP:STEP (default {VIDEO_FRAMES})")
    parser.add_argument("--episodes", type=int, default=PENDULUM.episodes, help=f"pendulum episodes (default {PENDULUM.episodes})")
    parser.add_argument("--episode-frames", type=int, default=PENDULUM.frames,
                        help=f"frames per pendulum episode (default {PENDULUM.frames})")
    parser.add_argument("--steps", type=int, default=None,
                        help=f"training steps of the transition model (default {d.transition_steps}, "
                        "more on a GPU)")
    parser.add_argument("--decoder-steps", type=int, default=None,
                        help=f"training steps of the decoder (default {d.decoder_steps}, more on a GPU)")
    parser.add_argument("--horizon", type=int, default=d.horizon, help=f"rollout steps K (default {d.horizon})")
    parser.add_argument("--history", type=int, default=d.history, help=f"context steps H (default {d.history})")
    parser.add_argument("--frameskip", type=int, default=d.frameskip,
                        help=f"source frames per step, even for tubelet encoders (default {d.frameskip})")
    parser.add_argument("--resolution", type=int, default=d.short_side,
                        help=f"short side in pixels the encoders see (default {d.short_side})")
    parser.add_argument("--held-out", type=float, default=d.val_fraction,
                        help=f"fraction of each clip held out at its end (default {d.val_fraction})")
    parser.add_argument("--batch-size", type=int, default=d.batch_size, help=f"training batch size (default {d.batch_size})")
    parser.add_argument("--seed", type=int, default=d.seed, help=f"random seed (default {d.seed})")
    parser.add_argument("--no-probes", action="store_true", help="skip the temporal probes")
    parser.add_argument("--resume", action="store_true", help="continue from checkpoints in OUT/checkpoints")
    parser.add_argument("--threads", type=int, default=None,
                        help="CPU threads for torch (default: the cores the load average leaves free, at least 1)")
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


@contextmanager
def cancel_on_interrupt(cancel: threading.Event) -> Iterator[None]:
    """While inside, the first Ctrl+C sets ``cancel`` (training stops at its next step and
    saves its checkpoint); a second one interrupts at once. Only on the main thread."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: Any) -> None:
        if cancel.is_set():
            raise KeyboardInterrupt
        cancel.set()
        print("\njepa-studio: stopping after this step and saving the checkpoint (Ctrl+C again to quit now)",
              file=sys.stderr, flush=True)

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def free_cores() -> int:
    """CPU threads for torch: the cores the 1-minute load average leaves free (at least 1).

    On a shared CPU, torch's threads wait for each other while other processes hold the
    cores: a training step with 2 threads on 2 busy cores ran 10x slower than with 1.
    """
    import os

    cores = os.cpu_count() or 1
    try:
        load = os.getloadavg()[0]
    except (OSError, AttributeError):
        return cores
    return max(1, min(cores, cores - int(round(load))))


def _sample_targets(path: str, frames: range, size: tuple[int, int], n_video: int) -> Any:
    """Probe targets when ``path`` is the bundled sample video (its generator knows where
    every object is), else None."""
    from ..resources import SAMPLE_NAME, bundled_resources_dir, user_cache_dir
    from ..video.synthetic import SAMPLE_FPS, SAMPLE_FRAMES, SAMPLE_SEED, SAMPLE_SIZE, SampleScene
    from ..world.probes import scene_targets

    here = Path(path).resolve()
    known = {(d / SAMPLE_NAME).resolve() for d in (bundled_resources_dir(), user_cache_dir())}
    if here not in known or tuple(size) != SAMPLE_SIZE or n_video != SAMPLE_FRAMES:
        return None
    return scene_targets(SampleScene(SAMPLE_SIZE, SAMPLE_FPS, SAMPLE_SEED).ground_truth(frames.stop))


def run(args: argparse.Namespace) -> int:
    import dataclasses

    import torch

    from ..encoders.device import pick_device
    from ..errors import UsageError
    from ..world.compare import Clip, check_frame_budget, compare_encoders
    from ..world.report import format_table, write_report
    from ..world.settings import DEFAULTS, VIDEO_FRAMES

    if (args.video is None) == (not args.pendulum):
        raise UsageError("give either a VIDEO or --pendulum (exactly one)")
    names = parse_encoder_list(args.encoders)
    for flag, value in (("--episodes", args.episodes), ("--episode-frames", args.episode_frames)):
        if value < 1:
            raise UsageError(f"{flag} must be positive, got {value}")
    for flag, value in (("--steps", args.steps), ("--decoder-steps", args.decoder_steps)):
        if value is not None and value < 0:
            raise UsageError(f"{flag} must not be negative, got {value}")
    if args.threads is not None and args.threads < 1:
        raise UsageError(f"--threads must be positive, got {args.threads}")
    device = str(pick_device(args.device))
    if device == "cpu":
        torch.set_num_threads(args.threads or free_cores())
    settings = dataclasses.replace(
        DEFAULTS,
        latents=args.latents,
        history=args.history,
        horizon=args.horizon,
        frameskip=args.frameskip,
        batch_size=args.batch_size,
        val_fraction=args.held_out,
        short_side=args.resolution,
        seed=args.seed,
        probes=not args.no_probes,
    ).for_device(device)
    steps = {}
    if args.steps is not None:
        steps["transition_steps"] = args.steps
    if args.decoder_steps is not None:
        steps["decoder_steps"] = args.decoder_steps
    settings = dataclasses.replace(settings, **steps)
    targets = None
    if args.pendulum:
        from ..video.pendulum import pendulum_dataset

        data: Any = pendulum_dataset(args.episodes, args.episode_frames, seed=args.seed, size=max(32, args.resolution))
        source = f"pendulum ({args.episodes} episodes of {args.episode_frames} frames, seed {args.seed})"
    else:
        from ..video import open_video

        with open_video(args.video) as video:
            frames = parse_frame_range(args.frames, len(video), default=VIDEO_FRAMES)
            width, height = video.size
            check_frame_budget(len(frames), height, width)
            clip = video.clip(frames.start, len(frames), frames.step)
            fps = float(video.fps) / frames.step if video.fps else None
            if settings.probes:
                targets = _sample_targets(args.video, frames, video.size, len(video))
        data = Clip(clip, fps=fps, indices=tuple(frames))
        source = f"{Path(args.video).name} frames {frames.start}:{frames.stop}:{frames.step}"
    out = Path(args.out)
    update, close = _stage_bars()

    def notify(message: str) -> None:
        close()
        threads = "" if device != "cpu" else f" with {torch.get_num_threads()} CPU thread(s)"
        print(f"jepa-studio: {message}{threads}", file=sys.stderr, flush=True)

    def written(partial: Any) -> None:
        write_report(partial, out)

    cancel = threading.Event()
    try:
        with cancel_on_interrupt(cancel):
            result = compare_encoders(
                data, names, settings, progress=update, cancel=cancel, checkpoint_dir=out / "checkpoints",
                source=source, resume=args.resume, probe_targets=targets, on_result=written, notify=notify,
            )
    finally:
        close()
    paths = write_report(result, out)
    print(format_table(result, markdown=False), end="")
    print(f"wrote {', '.join(str(p) for p in paths.values())}")
    if result.cancelled:
        print(f"jepa-studio: cancelled; checkpoints are in {out / 'checkpoints'} (continue with --resume)", file=sys.stderr)
        return INTERRUPTED
    return 0
