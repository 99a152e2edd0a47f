"""Pieces every subcommand shares: frame ranges, encoder lists, progress bars."""

from __future__ import annotations

import argparse
import re
import sys
from contextlib import contextmanager
from typing import Callable, Iterator, Sequence

from ..errors import UsageError


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


def parse_layers(text: str) -> list[str | int]:
    """``--layers 4,8,12,last`` -> ``[4, 8, 12, "last"]`` (negatives count from the last block)."""
    out: list[str | int] = []
    for part in text.split(","):
        part = part.strip().lower()
        if part == "last":
            out.append("last")
            continue
        try:
            out.append(int(part))
        except ValueError:
            raise UsageError(f"--layers takes whole numbers or 'last', e.g. 4,8,12,last, not {text!r}") from None
    return out
