"""Long videos in clip ranges: each range's features in a shard file, joined at the end.

The Ray engine encodes the clip ranges of one video on several workers at once. Each
range is a whole number of forward-pass windows, so its tokens are exactly those the
local engine computes for the same frames, and each is written (atomically, like every
features file) to ``OUT/.shards/<video name>/<start>-<stop>-<step>.safetensors``.
:func:`assemble_shards` streams them, in order, into the video's features file, with the
metadata the local engine writes, then deletes them. Shards survive a failed or killed
run, and a rerun reuses those that are complete and current.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath

from ..encoders.features_io import FeatureWriter, load_features, read_header

SHARDS_FOLDER = ".shards"


def clip_ranges(frames: range, clip_frames: int) -> list[range]:
    """``frames`` cut into consecutive ranges of ``clip_frames`` selected frames (the last may be
    shorter); ``[frames]`` itself when it is not longer than one range."""
    if clip_frames < 1:
        raise ValueError(f"clip_frames must be positive, not {clip_frames}")
    if len(frames) <= clip_frames:
        return [frames]
    return [frames[i : i + clip_frames] for i in range(0, len(frames), clip_frames)]


def shard_path(out_dir: Path, name: str, part: range) -> Path:
    """Where the shard of video ``name`` covering ``part`` is written."""
    folder = out_dir.joinpath(SHARDS_FOLDER, *PurePosixPath(name).parts)
    return folder / f"{part.start}-{part.stop}-{part.step}.safetensors"


def assemble_shards(shards: list[str], out: str, frames: list[int]) -> int:
    """Join the shard files ``shards`` (in frame order) into the features file ``out``.

    Parameters
    ----------
    shards: shard paths, in order.
    out: the video's features file (written atomically).
    frames: [start, stop, step] of the whole selection, put in the metadata in place of
        the shards' own ranges.

    Returns
    -------
    int: the number of time steps written. The shards are deleted once ``out`` is complete.
    """
    heads = [read_header(s) for s in shards]
    first = heads[0]
    for head in heads[1:]:
        if (head.grid, head.dim, head.dtype, head.has_cls) != (first.grid, first.dim, first.dtype, first.has_cls):
            raise ValueError(f"shard {head.path.name} does not match {first.path.name}")
    meta = {k: v for k, v in first.metadata.items() if k != "version"}
    meta["frames"] = list(frames)
    steps = sum(h.steps for h in heads)
    with FeatureWriter(out, steps=steps, grid=first.grid, dim=first.dim, tubelet_size=meta["tubelet_size"],
                       has_cls=first.has_cls, dtype=first.dtype, metadata=meta) as writer:
        for shard in shards:
            writer.write(load_features(shard))
    for shard in shards:
        Path(shard).unlink(missing_ok=True)
    first_shard = Path(shards[0])
    root = next((p for p in first_shard.parents if p.name == SHARDS_FOLDER), first_shard.parent)
    remove_empty_folders(first_shard.parent, root)
    return steps


def remove_empty_folders(folder: Path, root: Path) -> None:
    """Remove ``folder`` and its parents up to and including ``root`` while they are empty."""
    while folder == root or root in folder.parents:
        try:
            folder.rmdir()
        except OSError:  # not empty (other videos' shards), or gone
            return
        folder = folder.parent
