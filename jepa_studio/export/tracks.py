"""Tracks as pictures: the labelled trails image and the side-by-side trails video that
``jepa-studio track`` writes (one row, or one pane, per encoder; the truth beside them).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import numpy as np

from ..render.grid import LABEL_COLOR, WARN_COLOR, labelled_grid, resize
from ..render.trails import draw_legend, draw_tracks
from ..analysis.clip_stream import iter_selected
from ..analysis.tap_metrics import TapScores, TrackTruth
from ..analysis.tracking import Tracks
from ..video.timing import frame_label

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class TrackRow:
    """One encoder's tracks with what its row says: a label (several lines) and its scores."""

    tracks: Tracks
    label: str
    scores: TapScores | None = None

    @property
    def full_label(self) -> str:
        """The label, plus delta_avg when there is ground truth."""
        if self.scores is None:
            return self.label
        return f"{self.label}\ndelta_avg {100 * self.scores.delta_avg:.1f}%"


def truth_positions(truth: TrackTruth, names: Sequence[str], frames: Sequence[int]) -> np.ndarray:
    """float64 [N, K, 2]: the true (x, y) of the named points at ``frames`` (NaN where not visible)."""
    out = np.full((len(names), len(frames), 2), np.nan)
    index = {name: n for n, name in enumerate(truth.names)}
    for p, name in enumerate(names):
        n = index.get(name)
        if n is None:
            continue
        for k, f in enumerate(frames):
            i = truth.column(f)
            if i is not None and truth.visible[n, i]:
                out[p, k] = truth.xy[n, i]
    return out


def _cell_size(frame_size: tuple[int, int], width: int) -> tuple[int, int]:
    h, w = frame_size
    return max(1, int(round(h * width / w))), width


def _names(rows: Sequence[TrackRow]) -> list[str]:
    names = list(rows[0].tracks.names)
    return [name or f"point {i + 1}" for i, name in enumerate(names)]


def trails_image(
    source: Any,
    frames: Sequence[int],
    rows: Sequence[TrackRow],
    truth: TrackTruth | None = None,
    columns: int = 5,
    cell_width: int = 256,
    title: str = "",
) -> np.ndarray:
    """A labelled grid: columns are frames spread over ``frames``; rows are the truth (or the
    frames with the queries) and then each encoder, its trails up to that column's frame.

    Every encoder row also rings the true position of each visible point (white), so the
    distance to the truth can be seen. Returns uint8 [H, W, 3].
    """
    frames = [int(f) for f in frames]
    chosen = {frames[int(round(i))] for i in np.linspace(0, len(frames) - 1, min(columns, len(frames)))}
    if truth is None:  # show where each point was clicked
        chosen |= {int(f) for f in rows[0].tracks.queries[:, 0]}
    picks = sorted(chosen)
    images = {f: np.asarray(source[f]) for f in picks}
    frame_size = images[picks[0]].shape[:2]
    cell = _cell_size(frame_size, cell_width)
    names = _names(rows)
    first = rows[0].tracks
    truth_path = truth_positions(truth, first.names, frames) if truth is not None else None

    top_cells = []
    for f in picks:
        base = resize(images[f], cell)
        if truth_path is not None:
            upto = [k for k, g in enumerate(frames) if g <= f]
            top_cells.append(draw_tracks(base, frame_size, truth_path[:, upto]))
        else:
            at_query = np.where(first.queries[:, :1] == f, first.queries[:, 1:], np.nan)[:, None]
            top_cells.append(draw_tracks(base, frame_size, at_query))
    top_cells[0] = draw_legend(top_cells[0], names)
    grid_rows = [("ground truth" if truth is not None else "queries", top_cells)]
    captions: list[list[str]] = [["" for _ in picks]]
    colours = [LABEL_COLOR]
    for row in rows:
        cells, caps = [], []
        for f in picks:
            ring = None
            if truth_path is not None:
                ring = truth_path[:, frames.index(f)]
            cells.append(draw_tracks(resize(images[f], cell), frame_size, row.tracks.trail(f), truth=ring))
            t = row.tracks.step_of_frame(f)
            covered = row.tracks.frame_indices[t] if t is not None else ()
            caps.append("tubelet of frames " + " & ".join(map(str, covered)) if len(covered) > 1 else "")
        grid_rows.append((row.full_label, cells))
        captions.append(caps)
        colours.append(LABEL_COLOR if row.tracks.pretrained else WARN_COLOR)
    header = [frame_label(source, f) for f in picks]
    return labelled_grid(grid_rows, header, captions, title=title or None, row_label_colors=colours)


def trails_video_frames(
    source: Any,
    frames: Sequence[int],
    rows: Sequence[TrackRow],
    truth: TrackTruth | None = None,
    cell_width: int = 320,
    tail: int = 24,
    progress: Progress | None = None,
) -> Iterator[np.ndarray]:
    """Side-by-side frames: the source (with the truth, if any) and one pane per encoder with
    its trail over the last ``tail`` steps. Yields uint8 [H, W, 3] per selected frame."""
    frames = [int(f) for f in frames]
    names = _names(rows)
    first = rows[0].tracks
    truth_path = truth_positions(truth, first.names, frames) if truth is not None else None
    for k, (f, image) in enumerate(iter_selected(source, frames)):
        frame_size = image.shape[:2]
        cell = _cell_size(frame_size, cell_width)
        base = resize(image, cell)
        if truth_path is not None:
            left = draw_tracks(base, frame_size, truth_path[:, max(0, k + 1 - tail) : k + 1])
        else:
            left = base
        cells = [draw_legend(left, names)]
        labels = ["ground truth" if truth is not None else "source"]
        ring = truth_path[:, k] if truth_path is not None else None
        for row in rows:
            cells.append(draw_tracks(base, frame_size, row.tracks.trail(f, tail), truth=ring))
            labels.append(row.tracks.label)
        labels[0] += f"  frame {f}"
        yield labelled_grid([("", cells)], labels, gap=4, font_size=13)
        if progress is not None:
            progress(k + 1, len(frames))


def tracks_report(
    video_path: str | Path,
    frame_size: tuple[int, int],
    frames: Sequence[int],
    rows: Sequence[TrackRow],
    truth_file: str | None = None,
) -> dict[str, Any]:
    """What ``tracks.json`` holds: the video, frames, and per encoder its tracks and scores."""
    return {
        "video": str(video_path),
        "width": int(frame_size[1]),
        "height": int(frame_size[0]),
        "frames": [int(f) for f in frames],
        "truth": truth_file,
        "encoders": [
            {**row.tracks.to_json(), "scores": None if row.scores is None else row.scores.to_json()} for row in rows
        ],
    }
