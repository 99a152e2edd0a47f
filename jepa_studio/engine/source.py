"""The open video as one job sees it, and small helpers for what the engine keeps in memory."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..encoders.base import PatchFeatures


@dataclass(frozen=True)
class VideoSource:
    """The open video as one job sees it: taken once, under the engine's lock, at the start
    of the job, so a video opened meanwhile never mixes into its caches.

    video: the :class:`~jepa_studio.video.Video`; key: :attr:`StudioEngine.video_key` (frame
    and render caches); path: its file (feature cache)."""

    video: Any
    key: str
    path: Path | None

    def __len__(self) -> int:
        return len(self.video)


def owned(image: np.ndarray) -> np.ndarray:
    """A read-only C-contiguous array that owns its memory (a row of a decoded clip is a
    view that would keep the whole clip alive in the frame cache)."""
    if image.base is not None or not image.flags.c_contiguous:
        image = np.array(image, order="C", copy=True)
    image.setflags(write=False)
    return image


def torch_device_type(device: Any) -> str:
    """``"cpu"``, ``"cuda"``, ``"mps"``... of a torch device or device string."""
    import torch

    return torch.device(device).type


def on_cpu(feats: PatchFeatures) -> PatchFeatures:
    """``feats`` with its tensors on the CPU (the feature cache never holds device memory)."""
    if feats.tokens.device.type == "cpu" and (feats.cls is None or feats.cls.device.type == "cpu"):
        return feats
    return feats.to("cpu")


def file_key(path: Path) -> str:
    """A key that changes when the file does (path, size, modification time)."""
    try:
        stat = path.stat()
        return f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}"
    except OSError:
        return str(path)
