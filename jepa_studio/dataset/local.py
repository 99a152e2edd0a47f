"""The local engine: videos one after another in this process, nothing extra to install.

Each video is decoded in a reader thread while the model encodes the previous window
(:func:`~jepa_studio.dataset.stream.extract_video_features`), straight into its features file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Sequence

from ..encoders.features_io import FeaturesHeader, read_header
from .jobs import Job, error_text
from .manifest import base_row, file_row
from .progress import DatasetProgress
from .settings import ExtractSettings
from .stream import check_window, extract_video_features

Report = Callable[[Job, dict[str, Any]], None]


def extract_one(job: Job, settings: ExtractSettings, encoder: Any,
                progress: Callable[[int, int], None] | None = None) -> tuple[FeaturesHeader, float]:
    """Extract one video into ``job.output``; (its header, seconds).

    Raises whatever the video or the encoder raises (the partial file is removed).
    """
    from ..video.ranges import parse_frame_range
    from ..video import open_video

    with open_video(job.item.source) as video:
        frames = parse_frame_range(settings.frames, len(video), default="::1")
        win = check_window(encoder, settings.encoder.window)
        meta = settings.file_metadata(encoder, win, job.item.source, job.stat, video.fps)
        result = extract_video_features(video, encoder, frames, job.output, window=win,
                                        store_dtype=settings.torch_store_dtype, progress=progress, metadata=meta)
    return read_header(job.output), result.seconds


class _FrameCounter:
    """``callback(done, total)`` of one video -> the frames it adds to the run's progress."""

    def __init__(self, progress: DatasetProgress) -> None:
        self.progress, self.seen = progress, 0

    def __call__(self, done: int, total: int) -> None:
        self.progress.frames(done - self.seen)
        self.seen = done


def run_local(jobs: Sequence[Job], settings: ExtractSettings, out_dir: Path, report: Report,
              progress: DatasetProgress, encoder: Any | None = None) -> None:
    """Extract ``jobs`` one by one; ``report(job, manifest_row)`` after each, failed or done.

    The encoder is loaded once (or ``encoder`` is used); a video that fails is reported
    and the next one goes on. KeyboardInterrupt stops the run (the video being written
    leaves no file).
    """
    encoder = encoder if encoder is not None else settings.encoder.load()
    check_window(encoder, settings.encoder.window)
    for job in jobs:
        try:
            head, seconds = extract_one(job, settings, encoder, _FrameCounter(progress))
        except Exception as error:  # noqa: BLE001 - recorded in the manifest; the others go on
            row = base_row(job.item, settings, job.stat, "failed", error_text(error))
        else:
            row = file_row(job.item, settings, head, out_dir, "done", seconds)
        report(job, row)
