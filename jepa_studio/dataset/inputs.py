"""Which videos a dataset run covers, and the name each one's features file gets.

``jepa-studio extract INPUT...`` takes video files, folders (searched recursively for video
files and for folders of images, each of which is one video, as
:func:`~jepa_studio.video.open_video` reads it) and ``.txt`` files listing such paths, one
a line. Every video is named by its path relative to the root of the input it came from:
a folder input is its own root, a file's root is its folder, and the entries of a list
file share the deepest folder that holds them all. The features file of ``a/clip.mp4``
is ``OUT/a/clip.mp4.safetensors``, so two ``clip.mp4`` in different folders, or
``clip.mp4`` beside ``clip.mkv``, never share a file; names that would still collide
(two inputs with the same inner layout) are refused before any work starts.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Iterable, Sequence

from ..errors import UsageError, VideoError
from ..video.image_folder import IMAGE_SUFFIXES, list_images, natural_key

VIDEO_SUFFIXES = frozenset(
    {".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi", ".mpg", ".mpeg", ".wmv", ".flv", ".ts", ".mts", ".m2ts", ".3gp", ".ogv"}
)
LIST_SUFFIX = ".txt"
FEATURES_SUFFIX = ".safetensors"


@dataclass(frozen=True)
class VideoItem:
    """One video of a dataset run.

    Attributes
    ----------
    source: absolute path of the video file or image folder.
    name: its path relative to its input's root, with ``/`` separators (``"a/clip.mp4"``).
    """

    source: Path
    name: str

    def output(self, out_dir: Path) -> Path:
        """Its features file: ``out_dir / (name + ".safetensors")``."""
        return out_dir.joinpath(*PurePosixPath(self.name + FEATURES_SUFFIX).parts)


def _is_image_folder(folder: Path) -> bool:
    try:
        return any(p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith(".") and p.is_file() for p in folder.iterdir())
    except OSError:
        return False


def _walk(folder: Path, skip: Path | None) -> Iterable[Path]:
    """Video files and image folders under ``folder`` (hidden entries and ``skip`` left out)."""
    for here, dirs, files in os.walk(folder):
        base = Path(here)
        dirs[:] = sorted((d for d in dirs if not d.startswith(".") and base / d != skip), key=natural_key)
        if base != folder and _is_image_folder(base):
            yield base
        for f in sorted(files, key=natural_key):
            if not f.startswith(".") and Path(f).suffix.lower() in VIDEO_SUFFIXES:
                yield base / f


def _expand(path: Path, skip: Path | None) -> tuple[Path, list[Path]]:
    """(root, videos) of one existing path that is not a list file."""
    if path.is_dir():
        if list_images(path):
            return path.parent, [path, *_walk(path, skip)]
        return path, list(_walk(path, skip))
    return path.parent, [path]


def _read_list(path: Path) -> list[Path]:
    """The paths a list file names (relative ones from its folder); blank lines and ``#`` comments skipped."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise UsageError(f"cannot read the list of videos {path}: {error}") from None
    entries = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            entries.append(Path(os.path.normpath(path.parent / Path(line).expanduser())))
    if not entries:
        raise UsageError(f"the list of videos {path} names no video")
    return entries


def _relative(path: Path, root: Path) -> str:
    rel = path.relative_to(root)
    return rel.as_posix() if rel.parts else path.name


def find_videos(inputs: Sequence[str | os.PathLike[str]], out_dir: str | os.PathLike[str] | None = None) -> list[VideoItem]:
    """The videos ``inputs`` name, in order, each once, with collision-free names.

    Parameters
    ----------
    inputs: video files, folders, image folders, ``.txt`` lists of those.
    out_dir: the output folder, never searched for videos (it may sit inside an input).

    Raises
    ------
    VideoError
        An input does not exist.
    UsageError
        A folder holds no video, a list file is unreadable or empty, or two videos would
        get the same name.
    """
    skip = Path(out_dir).expanduser().resolve() if out_dir is not None else None
    if not inputs:
        raise UsageError("no input: name video files, folders or .txt lists of videos")
    items: list[VideoItem] = []
    seen: set[Path] = set()
    names: dict[str, Path] = {}
    for raw in inputs:
        path = Path(raw).expanduser().resolve()
        if not path.exists():
            raise VideoError(f"No such file or folder: '{raw}'.")
        if path.is_file() and path.suffix.lower() == LIST_SUFFIX:
            # a listed path that does not exist stays in: it fails alone, in the manifest
            expanded = [_expand(p, skip) if p.exists() else (p.parent, [p]) for p in _read_list(path)]
            root = Path(os.path.commonpath([r for r, _ in expanded]))
            videos = [v for _, vs in expanded for v in vs]
        else:
            root, videos = _expand(path, skip)
        if not videos:
            raise UsageError(f"no videos or image folders found in {raw}")
        for video in videos:
            if video in seen:
                continue
            name = _relative(video, root)
            if name in names:
                raise UsageError(
                    f"{names[name]} and {video} would both be written as {name}{FEATURES_SUFFIX}; "
                    "pass the folder that holds both, or a .txt list of the videos"
                )
            seen.add(video)
            names[name] = video
            items.append(VideoItem(video, name))
    return items
