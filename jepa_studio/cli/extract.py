"""``jepa-studio extract``: features of one video, or of a whole dataset, to safetensors files.

- ``extract VIDEO --encoder NAME --out features.safetensors``: one video, one file.
- ``extract INPUT... --encoder NAME --out DIR [--engine local|ray]``: every video the
  inputs name (files, folders searched recursively, ``.txt`` lists) gets a features file in
  DIR, plus ``DIR/manifest.csv``; a rerun skips what is done (see :mod:`jepa_studio.dataset`).

Both stream: decoding overlaps the model and memory stays flat however long the video
(:func:`~jepa_studio.dataset.stream.extract_video_features`, re-exported here).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from ..dataset.stream import ExtractResult, extract_video_features
from ..errors import UsageError

if TYPE_CHECKING:
    from ..dataset.settings import ExtractSettings

__all__ = ["ExtractResult", "extract_video_features", "list_encoders_text", "register", "run"]


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "extract",
        help="encode videos (one, or a whole dataset) and write their features to .safetensors files",
        description="Encode videos with one encoder, streaming in windows (decoding overlapped with the "
        "model), and write tokens [T', h, w, D], the source frames of each time step, the CLS tokens where "
        "there are some, and JSON metadata to safetensors files. One VIDEO with --out FILE.safetensors writes "
        "that file; otherwise every video of the inputs gets a file in the folder --out DIR, named after its "
        "path relative to its input, with DIR/manifest.csv, and a rerun skips the videos already done.",
    )
    parser.add_argument("inputs", nargs="*", metavar="INPUT",
                        help="video file (mp4, mov, mkv, webm, avi), folder of images, folder of videos "
                        "(searched recursively), or .txt file listing such paths, one a line")
    parser.add_argument("--encoder", help="registry name (see --list-encoders), hub id, or folder saved with save_pretrained")
    parser.add_argument("--out", help="output .safetensors file (one video) or folder (many videos)")
    parser.add_argument("--frames", default=None, help="START:STOP:STEP of each video (default: every frame)")
    parser.add_argument("--device", default=None, help="cuda, cuda:1, mps or cpu (default: best available)")
    parser.add_argument("--dtype", default=None, help="compute precision: float32, float16, bfloat16 (default: bf16/fp16 on a GPU, fp32 on the CPU)")
    parser.add_argument("--store-dtype", default=None, choices=("float32", "float16", "bfloat16"),
                        help="storage precision of the tokens (default float32; float16 halves the files)")
    parser.add_argument("--half", action="store_true", help="store tokens as float16 (same as --store-dtype float16)")
    parser.add_argument("--resolution", type=int, default=None, metavar="SHORT_SIDE", help="input short side in pixels (crop size with --crop; default: the checkpoint's)")
    parser.add_argument("--crop", action="store_true", help="the checkpoint's own resize + centre crop instead of the full frame")
    parser.add_argument("--window", type=int, default=None, help="frames per forward pass (V-JEPA 2: even, default 16; DINO: batch size)")
    parser.add_argument("--random-weights", action="store_true", help="build the architecture with random weights (no download; labelled so)")
    parser.add_argument("--engine", default="local", choices=("local", "ray"),
                        help="local: this process (default); ray: a Ray cluster (pip install 'jepa-studio[ray]')")
    parser.add_argument("--ray-address", default=None, metavar="ADDRESS",
                        help="Ray cluster to join (default: $RAY_ADDRESS, else a local Ray on this machine's CPUs and GPUs)")
    parser.add_argument("--actors", type=int, default=None, help="Ray encoder actors (default: one per GPU, else one)")
    parser.add_argument("--clip-frames", type=int, default=None, metavar="N",
                        help="Ray: long videos are split into ranges of N frames, a multiple of --window (default 4 windows)")
    parser.add_argument("--list-encoders", action="store_true", help="list known encoders with their size and memory needs, then exit")
    parser.set_defaults(run=run)


def list_encoders_text() -> str:
    """A table of the pixel baselines and every known checkpoint."""
    from ..encoders.registry import CHECKPOINTS, PIXEL_ENCODERS

    lines = [f"{'name':<22}{'params':>9}{'GPU fp16':>10}{'fp32':>8}  hub id"]
    lines += [f"{name:<22}{'-':>9}{'-':>10}{'-':>8}  (no weights: raw pixels)" for name in PIXEL_ENCODERS]
    for info in CHECKPOINTS.values():
        gated = "  [gated: needs `hf auth login`]" if info.gated else ""
        lines.append(
            f"{info.name:<22}{info.params_m:>8.0f}M{info.memory_gb_fp16:>8.1f}GB{info.memory_gb_fp32:>6.1f}GB  {info.hub_id}{gated}"
        )
    return "\n".join(lines)


def _settings(args: argparse.Namespace) -> ExtractSettings:
    from ..dataset.settings import EncoderRequest, ExtractSettings

    if args.half and args.store_dtype not in (None, "float16"):
        raise UsageError(f"--half stores float16; it contradicts --store-dtype {args.store_dtype}")
    request = EncoderRequest(args.encoder, args.device, args.dtype, "crop" if args.crop else "full", args.resolution,
                             args.window, args.random_weights)
    return ExtractSettings(request, args.frames, "float16" if args.half else (args.store_dtype or "float32"))


def _is_single_file(out: str) -> bool:
    """``--out`` names one features file (else a folder); other file suffixes are refused."""
    path = Path(out)
    if path.suffix.lower() == ".safetensors":
        return True
    if path.suffix and not out.endswith(("/", "\\")) and not path.is_dir():
        raise UsageError(f"--out must name a .safetensors file (one video) or a folder (many videos), not {out!r} "
                         "(end a folder name that has a dot with '/')")
    return False


def run(args: argparse.Namespace) -> int:
    if args.list_encoders:
        print(list_encoders_text())
        return 0
    if not args.inputs or not args.encoder or not args.out:
        raise UsageError("extract needs VIDEO (or folders, .txt lists), --encoder NAME and --out FILE.safetensors "
                         "or DIR (see --help)")
    settings = _settings(args)
    if _is_single_file(args.out):
        return _run_one(args, settings)
    return _run_dataset(args, settings)


def _run_one(args: argparse.Namespace, settings: ExtractSettings) -> int:
    from ..dataset.inputs import LIST_SUFFIX, VideoItem
    from ..dataset.jobs import Job
    from ..dataset.local import extract_one
    from ..dataset.settings import source_stat
    from ..encoders.features_io import remove_stale_partial
    from .common import progress_bar

    if len(args.inputs) > 1 or args.inputs[0].lower().endswith(LIST_SUFFIX):
        raise UsageError("--out FILE.safetensors takes one video; for several, pass --out DIR (a folder)")
    if args.engine != "local":
        raise UsageError("--engine ray writes a folder of features files: pass --out DIR")
    source = Path(args.inputs[0]).expanduser().resolve()
    stat = source_stat(source)
    encoder = settings.encoder.load()
    remove_stale_partial(args.out)  # a killed run's temporary file
    job = Job(VideoItem(source, source.name), stat, Path(args.out))
    with progress_bar(f"extract {encoder.name}") as progress:
        head, seconds = extract_one(job, settings, encoder, progress)
    frames = len(range(*head.metadata["frames"]))
    rate = frames / seconds if seconds > 0 else float("inf")
    print(f"{args.out}: {head.steps} time steps from {frames} frames ({rate:.1f} frames/s)", file=sys.stdout)
    return 0


def _run_dataset(args: argparse.Namespace, settings: ExtractSettings) -> int:
    from ..dataset.run import extract_dataset, manifest_path, summary

    rows = extract_dataset(
        args.inputs, settings.encoder, args.out, args.engine, frames=settings.frames,
        store_dtype=settings.store_dtype, ray_address=args.ray_address, actors=args.actors,
        clip_frames=args.clip_frames, progress=True,
    )
    counts = summary(rows)
    for row in rows:
        if row["status"] == "failed":
            print(f"jepa-studio: failed: {row['name']}: {row['error']}", file=sys.stderr)
    print(f"{len(rows)} videos: {counts['done']} succeeded, {counts['skipped']} skipped, {counts['failed']} failed "
          f"(manifest: {manifest_path(args.out)})", file=sys.stdout)
    return 1 if counts["failed"] else 0
