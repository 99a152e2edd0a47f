"""Where encoders run and in what precision, and what happens when memory runs out.

- :func:`pick_device`: CUDA, else Apple MPS, else the CPU; a name overrides.
- :func:`pick_dtype`: bfloat16 on CUDA GPUs that support it, else float16 on a GPU;
  float32 on the CPU (half precision on the CPU is slow and inexact).
- :func:`oom_guard`: turns the device's out-of-memory error into
  :class:`~jepa_studio.errors.OutOfMemoryError` with a suggestion, after freeing the cache,
  so the program keeps working.
"""

from __future__ import annotations

import contextlib
import gc
from typing import Iterator

import torch

from ..errors import EncoderError, OutOfMemoryError

_DTYPES: dict[str, torch.dtype] = {
    "float32": torch.float32,
    "fp32": torch.float32,
    "float": torch.float32,
    "float16": torch.float16,
    "fp16": torch.float16,
    "half": torch.float16,
    "bfloat16": torch.bfloat16,
    "bf16": torch.bfloat16,
}


def _mps_available() -> bool:
    mps = getattr(torch.backends, "mps", None)
    return bool(mps is not None and mps.is_available())


def pick_device(preference: str | torch.device | None = None) -> torch.device:
    """The device to run on.

    Parameters
    ----------
    preference:
        ``None`` or ``"auto"``: CUDA if available, else MPS, else CPU. Otherwise a torch
        device name (``"cpu"``, ``"cuda"``, ``"cuda:1"``, ``"mps"``) that must be available.

    Raises
    ------
    EncoderError
        The named device is not available on this machine.
    """
    if preference is None or str(preference) == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if _mps_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        device = torch.device(preference)
    except (RuntimeError, TypeError) as error:
        raise EncoderError(
            f"unknown device {str(preference)!r}; use auto, cpu, cuda, cuda:N or mps"
        ) from error
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise EncoderError(
                "CUDA was asked for but is not available (no NVIDIA GPU, or a CPU-only torch build); "
                "use --device cpu, or install the CUDA build of torch"
            )
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise EncoderError(
                f"there is no {device}; this machine has {torch.cuda.device_count()} CUDA device(s)"
            )
    elif device.type == "mps" and not _mps_available():
        raise EncoderError("MPS (Apple GPU) was asked for but is not available; use --device cpu")
    return device


def parse_dtype(value: str | torch.dtype | None) -> torch.dtype | None:
    """``"float16"``, ``"bf16"``, ``torch.float32`` ... -> torch dtype (None stays None)."""
    if value is None or isinstance(value, torch.dtype):
        return value
    try:
        return _DTYPES[str(value).lower().removeprefix("torch.")]
    except KeyError:
        raise EncoderError(
            f"unknown precision {value!r}; use float32, float16 or bfloat16"
        ) from None


def pick_dtype(device: torch.device | str, dtype: str | torch.dtype | None = None) -> torch.dtype:
    """The compute dtype for ``device``: ``dtype`` if given, else bf16/fp16 on a GPU, fp32 on the CPU."""
    chosen = parse_dtype(dtype)
    if chosen is not None:
        return chosen
    device = torch.device(device)
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    if device.type == "mps":
        return torch.float16
    return torch.float32


def empty_cache(device: torch.device | str | None = None) -> None:
    """Give cached, unused device memory back (CUDA / MPS); a no-op on the CPU."""
    gc.collect()
    kind = torch.device(device).type if device is not None else None
    if kind in (None, "cuda") and torch.cuda.is_available():
        torch.cuda.empty_cache()
    if kind in (None, "mps") and _mps_available():
        torch.mps.empty_cache()


def _is_oom(error: BaseException) -> bool:
    if isinstance(error, torch.OutOfMemoryError):
        return True
    # MPS (and some older CUDA paths) raise a plain RuntimeError.
    return isinstance(error, RuntimeError) and "out of memory" in str(error).lower()


OOM_ADVICE = (
    "try a shorter clip (fewer frames or a smaller window), a lower resolution, "
    "a smaller model, or half precision"
)


@contextlib.contextmanager
def oom_guard(what: str = "this step", device: torch.device | str | None = None) -> Iterator[None]:
    """Turn the device running out of memory into :class:`OutOfMemoryError`.

    The device cache is emptied first, so the program can carry on with smaller work::

        with oom_guard("encoding frames 0-63 with vjepa2-vitl", device):
            feats = encoder.encode(frames)
    """
    failed = False
    try:
        yield
    except Exception as error:  # noqa: BLE001 - re-raised unless it is an OOM
        if not _is_oom(error):
            raise
        failed = True
    if failed:
        # Outside the except block, so the traceback no longer pins the big tensors.
        empty_cache(device)
        where = f" on {torch.device(device)}" if device is not None else ""
        raise OutOfMemoryError(f"out of memory{where} while {what}; {OOM_ADVICE}")
