"""PatchFeatures on disk: one safetensors file, metadata as JSON in its header.

Layout of a features file (a valid safetensors file, readable by ``safetensors.safe_open``):

- ``tokens``: [T', h, w, D] (float32, float16 or bfloat16)
- ``frame_indices``: int64 [T', tubelet_size], the source frames of each time step, -1
  where a step covers fewer frames (the end of an odd-length clip)
- ``cls``: [T', D], only for encoders with a CLS token
- header metadata ``jepa_studio``: a flat JSON object with encoder, checkpoint, pretrained,
  patch_size, tubelet_size, input_size, crop_box, format version, plus caller extras (video,
  frames, preprocessing ...); ``format`` = ``jepa-studio-features``.

Reading checks what it reads (:func:`read_header`): the metadata is a flat object with the
expected keys and types, tokens are float32 / float16 / bfloat16, the shapes agree with
each other and with the metadata, and the values are finite (:func:`check_finite`, also
for callers holding features from elsewhere). A damaged or hostile file is one clear
:class:`~jepa_studio.errors.UsageError` naming it.

:class:`FeatureWriter` streams: the header is written first (the number of time steps is
known in advance), then each chunk of time steps is written in place, so memory does not
grow with the video's length. :func:`save_features` writes one PatchFeatures at once.
"""

from __future__ import annotations

import json
import os
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import torch

from ..errors import UsageError
from .base import PatchFeatures

FORMAT = "jepa-studio-features"
VERSION = 1
PARTIAL_SUFFIX = ".part"

_ST_DTYPES = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16", torch.int64: "I64"}
_SIZES = {torch.float32: 4, torch.float16: 2, torch.bfloat16: 2, torch.int64: 8}


def partial_path(path: str | os.PathLike[str]) -> Path:
    """Where :class:`FeatureWriter` writes ``path`` until it is complete: ``path`` + ``.part``."""
    path = Path(path)
    return path.with_name(path.name + PARTIAL_SUFFIX)


def remove_stale_partial(path: str | os.PathLike[str]) -> bool:
    """Delete the temporary file a killed writer of ``path`` left (sparse, as large as the
    whole output); True if there was one. Call only when no other process writes ``path``."""
    try:
        partial_path(path).unlink()
    except FileNotFoundError:
        return False
    return True


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
    The file is written under a temporary name (:func:`partial_path`) and renamed when
    complete, so a failed run never leaves a truncated file behind; a killed process can
    leave the temporary file, which :func:`remove_stale_partial` deletes.
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
        self._tmp = partial_path(self.path)
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
        if self.written == self.steps:
            self._file.flush()
            os.fsync(self._file.fileno())  # the data is on disk before the name says "complete"
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


#: metadata keys every features file has, with a check and what the check asks for
_REQUIRED: dict[str, tuple[Any, str]] = {
    "encoder": (lambda v: isinstance(v, str), "a string"),
    "checkpoint": (lambda v: isinstance(v, str), "a string"),
    "pretrained": (lambda v: isinstance(v, bool), "true or false"),
    "patch_size": (lambda v: _is_int(v) and v > 0, "a positive whole number"),
    "tubelet_size": (lambda v: _is_int(v) and v > 0, "a positive whole number"),
    "input_size": (lambda v: _int_list(v, 2) and min(v) > 0, "[height, width] in pixels"),
    "crop_box": (lambda v: _int_list(v, 4), "[x0, y0, x1, y1]"),
}
#: optional keys with a known meaning
_OPTIONAL: dict[str, tuple[Any, str]] = {
    "frames": (lambda v: _int_list(v, 3), "[start, stop, step]"),
    "version": (lambda v: _is_int(v), "a whole number"),
}
_MAX_LIST = 64


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _int_list(value: Any, n: int) -> bool:
    return isinstance(value, list) and len(value) == n and all(_is_int(v) for v in value)


def _is_scalar(value: Any) -> bool:
    return value is None or isinstance(value, (str, int, float, bool))


def check_metadata(meta: Any, path: str | os.PathLike[str]) -> dict[str, Any]:
    """``meta`` if it is the flat JSON object a features file carries, else a UsageError naming ``path``.

    Flat: every value is a string, number, boolean, null or a short list of those; the keys
    of :data:`_REQUIRED` are present with the right types (positive patch and tubelet sizes).
    """
    name = Path(path).name
    if not isinstance(meta, dict):
        raise UsageError(f"{name}: its JEPA Studio metadata is a JSON {type(meta).__name__}, not an object")
    for key, value in meta.items():
        flat = _is_scalar(value) or (isinstance(value, list) and len(value) <= _MAX_LIST and all(map(_is_scalar, value)))
        if not flat:
            raise UsageError(f"{name}: metadata field {key!r} is nested or too long (only flat values are allowed)")
    missing = [key for key in _REQUIRED if key not in meta]
    if missing:
        raise UsageError(f"{name}: incomplete JEPA Studio features file (metadata lacks {', '.join(missing)})")
    for table in (_REQUIRED, _OPTIONAL):
        for key, (ok, wanted) in table.items():
            if key in meta and not ok(meta[key]):
                raise UsageError(f"{name}: metadata field {key!r} must be {wanted}, not {meta[key]!r:.60}")
    return meta


