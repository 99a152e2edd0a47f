"""The manifest of a dataset run: one row per video, written as ``OUT/manifest.csv``.

Columns (:data:`COLUMNS`): the video's ``name`` (its path relative to its input root) and
``source`` path, its ``size`` in bytes and modification time ``mtime`` (UTC), the
``status`` (``done``: extracted now, ``skipped``: an up-to-date file was already there,
``failed``: see ``error``, ``pending``: the run stopped first), the ``output`` file
(relative to OUT), the encoder, checkpoint, pretrained, layer, preprocessing, input_size
(H x W), window, compute dtype and storage dtype, the ``frame_range`` asked for, the
``frames`` encoded and the time ``steps`` written, and the ``seconds`` it took.

The features files, not the manifest, decide what a rerun skips; the manifest is
rewritten whole (atomically) as the run goes and when it ends.
"""

from __future__ import annotations

import csv
import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable

from ..encoders.features_io import FeaturesHeader
from .inputs import VideoItem
from .settings import ExtractSettings

MANIFEST_NAME = "manifest.csv"
COLUMNS = (
    "name", "source", "size", "mtime", "status", "error", "output", "encoder", "checkpoint", "pretrained", "layer",
    "preprocessing", "input_size", "window", "dtype", "store_dtype", "frame_range", "frames", "steps", "seconds",
)
STATUSES = ("done", "skipped", "failed", "pending")


def _mtime(ns: int | None) -> str:
    return "" if ns is None else datetime.fromtimestamp(ns / 1e9, timezone.utc).isoformat(timespec="seconds")


def base_row(item: VideoItem, settings: ExtractSettings, stat: tuple[int, int] | None, status: str,
             error: str = "") -> dict[str, Any]:
    """A row with what is known before a file exists (a failed or pending video)."""
    row: dict[str, Any] = dict.fromkeys(COLUMNS, "")
    row.update(name=item.name, source=str(item.source), status=status, error=error, layer=settings.layer,
               store_dtype=settings.store_dtype, frame_range=settings.frames or "::1")
    if stat is not None:
        row.update(size=stat[0], mtime=_mtime(stat[1]))
    row["encoder"] = settings.encoder.name
    return row


def file_row(item: VideoItem, settings: ExtractSettings, head: FeaturesHeader, out_dir: Path, status: str,
             seconds: float = 0.0) -> dict[str, Any]:
    """The row of a video whose features file ``head`` describes (written now or skipped)."""
    meta = head.metadata
    row = base_row(item, settings, (meta["source_size"], meta["source_mtime_ns"]), status)
    start, stop, step = meta["frames"]
    row.update(
        output=head.path.relative_to(out_dir).as_posix(), encoder=meta["encoder"], checkpoint=meta["checkpoint"],
        pretrained=meta["pretrained"], preprocessing=meta.get("preprocessing", ""),
        input_size="x".join(map(str, meta["input_size"])), window=meta.get("window", ""), dtype=meta.get("dtype", ""),
        store_dtype=str(head.dtype).removeprefix("torch."), frames=len(range(start, stop, step)), steps=head.steps,
        seconds=round(seconds, 3),
    )
    return row


def write_manifest(rows: Iterable[dict[str, Any]], path: Path) -> None:
    """Write ``rows`` as CSV to ``path``, atomically (a temporary file renamed into place)."""
    tmp = path.with_name(path.name + ".part")
    with open(tmp, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS, extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: ("" if v is None else v) for k, v in row.items()})
    os.replace(tmp, path)


def read_manifest(path: str | os.PathLike[str]) -> list[dict[str, str]]:
    """The rows of a manifest file (values as text)."""
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))
