"""Frame ranges as users write them: ``START:STOP:STEP`` with Python's slice rules."""

from __future__ import annotations

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
