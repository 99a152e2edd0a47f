"""``extract_dataset``: features of many videos into one folder, resumable, locally or on Ray."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any, Literal, Sequence

from ..errors import JepaStudioError, UsageError
from .inputs import find_videos
from .jobs import Job, error_text
from .manifest import base_row, file_row, write_manifest
from .output_dir import OutputDir
from .progress import DatasetProgress
from .settings import EncoderRequest, ExtractSettings, completed, source_stat

ENGINES = ("local", "ray")
#: seconds between rewrites of the manifest while a run goes on
MANIFEST_EVERY = 10.0


def extract_dataset(
    inputs: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    encoder: str | EncoderRequest,
    out: str | os.PathLike[str],
    engine: Literal["local", "ray"] = "local",
    *,
    frames: str | None = None,
    store_dtype: str = "float32",
    device: str | None = None,
    dtype: str | None = None,
    preprocessing: Literal["full", "crop"] = "full",
    resolution: int | None = None,
    window: int | None = None,
    random_weights: bool = False,
    ray_address: str | None = None,
    actors: int | None = None,
    clip_frames: int | None = None,
    progress: bool = False,
) -> list[dict[str, Any]]:
    """Extract the features of every video in ``inputs`` into the folder ``out``.

    Each video gets ``out/<name>.safetensors`` (the format of ``jepa-studio extract VIDEO``;
    ``name`` is its path relative to its input, see :mod:`.inputs`) and ``out/manifest.csv``
    one row per video. A rerun skips the videos whose file is complete and was made with
    the same settings from the same source (size and modification time), and redoes the
    rest; files are written atomically, and a killed run's partial files are removed.

    Parameters
    ----------
    inputs: video files, folders (searched recursively for videos and image folders), and
        ``.txt`` files listing such paths.
    encoder: a name, hub id or folder, as for :func:`~jepa_studio.load_encoder` (with the
        options ``device`` ... ``random_weights``), or an :class:`EncoderRequest`.
    engine: ``"local"`` (this process) or ``"ray"`` (a Ray cluster: ``ray_address`` or
        ``$RAY_ADDRESS``, else a local Ray; ``actors`` encoder actors, default one per GPU;
        long videos in ranges of ``clip_frames`` frames).
    frames: ``START:STOP:STEP`` of every video (default: all frames).
    store_dtype: ``float32``, ``float16`` (half the size) or ``bfloat16``.
    progress: draw progress bars on stderr.

    Returns
    -------
    list of dict
        The manifest rows (see :data:`~jepa_studio.dataset.manifest.COLUMNS`), in input order.

    Raises
    ------
    UsageError, VideoError, EncoderError
        Bad inputs or options, or an encoder that cannot be loaded; a video that fails
        does not raise, its row says ``failed`` and why.
    """
    if engine not in ENGINES:
        raise UsageError(f"engine must be one of {', '.join(ENGINES)}, not {engine!r}")
    request = encoder if isinstance(encoder, EncoderRequest) else EncoderRequest(
        str(encoder), device, dtype, preprocessing, resolution, window, random_weights)
    settings = ExtractSettings(request, frames, store_dtype)
    paths = [inputs] if isinstance(inputs, (str, os.PathLike)) else list(inputs)
    items = find_videos(paths, out)
    with OutputDir(out) as folder:
        rows: dict[str, dict[str, Any]] = {}
        todo: list[Job] = []
        for item in items:
            output = item.output(folder.path)
            try:
                stat = source_stat(item.source)
            except JepaStudioError as error:
                rows[item.name] = base_row(item, settings, None, "failed", error_text(error))
                continue
            head = completed(output, settings, stat)
            if head is not None:
                rows[item.name] = file_row(item, settings, head, folder.path, "skipped")
            else:
                rows[item.name] = base_row(item, settings, stat, "pending")
                todo.append(Job(item, stat, output))
        settled = {k: v for k, v in summary(list(rows.values())).items() if k != "pending"}
        last_write = [time.monotonic()]

        with DatasetProgress(len(items), settled, enabled=progress, engine=engine) as bars:

            def report(job: Job, row: dict[str, Any]) -> None:
                rows[job.item.name] = row
                bars.video(row["status"])
                if time.monotonic() - last_write[0] > MANIFEST_EVERY:
                    write_manifest(rows.values(), folder.manifest)
                    last_write[0] = time.monotonic()

            try:
                if todo and engine == "local":
                    from .local import run_local

                    run_local(todo, settings, folder.path, report, bars)
                elif todo:
                    from .ray_engine import run_ray

                    run_ray(todo, settings, folder.path, report, bars, address=ray_address, actors=actors,
                            clip_frames=clip_frames)
            finally:
                write_manifest(rows.values(), folder.manifest)
    return list(rows.values())


def summary(rows: Sequence[dict[str, Any]]) -> dict[str, int]:
    """How many rows are done, skipped, failed and pending."""
    counts = dict.fromkeys(("done", "skipped", "failed", "pending"), 0)
    for row in rows:
        counts[row["status"]] = counts.get(row["status"], 0) + 1
    return counts


def manifest_path(out: str | os.PathLike[str]) -> Path:
    """Where :func:`extract_dataset` writes the manifest of ``out``."""
    from .manifest import MANIFEST_NAME

    return Path(out).expanduser().resolve() / MANIFEST_NAME
