"""Exports of the window's view as engine tasks (GPU lane, the engine's loaded encoders)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable, Sequence

from ..errors import VideoError
from ..state.view import Reading, ViewSettings
from .models import read_at


def export_task(
    engine: Any,
    out: str | os.PathLike,
    encoders: Sequence[str],
    frames: Sequence[int],
    view: ViewSettings,
    device: str = "auto",
    resolution: int | None = None,
    reading: Reading = Reading(),
) -> int:
    """Run :func:`jepa_studio.export.export_comparison` over source ``frames`` (a labelled
    PNG, or a side-by-side video) as a task of ``engine``, every encoder read at ``reading``;
    returns the task id (see :meth:`~.studio.StudioEngine.run_task`)."""
    from ..export import PcaView, export_comparison

    basis = view.basis if view.basis in ("clip", "frame") else "clip"
    pca_view = PcaView(basis=basis, channels=view.channels, foreground_threshold=view.foreground_threshold)
    src = engine.source()
    if src is None:
        raise VideoError("open a video before exporting")
    video = src.video

    def fn(progress: Callable[[int, int], None], cancel: Callable[[], bool]) -> object:
        encs = [engine.encoder(name, device, resolution) for name in encoders]
        for enc in encs:
            read_at(enc, reading)
        return export_comparison(video, encs, list(frames), Path(out), pca_view, progress=progress, cancel=cancel)

    return engine.run_task(f"exporting {Path(out).name}", fn)
