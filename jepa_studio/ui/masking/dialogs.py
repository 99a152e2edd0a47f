"""The Mask feature's file dialogs: where to load and save a mask PNG, where to export."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtWidgets import QFileDialog, QWidget

MASK_FILTER = "Mask PNG (*.png);;All files (*)"
EXPORT_FILTER = "PNG image (*.png);;MP4 video (*.mp4);;GIF (*.gif)"


def ask_open_mask_path(parent: QWidget, store: Any) -> Path | None:
    """A mask PNG to load (starting at the last one), or None."""
    start = str(store.value("mask/last_path", "") or "")
    path, _ = QFileDialog.getOpenFileName(parent, "Load mask", start, MASK_FILTER)
    return Path(path) if path else None


def ask_save_mask_path(parent: QWidget, store: Any, video: Path | None) -> Path | None:
    """Where to save the mask (the last mask path, else ``VIDEO.mask.png``), or None."""
    start = str(store.value("mask/last_path", "") or "")
    if not start and video is not None:
        start = str(video.with_suffix(".mask.png"))
    path, _ = QFileDialog.getSaveFileName(parent, "Save mask", start, MASK_FILTER)
    return Path(path) if path else None


def ask_export_path(parent: QWidget, folder: Path, video: Path | None) -> Path | None:
    """Where to export the masked prediction (``folder/STEM.masked.png`` first), or None."""
    start = folder / f"{video.stem if video else 'masked'}.masked.png"
    path, _ = QFileDialog.getSaveFileName(parent, "Export masked prediction", str(start), EXPORT_FILTER)
    return Path(path) if path else None
