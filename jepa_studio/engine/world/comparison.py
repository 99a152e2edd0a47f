"""The comparison in the window: :func:`~jepa_studio.world.compare.compare_encoders` (the
code of ``jepa-studio compare``) on the engine's loaded encoders and the world engine's
latent cache, as one GPU-lane job."""

from __future__ import annotations

import threading
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any, Callable

import numpy as np

from ...errors import VideoError
from ...state.world import WorldSettings
from ...world.latent_cache import LatentCache
from ..lane import CancelToken
from ..messages import Progress
from .data import pendulum_episodes, world_encoder
from .messages import CompareProgress

#: comparison progress is delivered at most this often (plus the end of every stage)
PROGRESS_SECONDS = 0.1


def describe_source(settings: WorldSettings, source: str | None, video_path: Path | None) -> str:
    return source or settings.data.describe(Path(video_path).name if video_path else "video")


def cancelled_comparison(settings: WorldSettings, source: str | None, video_path: Path | None) -> Any:
    """An empty, cancelled ComparisonResult (the comparison was cancelled before it started)."""
    from ...world.compare import ComparisonResult

    cs = settings.on_device(settings.device)
    return ComparisonResult(cs, describe_source(settings, source, video_path), 0, 0, False, [], cancelled=True)


def run_comparison(
    engine: Any, token: CancelToken, rid: int, settings: WorldSettings, cancel: threading.Event,
    deliver: Callable[[object], None], cache: LatentCache | None, checkpoint_dir: str | Path | None,
    source: str | None,
) -> Any:
    """Compare ``settings``' encoders on ``settings.data`` (GPU lane); returns the result.
    Delivers :class:`CompareProgress` and the status bar's :class:`~..messages.Progress`."""
    from ...encoders.device import pick_device
    from ...world.compare import Clip, compare_encoders

    last = [0.0]

    def progress(stage: str, step: int, total: int, loss: float) -> None:
        if token.cancelled:
            cancel.set()
        now = time.perf_counter()
        if now - last[0] >= PROGRESS_SECONDS or step >= total:
            last[0] = now
            deliver(CompareProgress(rid, stage, int(step), int(total), float(loss)))
            deliver(Progress(f"comparison: {stage}", int(step), int(total) + (0 if step < total else 1)))

    d = settings.data
    if d.source == "pendulum":
        data: Any = pendulum_episodes(d)
    else:
        src = engine.source()
        if src is None:
            raise VideoError("open a video first, or compare on the pendulum")
        frames = d.frames(len(src))
        data = Clip(np.asarray(engine.clip_pixels(frames, source=src)), indices=tuple(frames), fps=getattr(src.video, "fps", None))
    desc = describe_source(settings, source, engine.video_path)
    with ExitStack() as stack:  # every encoder at the comparison's short side until it ends
        encoders = [stack.enter_context(world_encoder(engine, name, settings.device, settings.resolution,
                                                      settings.short_side)) for name in settings.encoders]
        device = str(getattr(encoders[0], "device", pick_device(settings.device)))
        return compare_encoders(
            data, encoders, settings.on_device(device), progress, cancel, checkpoint_dir, desc, cache=cache,
        )
