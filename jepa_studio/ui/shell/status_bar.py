"""The window's status bar: device, loaded models, memory, and the progress of long work."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Callable

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QLabel, QMainWindow, QProgressBar, QPushButton

from ...engine.messages import Progress, Status


def memory_text() -> str:
    """Resident memory of this process (and the CUDA allocator's, when there is one)."""
    text = ""
    try:
        with open("/proc/self/statm") as f:
            rss = int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        text = f"RAM {rss / 2**30:.1f} GiB"
    except (OSError, ValueError, IndexError, AttributeError):
        import resource

        text = f"RAM peak {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20:.1f} GiB"
    try:
        import torch

        if torch.cuda.is_available() and torch.cuda.is_initialized():
            text += f" · GPU {torch.cuda.memory_allocated() / 2**30:.1f} GiB"
    except Exception:  # noqa: BLE001 - the status bar never fails
        pass
    return text


class StatusBar:
    """Builds and drives the status bar of ``window``; ``cancel()`` stops the running work."""

    STICKY_S = 8.0

    def __init__(self, window: QMainWindow, cancel: Callable[[], None]) -> None:
        self.bar = bar = window.statusBar()
        self.device_label = QLabel("device: auto")
        self.model_label = QLabel("models: none loaded")
        self.memory_label = QLabel(memory_text())
        self.progress = QProgressBar()
        self.progress.setFixedWidth(180)
        self.progress.setTextVisible(True)
        self.progress.hide()
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop the model, export or training that is running")
        self.cancel_button.clicked.connect(cancel)
        self.cancel_button.hide()
        for w in (self.device_label, self.model_label, self.memory_label):
            bar.addPermanentWidget(w)
        bar.addPermanentWidget(self.progress)
        bar.addPermanentWidget(self.cancel_button)
        self._sticky_until = 0.0  # a task's result line stays until then (progress won't replace it)
        self._timer = QTimer(window)
        self._timer.timeout.connect(lambda: self.memory_label.setText(memory_text()))
        self._timer.start(1000)

    def stop(self) -> None:
        self._timer.stop()

    def show(self, text: str, msec: int = 0, sticky: bool = False) -> None:
        """A message (``sticky``: progress lines do not replace it for a few seconds)."""
        self.bar.showMessage(text, msec)
        if sticky:
            self._sticky_until = time.monotonic() + self.STICKY_S

    def show_device(self, device: str) -> None:
        self.device_label.setText(f"device: {device}")

    def show_models(self, message: Status) -> None:
        self.show_device(message.device)
        self.model_label.setText("models: " + (", ".join(Path(m).name for m in message.models) or "none loaded"))

    def show_progress(self, message: Progress) -> None:
        """A bar while work runs; gone when it ends (a cancelled task says so)."""
        finished = message.total > 0 and message.done >= message.total
        if finished:
            self.progress.hide()
            self.cancel_button.hide()
            if message.cancelled:
                self.bar.showMessage(f"{message.text}: cancelled", 4000)
            elif time.monotonic() >= self._sticky_until:
                self.bar.clearMessage()
            return
        self.progress.show()
        self.cancel_button.show()
        if message.total <= 0:
            self.progress.setRange(0, 0)
        else:
            self.progress.setRange(0, message.total)
            self.progress.setValue(message.done)
        self.progress.setFormat(f"{message.text} %p%" if message.total > 0 else message.text)
        if time.monotonic() >= self._sticky_until:
            self.bar.showMessage(message.text)
