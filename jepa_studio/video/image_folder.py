"""A folder of images read as a video: files sorted naturally (``2.png`` before ``10.png``)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Iterator

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from jepa_studio.errors import VideoError
from jepa_studio.video.file_errors import os_error_message, os_error_reason
from jepa_studio.video.info import VideoInfo

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp"})
DEFAULT_FOLDER_FPS = 25.0
# EXIF orientations that swap width and height.
_TRANSPOSED_ORIENTATIONS = frozenset({5, 6, 7, 8})


def natural_key(name: str) -> tuple:
    """Sort key that orders digit runs by value: ``frame2`` < ``frame10``."""
    return tuple(int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", name))


def list_images(folder: Path) -> list[Path]:
    """Image files directly inside ``folder``, naturally sorted; hidden files skipped.

    Raises VideoError when the folder cannot be listed (permission denied ...)."""
    try:
        files = [p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith(".")]
    except OSError as error:
        raise VideoError(os_error_message(folder, error, verb="list")) from None
    return sorted(files, key=lambda p: natural_key(p.name))


def _image_error(path: Path, error: OSError) -> VideoError:
    reason = error if isinstance(error, UnidentifiedImageError) else os_error_reason(error)
    return VideoError(f"Cannot read image '{path.name}' in '{path.parent.name}': {reason}.")


def _displayed_size(path: Path) -> tuple[int, int]:
    try:
        with Image.open(path) as image:
            width, height = image.size
            orientation = image.getexif().get(0x0112, 1)
    except (UnidentifiedImageError, OSError) as error:
        raise _image_error(path, error) from None
    return (height, width) if orientation in _TRANSPOSED_ORIENTATIONS else (width, height)


class ImageFolderSource:
    """Frames from the images of a folder; frame i is the i-th file in natural order.

    All images must have the same size (after EXIF orientation); frames are RGB (alpha is
    dropped, greyscale is expanded). Timing is a constant ``DEFAULT_FOLDER_FPS``.

    Raises
    ------
    VideoError
        When the folder holds no images, an image cannot be read, or sizes differ.
    """

    def __init__(self, folder: Path) -> None:
        self.path = folder
        self.files = list_images(folder)
        if not self.files:
            suffixes = ", ".join(sorted(IMAGE_SUFFIXES))
            raise VideoError(f"Folder '{folder.name}' contains no images ({suffixes}).")
        width, height = _displayed_size(self.files[0])
        for file in self.files[1:]:
            size = _displayed_size(file)
            if size != (width, height):
                raise VideoError(
                    f"Images in '{folder.name}' differ in size: '{self.files[0].name}' is "
                    f"{width}x{height} but '{file.name}' is {size[0]}x{size[1]}. "
                    f"Every frame of a folder must have the same size."
                )
        suffix = self.files[0].suffix.lower().lstrip(".")
        self.info = VideoInfo(
            path=folder,
            frame_count=len(self.files),
            fps=DEFAULT_FOLDER_FPS,
            width=width,
            height=height,
            duration=len(self.files) / DEFAULT_FOLDER_FPS,
            rotation=0,
            codec="jpeg" if suffix in ("jpg", "jpeg") else suffix,
            is_image_folder=True,
        )

    def timestamps(self) -> np.ndarray:
        """float64 [N]: seconds from the first frame, at a constant ``DEFAULT_FOLDER_FPS``."""
        return np.arange(len(self.files), dtype=np.float64) / DEFAULT_FOLDER_FPS

    def read(self, index: int) -> np.ndarray:
        """Image ``index`` as C-contiguous uint8 [H, W, 3] RGB."""
        path = self.files[index]
        try:
            with Image.open(path) as image:
                rgb = ImageOps.exif_transpose(image).convert("RGB")
                array = np.asarray(rgb, dtype=np.uint8)
        except (UnidentifiedImageError, OSError) as error:
            raise _image_error(path, error) from None
        if array.shape[:2] != (self.info.height, self.info.width):
            raise VideoError(f"Image '{path.name}' changed size since '{self.path.name}' was opened.")
        return np.ascontiguousarray(array)

    def iter_range(self, start: int, stop: int, step: int) -> Iterator[tuple[int, np.ndarray]]:
        """Yield ``(i, frame)`` for i in ``range(start, stop, step)``."""
        for index in range(start, stop, step):
            yield index, self.read(index)

    def close(self) -> None:
        """Nothing stays open between reads."""
