"""Metadata of an opened video or image folder, and the display-rotation helper."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class VideoInfo:
    """What is known about a video once it is opened.

    Attributes
    ----------
    path:
        The file (or image folder) that was opened.
    frame_count:
        Number of frames, counted from the container's packets (not its header).
    fps:
        Frames per second: the stream's average rate when it matches the frames'
        timestamps, else ``frame_count / duration`` (25 for image folders). With a
        variable frame rate use the per-frame timestamps, not ``i / fps``.
    width, height:
        Size in pixels of the frames as returned, i.e. as displayed, after rotation.
    duration:
        Seconds from the first frame's timestamp to the end of the last frame (image
        folders: ``frame_count / fps``).
    rotation:
        Clockwise rotation in degrees (0, 90, 180 or 270) applied to the stored frames
        so that they come out upright; 90 for a phone video shot in portrait. This is
        the classic ``rotate`` tag's convention (FFmpeg's display matrix and PyAV's
        ``VideoFrame.rotation`` count counter-clockwise, i.e. the opposite sign).
    codec:
        Codec name (``"h264"``, ``"vp9"``, ...; ``"png"``/``"jpeg"`` for image folders).
    is_image_folder:
        True when the frames come from a folder of images.
    variable_frame_rate:
        True when the intervals between frames differ (by more than 10%).
    """

    path: Path
    frame_count: int
    fps: float
    width: int
    height: int
    duration: float
    rotation: int
    codec: str
    is_image_folder: bool
    variable_frame_rate: bool = False


def normalize_rotation(degrees: float) -> int:
    """Round a rotation to the nearest multiple of 90 degrees in [0, 360)."""
    return int(round(float(degrees) / 90.0)) % 4 * 90


def apply_rotation(frame: np.ndarray, rotation: int) -> np.ndarray:
    """Rotate an image clockwise by ``rotation`` degrees (a multiple of 90).

    Parameters
    ----------
    frame:
        uint8 [H, W, C] image as stored in the file.
    rotation:
        Clockwise degrees, see :attr:`VideoInfo.rotation`.

    Returns
    -------
    np.ndarray
        C-contiguous uint8 image, [W, H, C] for 90 and 270, [H, W, C] otherwise.
    """
    quarter_turns = normalize_rotation(rotation) // 90
    if quarter_turns == 0:
        return np.ascontiguousarray(frame)
    # np.rot90 with positive k turns counter-clockwise; clockwise is negative k.
    return np.ascontiguousarray(np.rot90(frame, k=-quarter_turns, axes=(0, 1)))
