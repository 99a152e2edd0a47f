"""The encoders the engine has loaded: one instance per name, read at a chosen layer.

Used on the GPU lane only (the single GPU worker), so loading, dropping and setting the
layer of a shared encoder never race.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

from ..encoders.base import Encoder
from ..state.view import Reading
from .messages import Progress, Status

Deliver = Callable[[object], None]


def resolve_device(device: str) -> str:
    """The device ``device`` resolves to ("auto" -> "cuda" / "mps" / "cpu")."""
    from ..encoders.device import pick_device

    try:
        return str(pick_device(device or "auto"))
    except Exception:  # noqa: BLE001 - an unavailable device: the loader says so
        return str(device or "auto")


def read_at(encoder: Encoder, reading: Reading) -> None:
    """Set a transformers encoder's layer and final norm (pixel baselines have one layer).

    Raises :class:`~jepa_studio.errors.EncoderError` when the encoder has no such layer.
    """
    if hasattr(encoder, "num_layers"):
        encoder.layer = reading.layer  # type: ignore[attr-defined]
        encoder.final_norm = reading.final_norm  # type: ignore[attr-defined]


def read_default(encoder: Encoder) -> None:
    """Read ``encoder``'s own output (the last block, final norm): the panes may have set
    another layer on the shared encoder."""
    read_at(encoder, Reading())


class LoadedEncoders:
    """(name, resolved device, resolution) -> encoder, at most one instance per name.

    loader: ``loader(name, device=..., resolution=...)`` (default
    :func:`jepa_studio.encoders.load_encoder`); deliver: gets :class:`Progress` while a
    model loads and :class:`Status` (device, loaded names) after.
    """

    def __init__(self, deliver: Deliver, loader: Callable[..., Encoder] | None = None) -> None:
        self._deliver = deliver
        self._load = loader
        self._items: dict[tuple[str, str, int | None], Encoder] = {}

    def get(self, name: str, device: str = "auto", resolution: int | None = None, *, load: bool = True) -> Encoder | None:
        """The loaded encoder ``name`` on ``device`` (loads it when ``load``). Loading ``name``
        for another device or resolution first drops the one loaded before (its memory is
        freed, not piled up)."""
        key = (name, resolve_device(device), resolution)
        enc = self._items.get(key)
        if enc is not None or not load:
            return enc
        for other in [k for k in self._items if k[0] == name]:
            del self._items[other]
        self._deliver(Progress(f"loading {name}", 0, 0))
        try:
            loader: Any = self._load
            if loader is None:
                from ..encoders import load_encoder as loader
            kwargs = {} if resolution is None else {"resolution": int(resolution)}
            enc = loader(name, device=None if device in ("", "auto") else device, **kwargs)
            self._items[key] = enc
        finally:
            self._deliver(Progress(f"loading {name}", 1, 1))
        self._deliver(Status(str(enc.device), self.names()))
        return enc

    def names(self) -> tuple[str, ...]:
        """Names of the loaded encoders (once each)."""
        return tuple(dict.fromkeys(k[0] for k in self._items))

    def keep_only(self, keep: Sequence[str]) -> None:
        """Drop the encoders not in ``keep`` and say what is left."""
        keep_set = set(keep)
        for key in [k for k in self._items if k[0] not in keep_set]:
            del self._items[key]
        self._deliver(Status(self.device(), self.names()))

    def device(self) -> str:
        """The device of a loaded encoder ("-" when none is loaded)."""
        for enc in self._items.values():
            return str(enc.device)
        return "-"
