"""PatchFeatures on disk: one safetensors file, metadata as JSON in its header.

Layout of a features file (a valid safetensors file, readable by ``safetensors.safe_open``):

- ``tokens``: [T', h, w, D] (float32, float16 or bfloat16)
- ``frame_indices``: int64 [T', tubelet_size], the source frames of each time step, -1
  where a step covers fewer frames (the end of an odd-length clip)
- ``cls``: [T', D], only for encoders with a CLS token
- header metadata ``jepa_studio``: JSON with encoder, checkpoint, pretrained, patch_size,
  tubelet_size, input_size, crop_box, format version, plus caller extras (video, frames,
  preprocessing ...); ``format`` = ``jepa-studio-features``.

:class:`FeatureWriter` streams: the header is written first (the number of time steps is
known in advance), then each chunk of time steps is written in place, so memory does not
grow with the video's length. :func:`save_features` writes one PatchFeatures at once.
"""

from __future__ import annotations

import json
import os
import struct
from pathlib import Path
from typing import Any, BinaryIO

import torch

from ..errors import UsageError
from .base import PatchFeatures

FORMAT = "jepa-studio-features"
VERSION = 1

_ST_DTYPES = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16", torch.int64: "I64"}
_SIZES = {torch.float32: 4, torch.float16: 2, torch.bfloat16: 2, torch.int64: 8}


def _raw_bytes(t: torch.Tensor) -> bytes:
    t = t.detach().to("cpu").contiguous()
    if t.dtype == torch.bfloat16:
        t = t.view(torch.int16)
    return t.numpy().tobytes()


def _indices_tensor(groups: tuple[tuple[int, ...], ...], k: int) -> torch.Tensor:
    out = torch.full((len(groups), k), -1, dtype=torch.int64)
    for i, g in enumerate(groups):
        out[i, : len(g)] = torch.tensor(g, dtype=torch.int64)
    return out


