"""A small video dataset on disk, and an encoder request that fails on purpose.

(A uniquely named module: several test folders have a conftest.py.)
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np
import torch

from jepa_studio.dataset import EncoderRequest
from jepa_studio.video import save_image, write_video

#: name -> frames of the videos :func:`make_dataset` writes (two clip.mp4 in different folders)
VIDEOS = {"a/clip.mp4": 19, "b/clip.mp4": 11, "b/deeper/long.webm": 23}


def frames(n: int, seed: int, h: int = 48, w: int = 64) -> list[np.ndarray]:
    """A smooth moving pattern, so that the codec keeps it recognisable."""
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 256, (h // 8, w // 8 + n, 3)).astype(np.uint8)
    return [np.kron(base[:, t : t + w // 8], np.ones((8, 8, 1), np.uint8)) for t in range(n)]


def make_dataset(root: Path, corrupt: bool = True) -> Path:
    """``root/in``: the :data:`VIDEOS`, an image folder ``seq`` of 5 frames, a hidden file, and
    (with ``corrupt``) ``broken.mp4``, which is not a video."""
    folder = root / "in"
    for seed, (name, n) in enumerate(VIDEOS.items()):
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        write_video(folder / name, frames(n, seed), fps=10)
    (folder / "seq").mkdir()
    for i, frame in enumerate(frames(5, 9)):
        save_image(folder / "seq" / f"{i}.png", frame)
    (folder / ".hidden.mp4").write_bytes(b"not looked at")
    if corrupt:
        (folder / "broken.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 8)
    return folder


def tiny_request(model: Path, **kw: Any) -> EncoderRequest:
    """The tiny random V-JEPA 2 in ``model``, on the CPU, 32 px, 4-frame windows."""
    return EncoderRequest(str(model), device="cpu", resolution=32, window=4, **kw)


@dataclass(frozen=True)
class FaultyRequest(EncoderRequest):
    """Loads the encoder, which then fails on the window holding source frame ``frame`` while
    the file ``marker`` exists: raising RuntimeError or KeyboardInterrupt, or returning NaN.
    (Frame 20 exists only in ``long.webm``.)

    Its settings key is the plain request's, so a rerun without the fault resumes its files.
    """

    frame: int = -1
    marker: str = ""
    fault: str = "error"

    def key_fields(self) -> dict[str, Any]:
        own = {f.name for f in fields(FaultyRequest)} - {f.name for f in fields(EncoderRequest)}
        return {k: v for k, v in super().key_fields().items() if k not in own}

    def load(self, device: str | None = None) -> Any:
        return FaultyEncoder(super().load(device), self)


class FaultyEncoder:
    """Wraps an encoder; see :class:`FaultyRequest`."""

    def __init__(self, inner: Any, request: FaultyRequest) -> None:
        self.inner, self.request = inner, request

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def encode_prepared(self, clip: Any, frame_indices: Any) -> Any:
        feats = self.inner.encode_prepared(clip, frame_indices)
        r = self.request
        if r.frame in list(frame_indices) and Path(r.marker).exists():
            if r.fault == "interrupt":
                raise KeyboardInterrupt
            if r.fault == "nan":
                from dataclasses import replace

                return replace(feats, tokens=torch.full_like(feats.tokens, float("nan")))
            raise RuntimeError(f"injected failure at frame {r.frame}")
        return feats
