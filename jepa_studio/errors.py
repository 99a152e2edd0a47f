"""Errors a user can cause. Each carries a message meant to be read by that user.

The CLI prints ``str(error)`` on one line and exits non-zero; the GUI shows it in a
message bar. Anything that is *not* a :class:`JepaStudioError` is a bug in JEPA Studio.
"""

from __future__ import annotations


class JepaStudioError(Exception):
    """Base class for every error caused by input, files, weights or resources."""


class VideoError(JepaStudioError):
    """A video (or folder of images) cannot be opened, read or written."""


class EncoderError(JepaStudioError):
    """An encoder cannot be named, loaded or run (unknown name, missing or gated weights)."""


class OutOfMemoryError(JepaStudioError):
    """The device ran out of memory; the message suggests what to change."""


class UsageError(JepaStudioError):
    """A bad argument: a frame range, a file suffix, an option value."""


class Cancelled(JepaStudioError):
    """The user cancelled a long job; nothing was written."""
