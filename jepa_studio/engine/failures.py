"""What went wrong, in the words a user reads: (message, kind) for any failure of background work."""

from __future__ import annotations

from ..errors import EncoderError, JepaStudioError, OutOfMemoryError, VideoError


def _is_torch_oom(error: BaseException) -> bool:
    import torch

    if isinstance(error, getattr(torch, "OutOfMemoryError", ())):
        return True
    return isinstance(error, RuntimeError) and "out of memory" in str(error).lower()


def describe_error(error: BaseException) -> tuple[str, str]:
    """(message, kind) for a failure: the user's message for our errors, a short one else."""
    if isinstance(error, OutOfMemoryError) or _is_torch_oom(error):
        message = str(error) if isinstance(error, OutOfMemoryError) else (
            "out of memory on the device: use a shorter clip, a lower resolution or a smaller model"
        )
        return message, "memory"
    if isinstance(error, VideoError):
        return str(error), "video"
    if isinstance(error, EncoderError):
        return str(error), "encoder"
    if isinstance(error, JepaStudioError):
        return str(error), "usage"
    return f"internal error ({type(error).__name__}: {error}); please report it", "internal"