class FeatureWriter:
    """Write the time steps of one PatchFeatures to a safetensors file in chunks.

    Parameters
    ----------
    path: output file (``.safetensors``).
    steps: total time steps T' that will be written.
    grid: (h, w) token grid; dim: D.
    tubelet_size: frames per time step; has_cls: whether a CLS tensor is stored.
    dtype: storage dtype of tokens and cls.
    metadata: JSON-serialisable description (see module docstring); stored in the header.

    Use as a context manager; :meth:`write` takes consecutive chunks of PatchFeatures.
    The file is written under a temporary name and renamed when complete, so a failed
    run never leaves a truncated file behind.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        steps: int,
        grid: tuple[int, int],
        dim: int,
        tubelet_size: int,
        has_cls: bool,
        dtype: torch.dtype = torch.float32,
        metadata: dict[str, Any],
    ) -> None:
        if dtype not in (torch.float32, torch.float16, torch.bfloat16):
            raise ValueError(f"unsupported storage dtype {dtype}")
        self.path = Path(path)
        self.steps, self.grid, self.dim, self.tubelet_size = int(steps), tuple(grid), int(dim), int(tubelet_size)
        self.dtype = dtype
        self.has_cls = has_cls
        self.written = 0
        h, w = self.grid
        specs: list[tuple[str, torch.dtype, list[int]]] = [("tokens", dtype, [self.steps, h, w, self.dim])]
        if has_cls:
            specs.append(("cls", dtype, [self.steps, self.dim]))
        specs.append(("frame_indices", torch.int64, [self.steps, self.tubelet_size]))
        header: dict[str, Any] = {}
        offset = 0
        self._offsets: dict[str, int] = {}
        for name, dt, shape in specs:
            size = _SIZES[dt]
            for s in shape:
                size *= s
            header[name] = {"dtype": _ST_DTYPES[dt], "shape": shape, "data_offsets": [offset, offset + size]}
            self._offsets[name] = offset
            offset += size
        self._total = offset
        header["__metadata__"] = {"format": FORMAT, "jepa_studio": json.dumps({**metadata, "version": VERSION})}
        text = json.dumps(header, separators=(",", ":")).encode("utf-8")
        text += b" " * ((-len(text)) % 8)
        self._data_start = 8 + len(text)
        self._tmp = self.path.with_name(self.path.name + ".part")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file: BinaryIO | None = open(self._tmp, "wb")
            self._file.write(struct.pack("<Q", len(text)))
            self._file.write(text)
            self._file.truncate(self._data_start + self._total)
        except OSError as error:
            raise UsageError(f"cannot write {self.path}: {error.strerror or error}") from None

    def _put(self, name: str, row_bytes: int, start: int, data: bytes) -> None:
        assert self._file is not None
        self._file.seek(self._data_start + self._offsets[name] + start * row_bytes)
        self._file.write(data)

    def write(self, feats: PatchFeatures) -> None:
        """Append the time steps of ``feats`` (same grid, dim and tubelet size)."""
        t, h, w = feats.grid
        if (h, w) != self.grid or feats.dim != self.dim:
            raise ValueError(f"chunk grid {(h, w)}x{feats.dim} differs from the file's {self.grid}x{self.dim}")
        if self.written + t > self.steps:
            raise ValueError(f"more time steps than the {self.steps} announced")
        size = _SIZES[self.dtype]
        self._put("tokens", h * w * self.dim * size, self.written, _raw_bytes(feats.tokens.to(self.dtype)))
        if self.has_cls:
            if feats.cls is None:
                raise ValueError("this file stores CLS tokens but the chunk has none")
            self._put("cls", self.dim * size, self.written, _raw_bytes(feats.cls.to(self.dtype)))
        idx = _indices_tensor(feats.frame_indices, self.tubelet_size)
        self._put("frame_indices", self.tubelet_size * 8, self.written, _raw_bytes(idx))
        self.written += t

    def close(self) -> None:
        """Finish the file (every announced time step must have been written)."""
        if self._file is None:
            return
        self._file.close()
        self._file = None
        if self.written != self.steps:
            self._tmp.unlink(missing_ok=True)
            raise ValueError(f"only {self.written} of {self.steps} time steps were written")
        os.replace(self._tmp, self.path)

    def abort(self) -> None:
        """Stop and delete the partial file."""
        if self._file is not None:
            self._file.close()
            self._file = None
        self._tmp.unlink(missing_ok=True)

    def __enter__(self) -> "FeatureWriter":
        return self

    def __exit__(self, kind: object, value: object, tb: object) -> None:
        if kind is None:
            self.close()
        else:
            self.abort()


def feature_metadata(feats: PatchFeatures, **extra: Any) -> dict[str, Any]:
    """The JSON metadata describing ``feats`` (plus ``extra`` fields such as video and frames)."""
    return {
        "encoder": feats.encoder,
        "checkpoint": feats.checkpoint,
        "pretrained": feats.pretrained,
        "patch_size": feats.patch_size,
        "tubelet_size": feats.tubelet_size,
        "input_size": list(feats.input_size),
        "crop_box": list(feats.crop_box),
        **extra,
    }


def save_features(
    path: str | os.PathLike[str], feats: PatchFeatures, *, dtype: torch.dtype | None = None, **extra: Any
) -> None:
    """Write one PatchFeatures to ``path`` (tokens stored in ``dtype``, default their own)."""
    t, h, w = feats.grid
    with FeatureWriter(
        path,
        steps=t,
        grid=(h, w),
        dim=feats.dim,
        tubelet_size=feats.tubelet_size,
        has_cls=feats.cls is not None,
        dtype=dtype or (feats.tokens.dtype if feats.tokens.dtype in _ST_DTYPES else torch.float32),
        metadata=feature_metadata(feats, **extra),
    ) as writer:
        writer.write(feats)


def read_metadata(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The JSON metadata of a features file, without reading its tensors."""
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
    except (OSError, SafetensorError) as error:
        raise UsageError(f"{path} is not a readable safetensors file ({error})") from None
    if meta.get("format") != FORMAT or "jepa_studio" not in meta:
        raise UsageError(f"{path} is a safetensors file but not a JEPA Studio features file")
    try:
        return json.loads(meta["jepa_studio"])
    except json.JSONDecodeError as error:
        raise UsageError(f"{path}: its JEPA Studio metadata is damaged ({error})") from None


def load_features(path: str | os.PathLike[str], device: torch.device | str = "cpu") -> PatchFeatures:
    """Read a features file written by :class:`FeatureWriter` / :func:`save_features`."""
    from safetensors import SafetensorError, safe_open

    meta = read_metadata(path)
    try:
        with safe_open(str(path), framework="pt", device=str(device)) as f:
            tokens = f.get_tensor("tokens")
            cls = f.get_tensor("cls") if "cls" in f.keys() else None
            idx = f.get_tensor("frame_indices").tolist()
        return PatchFeatures(
            tokens=tokens,
            frame_indices=tuple(tuple(int(i) for i in row if i >= 0) for row in idx),
            encoder=meta["encoder"],
            checkpoint=meta["checkpoint"],
            pretrained=bool(meta["pretrained"]),
            patch_size=int(meta["patch_size"]),
            tubelet_size=int(meta["tubelet_size"]),
            input_size=tuple(meta["input_size"]),  # type: ignore[arg-type]
            crop_box=tuple(meta["crop_box"]),  # type: ignore[arg-type]
            cls=cls,
        )
    except (KeyError, TypeError, ValueError, SafetensorError) as error:
        raise UsageError(f"{path}: incomplete JEPA Studio features file ({type(error).__name__}: {error})") from None
