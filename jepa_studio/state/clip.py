"""The clip window: which frames around the playhead the encoders see."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ClipWindow:
    """``frames_per_clip`` frames taken every ``stride`` frames.

    Clips are aligned on the timeline (clip ``k`` starts at frame
    ``k * frames_per_clip * stride``), so scrubbing inside one clip reuses its
    features, and the neighbouring clips are the natural ones to prefetch.
    """

    frames_per_clip: int = 16
    stride: int = 1

    def __post_init__(self) -> None:
        if self.frames_per_clip < 1:
            raise ValueError("frames_per_clip must be at least 1")
        if self.stride < 1:
            raise ValueError("stride must be at least 1")

    @property
    def span(self) -> int:
        """Frames of the timeline one clip spans (``frames_per_clip * stride``)."""
        return self.frames_per_clip * self.stride

    def clip_index(self, frame: int) -> int:
        """Index of the aligned clip that contains ``frame``."""
        return max(0, int(frame)) // self.span

    def clip_count(self, n_frames: int) -> int:
        """How many aligned clips a video of ``n_frames`` frames has."""
        return max(1, -(-int(n_frames) // self.span))

    def frames_of_clip(self, index: int, n_frames: int) -> tuple[int, ...]:
        """Source frame indices of clip ``index``, cut at the end of the video.

        Returns an empty tuple for a clip outside the video.
        """
        start = int(index) * self.span
        return tuple(f for f in range(start, start + self.span, self.stride) if 0 <= f < n_frames)

    def frames_around(self, playhead: int, n_frames: int) -> tuple[int, ...]:
        """Source frame indices of the clip that contains ``playhead``."""
        playhead = min(max(0, int(playhead)), max(0, n_frames - 1))
        return self.frames_of_clip(self.clip_index(playhead), n_frames)
