"""Which devices this machine can run models on (for the window's Device menu)."""

from __future__ import annotations


def available_devices() -> tuple[str, ...]:
    """``("auto", "cpu", ...)`` followed by ``"cuda"`` (and ``"cuda:N"`` for each further GPU)
    and ``"mps"`` where they exist."""
    import torch

    out = ["auto", "cpu"]
    n = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if n:
        out.append("cuda")
        out += [f"cuda:{i}" for i in range(1, n)]
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        out.append("mps")
    return tuple(out)


def describe_device(device: str) -> str:
    """The Device menu's text for a device name."""
    return "auto (CUDA, else MPS, else CPU)" if device == "auto" else device
