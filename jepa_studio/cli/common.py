"""Pieces every subcommand shares: frame ranges, encoder lists, progress bars."""

from __future__ import annotations

import argparse
import re
import sys
from contextlib import contextmanager
from typing import Callable, Iterator, Sequence

from ..errors import UsageError


def parse_frame_range(text: str | None, n_frames: int, default: str = "0:32:4") -> range:
    """``START:STOP:STEP`` (Python slice rules: parts optional, negatives count from the end).

    >>> parse_frame_range("2:10:4", 100)
    range(2, 10, 4)
    >>> parse_frame_range("::50", 120)
    range(0, 120, 50)
    """
    text = default if text is None else text
    parts = text.split(":")
    if len(parts) > 3:
        raise UsageError(f"bad frame range {text!r}: expected START:STOP:STEP, e.g. 0:64:8")
    try:
        values = [int(p) if p.strip() else None for p in parts] + [None] * (3 - len(parts))
    except ValueError:
        raise UsageError(f"bad frame range {text!r}: START, STOP and STEP must be whole numbers") from None
    if len(parts) == 1 and values[0] is not None:
        one = values[0] + n_frames if values[0] < 0 else values[0]
        values = [one, one + 1, None]
    if values[2] is not None and values[2] <= 0:
        raise UsageError(f"bad frame range {text!r}: STEP must be positive")
    frames = range(*slice(*values).indices(n_frames))
    if len(frames) == 0:
        raise UsageError(f"frame range {text!r} selects no frame of a {n_frames}-frame video")
    return frames


#: options whose value may start with "-": a frame range counted from the end (``-16:``)
DASH_VALUE_OPTIONS: tuple[str, ...] = ("--frames",)
_FRAME_RANGE_FROM_END = re.compile(r"-\d*(:-?\d*){0,2}")


def attach_dash_values(args: Sequence[str], options: Sequence[str] = DASH_VALUE_OPTIONS) -> list[str]:
    """Join ``--frames -16:`` into ``--frames=-16:`` so that argparse takes the value.

    argparse reads a word that starts with ``-`` as an option unless it is a plain negative
    number, so a frame range counted from the end (``-16:``, ``-20:-4``, ``-8::2``) would be
    refused as a missing value. Only the words right after one of ``options`` that look like
    a frame range are joined; everything else is left as it is.

    >>> attach_dash_values(["export", "v.mp4", "--frames", "-16:", "--out", "x.png"])
    ['export', 'v.mp4', '--frames=-16:', '--out', 'x.png']
    """
    out: list[str] = []
    words = list(args)
    i = 0
    while i < len(words):
        word = words[i]
        if word in options and i + 1 < len(words) and _FRAME_RANGE_FROM_END.fullmatch(words[i + 1]):
            out.append(f"{word}={words[i + 1]}")
            i += 2
            continue
        out.append(word)
        i += 1
    return out


def parse_encoder_list(text: str) -> list[str]:
    """``"pixels, vjepa2-vitl"`` -> ``["pixels", "vjepa2-vitl"]`` (no empties, no repeats)."""
    names: list[str] = []
    for name in (part.strip() for part in text.split(",")):
        if name and name not in names:
            names.append(name)
    if not names:
        raise UsageError("--encoders needs at least one encoder name, e.g. pixels,pixels-tubelet")
    return names


def add_device_argument(parser: argparse.ArgumentParser) -> None:
    """``--device cuda|mps|cpu`` (default: the best available)."""
    parser.add_argument("--device", default=None, help="cuda, cuda:1, mps or cpu (default: best available)")


@contextmanager
def progress_bar(description: str, unit: str = "frame") -> Iterator[Callable[[int, int], None]]:
    """A tqdm bar on stderr driven by ``callback(done, total)``; silent when stderr is not a terminal
    unless the job is long enough to matter (tqdm's own rate limiting keeps logs short)."""
    from tqdm import tqdm

    bar = tqdm(desc=description, unit=unit, file=sys.stderr, leave=False, dynamic_ncols=True, mininterval=0.5)

    def update(done: int, total: int) -> None:
        if bar.total != total:
            bar.total = total
        bar.n = done
        bar.refresh()

    try:
        yield update
    finally:
        bar.close()
