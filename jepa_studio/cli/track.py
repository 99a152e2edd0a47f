"""``jepa-studio track VIDEO (--points "x,y@frame;..." | --tracks truth.json) --encoders a,b --out DIR``.

Tracks points through the selected frames with each encoder's features alone (cosine
similarity of centred features, arg-max then a local soft-argmax) and writes:

- ``DIR/tracks.json``: per encoder, every point's position (source pixels) and confidence
  at every time step, and its scores when there is ground truth;
- ``DIR/trails.png``: the trails of every encoder side by side (the truth, if any, on top);
- ``DIR/trails.mp4`` with ``--video``: the same, frame by frame;
- ``DIR/table.md`` (and the same table on stdout) with ``--tracks``: TAP-Vid's fractions
  within 1-16 px at 256 px scale, delta_avg and the median end-point error per encoder.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import numpy as np

from ..errors import UsageError
from .common import add_device_argument, parse_encoder_list, progress_bar
from ..video.ranges import parse_frame_range
from ..video.timing import video_timing


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "track",
        help="track points by feature similarity and score them against ground truth",
        description="Track points through a video with each encoder's patch features alone (centred cosine "
        "similarity, arg-max then a local soft-argmax) and draw the trails side by side; with ground-truth "
        "tracks, score them as TAP-Vid does (fraction within 1-16 px at 256 px, delta_avg).",
    )
    parser.add_argument("video", help="video file or a folder of images")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--points", help='query points "x,y@frame;x,y@frame" in source-frame pixels')
    source.add_argument("--tracks", help="ground-truth tracks (.json or .csv rows: point, frame, x, y, visible)")
    parser.add_argument("--encoders", default="pixels,pixels-tubelet", help="comma-separated encoder names, hub ids or folders")
    parser.add_argument("--frames", default=None, help="START:STOP:STEP, the frames tracked (default: the whole video)")
    parser.add_argument("--out", required=True, help="output folder (created if needed)")
    parser.add_argument("--video", dest="write_video", action="store_true", help="also write trails.mp4")
    parser.add_argument("--temperature", type=float, default=0.05, help="soft-argmax temperature (default 0.05)")
    parser.add_argument("--window", type=int, default=5, help="soft-argmax window in tokens, odd (default 5)")
    parser.add_argument("--no-centre", action="store_true", help="compare raw features (no mean removed)")
    add_device_argument(parser)
    parser.set_defaults(run=run)


def parse_points(text: str, n_frames: int, size: tuple[int, int]) -> np.ndarray:
    """``"x,y@frame;..."`` -> float64 [N, 3] rows (frame, x, y), checked against the video.

    ``size`` is the frame's (width, height).
    """
    rows = []
    for k, part in enumerate(p.strip() for p in text.split(";")):
        if not part:
            continue
        try:
            xy, frame = part.split("@")
            x, y = (float(v) for v in xy.split(","))
            f = int(frame)
        except ValueError:
            raise UsageError(f'bad point {part!r}: write each point as x,y@frame, e.g. "320,180@0;100,50@12"') from None
        if not (math.isfinite(x) and math.isfinite(y)):
            raise UsageError(f"bad point {part!r}: x and y must be finite numbers")
        if not 0 <= f < n_frames:
            raise UsageError(f"point {part!r}: frame {f} is outside the video (frames 0..{n_frames - 1})")
        if not (0 <= x < size[0] and 0 <= y < size[1]):
            raise UsageError(f"point {part!r} lies outside the {size[0]}x{size[1]} frame")
        rows.append((f, x, y))
    if not rows:
        raise UsageError('--points names no point: write "x,y@frame;x,y@frame"')
    return np.array(rows, dtype=np.float64)


def _check_truth_against(truth, size: tuple[int, int], path: str) -> None:
    if truth.frame_size is not None and tuple(truth.frame_size) != tuple(size):
        raise UsageError(
            f"{Path(path).name} describes {truth.frame_size[0]}x{truth.frame_size[1]} frames "
            f"but the video's are {size[0]}x{size[1]}"
        )
    xy, vis = truth.xy, truth.visible
    outside = vis & ~((xy[..., 0] >= 0) & (xy[..., 0] < size[0]) & (xy[..., 1] >= 0) & (xy[..., 1] < size[1]))
    if outside.any():
        n, i = (int(v) for v in np.argwhere(outside)[0])
        raise UsageError(
            f"{Path(path).name}: point {truth.names[n]!r} is visible at frame {int(truth.frames[i])} "
            f"outside the {size[0]}x{size[1]} frame"
        )


def run(args: argparse.Namespace) -> int:
    from ..analysis.clip_stream import encode_selection
    from ..analysis.tap_metrics import read_truth, score_tracks, scores_table
    from ..export.tracks import TrackRow, trails_image, trails_video_frames, tracks_report
    from ..analysis.tracking import track_points
    from ..export import encoder_row_label, resolve_encoders
    from ..video import open_video, save_image, write_video

    if not args.temperature > 0:
        raise UsageError(f"--temperature must be positive, not {args.temperature}")
    if args.window < 1 or args.window % 2 == 0:
        raise UsageError(f"--window must be an odd number of tokens (1, 3, 5 ...), not {args.window}")
    truth = read_truth(args.tracks) if args.tracks else None
    out = Path(args.out)
    encoders = resolve_encoders(parse_encoder_list(args.encoders), device=args.device)
    with open_video(args.video) as video:
        size = video.size
        frames = parse_frame_range(args.frames, len(video), default="::1")
        if truth is not None:
            _check_truth_against(truth, size, args.tracks)
            queries, names = truth.queries(frames)
            if len(queries) == 0:
                raise UsageError(f"no point of {Path(args.tracks).name} is visible in the selected frames")
        else:
            queries = parse_points(args.points, len(video), size)
            missing = sorted({int(f) for f in queries[:, 0]} - set(frames))
            if missing:
                raise UsageError(
                    f"frame {missing[0]} of --points is not among the tracked frames ({args.frames or 'all'}); "
                    "click on a tracked frame or widen --frames"
                )
            names = tuple(f"p{i + 1}" for i in range(len(queries)))
        out.mkdir(parents=True, exist_ok=True)
        rows = []
        for encoder in encoders:
            with progress_bar(f"track {encoder.name}") as progress:
                features = encode_selection(encoder, video, frames, progress=progress)
            tracks = track_points(
                features, queries, temperature=args.temperature, window=args.window,
                centre=not args.no_centre, names=names,
            )
            scores = score_tracks(tracks, truth, size) if truth is not None else None
            rows.append(TrackRow(tracks, encoder_row_label(features), scores))
            del features
        report = tracks_report(video.path, (size[1], size[0]), frames, rows, args.tracks)
        (out / "tracks.json").write_text(json.dumps(report, indent=1))
        step = frames.step
        title = (
            f"{video.path.name}  |  frames {frames[0]}-{frames[-1]} step {step}  |  {len(queries)} points tracked "
            f"by {'centred ' if not args.no_centre else ''}cosine similarity, soft-argmax T={args.temperature:g} "
            f"in {args.window}x{args.window} tokens"
        )
        save_image(out / "trails.png", trails_image(video, frames, rows, truth, title=title))
        if args.write_video:
            fps, times = video_timing(video, frames)
            with progress_bar("trails video") as progress:
                trails = trails_video_frames(video, frames, rows, truth, progress=progress)
                write_video(out / "trails.mp4", trails, fps, timestamps=times)
    if truth is not None:
        (out / "table.md").write_text(scores_table([r.scores for r in rows], markdown=True))
        print(scores_table([r.scores for r in rows], markdown=False), end="")
    print(out, file=sys.stdout)
    return 0