def read_metadata(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The JSON metadata of a features file, checked (:func:`check_metadata`), without reading its tensors."""
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
    except (OSError, SafetensorError) as error:
        raise UsageError(f"{path} is not a readable safetensors file ({error})") from None
    if meta.get("format") != FORMAT or "jepa_studio" not in meta:
        raise UsageError(f"{path} is a safetensors file but not a JEPA Studio features file")
    try:
        parsed = json.loads(meta["jepa_studio"])
    except json.JSONDecodeError as error:
        raise UsageError(f"{path}: its JEPA Studio metadata is damaged ({error})") from None
    except RecursionError:
        raise UsageError(f"{path}: its JEPA Studio metadata is nested too deeply to be a features file") from None
    return check_metadata(parsed, path)


_FLOAT_CODES = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16}


@dataclass(frozen=True)
class FeaturesHeader:
    """What a features file holds, read and checked from its header alone (no tensor data).

    Attributes
    ----------
    metadata: the checked JSON metadata.
    steps: T'; grid: (h, w); dim: D; dtype: storage dtype of tokens (and cls).
    has_cls: whether a ``cls`` [T', D] tensor is stored.
    """

    path: Path
    metadata: dict[str, Any]
    steps: int
    grid: tuple[int, int]
    dim: int
    dtype: torch.dtype
    has_cls: bool


def read_header(path: str | os.PathLike[str]) -> FeaturesHeader:
    """Read and check a features file's header: metadata, tensor dtypes and shapes agree.

    Raises
    ------
    UsageError
        Not a features file, damaged metadata, a dtype other than float32 / float16 /
        bfloat16, or shapes that contradict each other or the metadata; the message names
        the file.
    """
    from safetensors import SafetensorError, safe_open

    meta = read_metadata(path)
    name = Path(path).name
    try:
        with safe_open(str(path), framework="pt") as f:
            keys = set(f.keys())
            if not {"tokens", "frame_indices"} <= keys:
                raise UsageError(f"{name}: incomplete JEPA Studio features file (no tokens or frame_indices)")
            specs = {key: (f.get_slice(key).get_dtype(), list(f.get_slice(key).get_shape())) for key in keys}
    except SafetensorError as error:
        raise UsageError(f"{path} is not a readable safetensors file ({error})") from None
    code, shape = specs["tokens"]
    if code not in _FLOAT_CODES:
        raise UsageError(f"{name}: tokens are stored as {code}; features files hold float32, float16 or bfloat16")
    if len(shape) != 4 or min(shape) < 1:
        raise UsageError(f"{name}: tokens have shape {shape}, not [T', h, w, D]")
    t, h, w, d = shape
    p = meta["patch_size"]
    if (h, w) != (meta["input_size"][0] // p, meta["input_size"][1] // p):
        raise UsageError(f"{name}: a {h}x{w} token grid does not match input_size {meta['input_size']} with patch_size {p}")
    expected = {"frame_indices": ("I64", [t, meta["tubelet_size"]]), "cls": (code, [t, d])}
    for key, want in expected.items():
        if key in specs and specs[key] != want:
            raise UsageError(f"{name}: {key} is {specs[key][0]} {specs[key][1]}, expected {want[0]} {want[1]}")
    return FeaturesHeader(Path(path), meta, t, (h, w), d, _FLOAT_CODES[code], "cls" in specs)


def check_finite(feats: PatchFeatures, where: str = "") -> None:
    """Raise a UsageError naming the encoder when ``feats`` hold NaN or infinite values.

    Call before anything that cannot digest them (PCA, decoders, distances). ``where``
    says what the features are (a file, a frame range) and is put into the message.
    """
    nan = inf = 0
    for tensor in [feats.tokens] + ([feats.cls] if feats.cls is not None else []):
        for part in tensor.split(16):  # a few time steps at a time: no full-size mask
            if not bool(torch.isfinite(part).all()):
                nan += int(torch.isnan(part).sum())
                inf += int(torch.isinf(part).sum())
    if nan == inf == 0:
        return
    half = " (they ran in 16-bit precision: try float32)" if feats.tokens.dtype in (torch.float16, torch.bfloat16) else ""
    raise UsageError(
        f"{feats.label} produced non-finite features{' ' + where if where else ''}: "
        f"{nan} NaN and {inf} infinite values{half}"
    )


def load_features(path: str | os.PathLike[str], device: torch.device | str = "cpu") -> PatchFeatures:
    """Read a features file written by :class:`FeatureWriter` / :func:`save_features`.

    The header is checked first (:func:`read_header`), then the frame indices, then the
    values (NaN or infinite tokens are an error naming the encoder, :func:`check_finite`).
    """
    from safetensors import SafetensorError, safe_open

    head = read_header(path)
    meta = head.metadata
    try:
        with safe_open(str(path), framework="pt", device=str(device)) as f:
            tokens = f.get_tensor("tokens")
            cls = f.get_tensor("cls") if head.has_cls else None
            idx = f.get_tensor("frame_indices").tolist()
    except SafetensorError as error:
        raise UsageError(f"{path}: unreadable tensors ({error})") from None
    groups = tuple(tuple(int(i) for i in row if i >= 0) for row in idx)
    if any(not g or min(row) < -1 for g, row in zip(groups, idx)):
        raise UsageError(f"{Path(path).name}: frame_indices hold invalid frame numbers")
    feats = PatchFeatures(
        tokens=tokens,
        frame_indices=groups,
        encoder=meta["encoder"],
        checkpoint=meta["checkpoint"],
        pretrained=meta["pretrained"],
        patch_size=meta["patch_size"],
        tubelet_size=meta["tubelet_size"],
        input_size=tuple(meta["input_size"]),  # type: ignore[arg-type]
        crop_box=tuple(meta["crop_box"]),  # type: ignore[arg-type]
        cls=cls,
    )
    check_finite(feats, f"(in {Path(path).name})")
    return feats
