"""Ctrl+E: the view as it is on screen, written by the same rendering for every pane.

An image export holds every pane's current image (:meth:`Pane.snapshot`), in the window's
columns. A video export steps through the frames of the clip window and draws each pane as
it would show that frame (:meth:`Pane.clip_source`: encoder panes from the engine's rendered
clips, masked panes from their masked view); panes that can only show the playhead's frame
(world-model panes) are left out and the status bar says so.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from ... import maps
from ...errors import Cancelled, UsageError
from ...export import IMAGE_SUFFIXES, VIDEO_SUFFIXES
from ...render.view import compose_view
from ...video.timing import video_timing
from ..shell.host import WindowHost


class ViewExporter:
    """Writes the current view of ``host`` to files, on the engine's worker."""

    CELL_WIDTH = 320

    def __init__(self, host: WindowHost) -> None:
        self.host = host

    def title(self) -> str:
        s = self.host.session
        video = s.video
        name = video.path.name if video is not None else ""
        return f"{name} · frame {s.playhead} · {maps.get(s.view.map_kind).label}"

    def export(self, out: Path) -> int:
        """Write the view to ``out`` (.png/.jpg image, .mp4/.gif/.webm video of the clip);
        returns the engine task's id."""
        suffix = out.suffix.lower()
        if suffix not in IMAGE_SUFFIXES + VIDEO_SUFFIXES:
            raise UsageError(f"cannot export to {out.name!r}: use .png or .jpg for an image, .mp4, .gif or .webm for a video")
        if not out.parent.is_dir():
            raise UsageError(f"the folder {out.parent} does not exist")
        video = self.host.session.video
        if video is None:
            raise UsageError("open a video before exporting")
        panes = list(self.host.grid.panes)  # type: ignore[attr-defined]
        columns = max(1, int(self.host.grid.columns))  # type: ignore[attr-defined]
        size, title = video.size, self.title()
        engine = self.host.engine
        if suffix in IMAGE_SUFFIXES:
            cells = [pane.snapshot() for pane in panes]

            def write_image(progress: Callable[[int, int], None], cancel: Callable[[], bool]) -> object:
                from ...video import save_image

                return save_image(out, compose_view(cells, size, columns, self.CELL_WIDTH, title))

            return engine.run_task(f"exporting {out.name}", write_image)
        sources = [(pane, pane.clip_source()) for pane in panes]
        left_out = [pane for pane, source in sources if source is None]
        cell_sources = [source for _, source in sources if source is not None]
        frames = list(self.host.session.clip_frames())
        fps, times = video_timing(video, frames)
        if left_out:
            names = ", ".join(p.key for p in left_out)
            self.host.show_status(f"the video export leaves out the panes that show only the playhead: {names}", 8000)

        def write_video_frames(progress: Callable[[int, int], None], cancel: Callable[[], bool]) -> object:
            from ...video import write_video

            def images() -> Iterator[np.ndarray]:
                for i, frame in enumerate(frames):
                    if cancel():
                        raise Cancelled("export cancelled")
                    image = engine.clip_pixels([frame])[0]
                    cells = [source(frame, image) for source in cell_sources]
                    yield compose_view(cells, size, min(columns, len(cells)), self.CELL_WIDTH, f"{video.path.name} · frame {frame} · {video.time_of(frame):.2f} s")
                    progress(i + 1, len(frames))

            return write_video(out, images(), fps, timestamps=times)

        return engine.run_task(f"exporting {out.name}", write_video_frames)
