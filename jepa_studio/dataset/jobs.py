"""A video to extract in a dataset run, and how its failure is reported."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..errors import JepaStudioError
from .inputs import VideoItem


@dataclass(frozen=True)
class Job:
    """One video to extract: the item, its source's (size, mtime_ns) when the run began, its output file."""

    item: VideoItem
    stat: tuple[int, int]
    output: Path


def error_text(error: BaseException) -> str:
    """One line for the manifest: a user-caused error's own message, else its type and message."""
    text = str(error) if isinstance(error, JepaStudioError) else f"{type(error).__name__}: {error}"
    return " ".join(text.split())[:500] or type(error).__name__
