"""What the engine sends to the GUI (from its worker threads, through ``deliver``).

Every message is an immutable dataclass; images are C-contiguous uint8 arrays that no one
mutates after they are sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np



@dataclass(frozen=True)
class VideoOpened:
    """A video opened; ``request`` is the id :meth:`StudioEngine.open_video` returned;
    ``video_key`` is its key (what requests for it must carry: the GUI keeps this one
    rather than reading :attr:`StudioEngine.video_key`, which changes before this message
    is handled)."""

    request: int
    path: Path
    n_frames: int
    fps: float
    size: tuple[int, int]  # (width, height)
    video_key: str = ""
    #: float64 [n_frames]: each frame's presentation time in seconds from the first frame
    timestamps: np.ndarray | None = None


@dataclass(frozen=True)
class FrameReady:
    """Source frame ``frame`` of video ``video_key``: uint8 [H, W, 3]."""

    video_key: str
    frame: int
    image: np.ndarray


@dataclass(frozen=True)
class PaneImage:
    """One encoder pane's image for the playhead.

    Attributes
    ----------
    generation: the view request it answers (stale ones are dropped by the GUI).
    encoder: the encoder name as requested (the pane's key).
    label: the features' label (checkpoint; "[random weights]" when they are random).
    image: uint8 [h, w, 3] at token resolution, or None when ``note`` says why not.
    crop_box: (x0, y0, x1, y1) of the source frame the image covers.
    covered: source frames the shown time step covers (two for a tubelet).
    time_step: index of that step in the clip; ``n_steps`` steps in all.
    note: a short text for the pane ("needs 2 time steps", an error), or "".
    values: float32 [h, w] behind a scalar map (hover read-outs), or None.
    scale: the colour scale of a scalar map (:class:`~jepa_studio.maps.Scale`), or None.
    caption: a line about the whole map (PCA: the variance its components explain), or "".
    """

    generation: int
    encoder: str
    label: str
    image: np.ndarray | None
    crop_box: tuple[int, int, int, int]
    covered: tuple[int, ...]
    time_step: int
    n_steps: int
    tubelet_size: int
    grid: tuple[int, int]
    note: str = ""
    values: np.ndarray | None = None
    scale: Any = None
    caption: str = ""


@dataclass(frozen=True)
class PaneError:
    """Encoder ``encoder`` failed for request ``generation`` (message meant for the user)."""

    generation: int
    encoder: str
    message: str
    kind: str  # "encoder", "memory", "video", "internal"


@dataclass(frozen=True)
class Progress:
    """Long work in progress: ``done`` of ``total`` (total 0: unknown); ``total == done`` ends it,
    ``cancelled`` when it ended because the user cancelled it."""

    text: str
    done: int
    total: int
    cancelled: bool = False


@dataclass(frozen=True)
class Status:
    """Device and loaded models, for the status bar."""

    device: str
    models: tuple[str, ...]


@dataclass(frozen=True)
class ErrorReport:
    """Something the user did failed (bad file, missing weights, OOM); nothing was lost."""

    message: str
    kind: str  # "video", "encoder", "memory", "export", "internal"
    request: int = 0


#: what a background task does: "export" (an image or video), "save" (checkpoints), "report"
TaskKind = Literal["export", "save", "report"]


@dataclass(frozen=True)
class TaskDone:
    """A background task finished; ``result`` is its return value (the path it wrote)."""

    request: int
    name: str
    result: object
    kind: TaskKind = "export"

    def summary(self) -> str:
        """The status-bar line: what happened, and where."""
        verb = {"export": "exported to", "save": "saved checkpoint to", "report": "wrote report to"}[self.kind]
        return f"{verb} {self.result}"
