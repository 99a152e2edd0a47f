"""What the window asks the engine to compute: plain, hashable descriptions (no Qt, no models).

The engine answers a :class:`ViewRequest` with one image per encoder pane and a
:class:`MaskRequest` with the masked-prediction panes; the state objects build them from what
the user chose, so the GUI, the CLI and tests ask in the same words.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from ..analysis.masking import PixelMask
from .clip import ClipWindow
from .view import Reading, ViewSettings


@dataclass(frozen=True)
class ViewRequest:
    """What the encoder panes should show.

    Attributes
    ----------
    video_key: the open video (see :attr:`StudioEngine.video_key`).
    playhead: the source frame under the playhead.
    clip: the clip window; the encoders see ``clip.frames_around(playhead, n_frames)``.
    n_frames: frames in the video.
    encoders: encoder names, one pane each.
    view: map kind, PCA settings, similarity query.
    device: ``"auto"`` or a torch device string.
    resolution: input short side in pixels, or None for each encoder's default.
    reading: which layer of each encoder (and whether its final norm applies).
    """

    video_key: str
    playhead: int
    clip: ClipWindow
    n_frames: int
    encoders: tuple[str, ...]
    view: ViewSettings
    device: str = "auto"
    resolution: int | None = None
    reading: Reading = Reading()

    @property
    def frames(self) -> tuple[int, ...]:
        """Source frame indices of the clip around the playhead."""
        return self.clip.frames_around(self.playhead, self.n_frames)


@dataclass(frozen=True)
class MaskRequest:
    """What the masked-prediction panes should show.

    Attributes
    ----------
    video_key: the open video (:attr:`StudioEngine.video_key`).
    frames: source frame indices of the clip (the clip around the playhead).
    encoder: the encoder name (registry name, hub id or folder).
    mask: the pixel mask (source-frame pixels, and the frames it applies to).
    device, resolution: as in :class:`ViewRequest`.
    fill: how encoders without a predictor fill hidden pixels: ``"mean"``, ``"blur"``, ``"noise"``.
    threshold: a token is hidden when more than this fraction of its pixels is masked.
    leaky: also compute V-JEPA 2's leaky variant.
    channels: principal components shown as R, G, B (0-based).
    """

    video_key: str
    frames: tuple[int, ...]
    encoder: str
    mask: PixelMask = field(compare=False)
    device: str = "auto"
    resolution: int | None = None
    fill: str = "blur"
    threshold: float = 0.0
    leaky: bool = True
    channels: tuple[int, int, int] = (0, 1, 2)

    def key(self) -> tuple:
        """Everything that changes the result (the mask by a digest of its pixels and frames)."""
        return (
            self.video_key, self.frames, self.encoder, mask_digest(self.mask), self.device,
            self.resolution, self.fill, float(self.threshold), bool(self.leaky), tuple(self.channels),
        )


def mask_digest(mask: PixelMask) -> str:
    """A short digest of a mask's pixels, size and frames."""
    h = hashlib.sha1()
    h.update(np.asarray(mask.size, dtype=np.int64).tobytes())
    h.update(np.packbits(mask.pixels).tobytes())
    h.update(b"all" if mask.frames is None else ",".join(str(f) for f in sorted(mask.frames)).encode())
    return h.hexdigest()


@dataclass(frozen=True)
class TrackRequest:
    """Where the encoder panes should draw the tracked points.

    Attributes
    ----------
    video_key, device, resolution, reading: as in :class:`ViewRequest`.
    frames: source frames of the clip shown (the clip around the playhead).
    queries: (source frame, x, y) per point; a point clicked in another clip is tracked from
        that clip's features into this one.
    encoders: the encoders whose panes draw tracks.
    clip, n_frames: the clip window and the video's length (to find each query's clip).
    temperature, window: the soft-argmax settings.
    """

    video_key: str
    frames: tuple[int, ...]
    queries: tuple[tuple[int, float, float], ...]
    encoders: tuple[str, ...]
    clip: ClipWindow
    n_frames: int
    device: str = "auto"
    resolution: int | None = None
    reading: Reading = Reading()
    temperature: float = 0.05
    window: int = 5

    def query_clips(self) -> list[tuple[int, ...]]:
        """The clips (source frames) the features must cover: each query's, then the shown one."""
        clips = [self.clip.frames_around(f, self.n_frames) for f, _, _ in self.queries]
        return [c for c in dict.fromkeys(clips) if c != self.frames] + [self.frames]


@dataclass(frozen=True)
class SurpriseRequest:
    """The surprise timeline of a whole video for one encoder.

    method: "predictor", "copy", "velocity", or None (the predictor when the encoder has
    one, else copy); k, context, stride: as in :func:`jepa_studio.analysis.surprise.surprise_curve`.
    """

    video_key: str
    encoder: str
    n_frames: int
    method: str | None = None
    k: int = 1
    context: int = 7
    stride: int = 1
    device: str = "auto"
    resolution: int | None = None


def make_request(
    video_key: str,
    playhead: int,
    clip: ClipWindow,
    n_frames: int,
    encoders: Sequence[str],
    view: ViewSettings,
    device: str = "auto",
    resolution: int | None = None,
    reading: Reading = Reading(),
) -> ViewRequest:
    """A :class:`ViewRequest` (convenience for callers that hold the pieces)."""
    return ViewRequest(video_key, int(playhead), clip, int(n_frames), tuple(encoders), view, device, resolution, reading)

