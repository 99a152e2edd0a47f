"""One-line reasons for files that cannot be read, for :class:`~jepa_studio.errors.VideoError`."""

from __future__ import annotations

from pathlib import Path


def describe_error(error: BaseException) -> str:
    """The readable part of an exception: its ``strerror`` (OSError, FFmpegError), else its text."""
    text = getattr(error, "strerror", None) or str(error).strip()
    return text if text else type(error).__name__


def os_error_reason(error: OSError) -> str:
    """"permission denied" for a permission error; else the error's own reason, lower case
    ("no such file or directory", "is a directory", "input/output error" ...)."""
    reason = "permission denied" if isinstance(error, PermissionError) else describe_error(error)
    return f"{reason[:1].lower()}{reason[1:]}"


def os_error_message(path: Path, error: OSError, verb: str = "open") -> str:
    """Why the system refused ``path``, on one line: ``Cannot open 'x.mp4': permission denied.``"""
    return f"Cannot {verb} '{path.name}': {os_error_reason(error)}."
