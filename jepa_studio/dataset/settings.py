"""What a dataset run asks for, and whether a features file already holds it.

:class:`EncoderRequest` names the encoder and how to load it; :class:`ExtractSettings`
adds what is extracted (frames, storage dtype). Both are small frozen dataclasses, so a
Ray worker receives them and loads the model itself. :meth:`ExtractSettings.key` is what
a rerun compares: a features file counts as done when it is complete and its metadata
carries the same key and the same size and modification time of its source
(:func:`completed`).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch

from ..encoders.features_io import FeaturesHeader, read_header
from ..errors import UsageError, VideoError

STORE_DTYPES: dict[str, torch.dtype] = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}


@dataclass(frozen=True)
class EncoderRequest:
    """An encoder to load, by name, with the options of :func:`~jepa_studio.encoders.load_encoder`.

    ``device`` and ``dtype`` are the compute device and precision (None: the best the worker
    has). Subclass and override :meth:`load` to extract with an encoder of your own.
    """

    name: str
    device: str | None = None
    dtype: str | None = None
    preprocessing: str = "full"
    resolution: int | None = None
    window: int | None = None
    random_weights: bool = False

    def __post_init__(self) -> None:
        """Check what can be checked without loading anything (Ray workers load much later)."""
        from ..encoders.device import parse_dtype

        parse_dtype(self.dtype)
        if self.preprocessing not in ("full", "crop"):
            raise UsageError(f"preprocessing must be 'full' or 'crop', not {self.preprocessing!r}")
        if self.resolution is not None and self.resolution < 16:
            raise UsageError(f"--resolution must be at least 16 pixels, not {self.resolution}")
        if self.window is not None and self.window < 1:
            raise UsageError(f"--window must be a positive number of frames, not {self.window}")

    def key_fields(self) -> dict[str, Any]:
        """The fields that decide the features (all but ``device``); a subclass adds its own."""
        return {k: v for k, v in asdict(self).items() if k != "device"}

    def load(self, device: str | None = None) -> Any:
        """The encoder, on ``device`` if given (a Ray worker passes the GPU it was given), else :attr:`device`."""
        from ..encoders.registry import load_encoder

        return load_encoder(
            self.name,
            device=device or self.device,
            dtype=self.dtype,
            preprocessing=self.preprocessing,  # type: ignore[arg-type]
            random_weights=self.random_weights,
            resolution=self.resolution,
            window=self.window,
        )


@dataclass(frozen=True)
class ExtractSettings:
    """Everything that decides a video's features file, besides the video.

    Attributes
    ----------
    encoder: the :class:`EncoderRequest`.
    frames: ``START:STOP:STEP`` applied to every video (None: every frame).
    store_dtype: ``float32``, ``float16`` or ``bfloat16``: how tokens are stored.
    layer: which layer's tokens (the encoders give their last layer's).
    """

    encoder: EncoderRequest
    frames: str | None = None
    store_dtype: str = "float32"
    layer: str = field(default="last")

    def __post_init__(self) -> None:
        if self.store_dtype not in STORE_DTYPES:
            raise UsageError(f"storage dtype must be one of {', '.join(STORE_DTYPES)}, not {self.store_dtype!r}")

    @property
    def torch_store_dtype(self) -> torch.dtype:
        return STORE_DTYPES[self.store_dtype]

    def key(self) -> str:
        """A canonical string of the settings that change results (the device is not one of them)."""
        return json.dumps({"encoder": self.encoder.key_fields(), "frames": self.frames, "store_dtype": self.store_dtype,
                           "layer": self.layer}, sort_keys=True, separators=(",", ":"))

    def file_metadata(self, encoder: Any, window: int, source: Path, stat: tuple[int, int], fps: float) -> dict[str, Any]:
        """The flat fields a run adds to each features file (see :func:`completed`)."""
        return {
            "video": str(source),
            "fps": float(fps),
            "source_size": stat[0],
            "source_mtime_ns": stat[1],
            "layer": self.layer,
            "window": int(window),
            "dtype": str(getattr(encoder, "dtype", torch.float32)).removeprefix("torch."),
            "extract_settings": self.key(),
        }


def source_stat(path: Path) -> tuple[int, int]:
    """(size in bytes, modification time in ns) of a video file, or of the images of an image folder.

    Raises
    ------
    VideoError
        The path cannot be read.
    """
    from ..video.image_folder import list_images

    try:
        if path.is_dir():
            stats = [p.stat() for p in list_images(path)]
            return sum(s.st_size for s in stats), max((s.st_mtime_ns for s in stats), default=0)
        st = path.stat()
    except FileNotFoundError:
        raise VideoError(f"No such file or folder: '{path}'.") from None
    except OSError as error:
        raise VideoError(f"cannot read '{path}': {error.strerror or error}") from None
    return st.st_size, st.st_mtime_ns


def completed(path: Path, settings: ExtractSettings, stat: tuple[int, int],
              frames: list[int] | None = None) -> FeaturesHeader | None:
    """The header of ``path`` if it is a complete features file made with ``settings`` from a
    source with this ``stat`` (and, when given, these ``frames`` [start, stop, step]); else None."""
    if not path.is_file():
        return None
    try:
        head = read_header(path)
    except UsageError:
        return None
    meta = head.metadata
    same = (meta.get("extract_settings") == settings.key() and meta.get("source_size") == stat[0]
            and meta.get("source_mtime_ns") == stat[1])
    if frames is not None:
        same = same and meta.get("frames") == list(frames)
    return head if same else None
