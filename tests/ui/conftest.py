"""Fixtures for the window tests: a themed app, small generated videos, a window with its
own settings file, screenshots under tests/_screenshots/."""

from __future__ import annotations

import gc
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QSettings

from jepa_studio.video import write_video

SCREENSHOTS = Path(__file__).resolve().parents[1] / "_screenshots"


def scene_frames(n: int = 24, height: int = 72, width: int = 128, seed: int = 0) -> np.ndarray:
    """uint8 [n, H, W, 3]: a striped background ("fence") with a square moving right."""
    rng = np.random.default_rng(seed)
    background = np.zeros((height, width, 3), np.uint8)
    background[:] = (40, 70, 50)
    background[:, ::16] = (150, 120, 90)
    background[:, 1::16] = (150, 120, 90)
    background = np.clip(background + rng.integers(0, 25, size=background.shape), 0, 255).astype(np.uint8)
    frames = np.repeat(background[None], n, axis=0)
    for t in range(n):
        x = 4 + 4 * t
        frames[t, 24:48, x : x + 24] = (230, 190, 40)
    return frames


@pytest.fixture(scope="session")
def videos(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("ui_videos")
    first = folder / "scene.mp4"
    second = folder / "other.mp4"
    write_video(first, scene_frames(), 12.0)
    write_video(second, scene_frames(16, 64, 96, seed=1)[::-1].copy(), 8.0)
    return {"first": first, "second": second}


@pytest.fixture(scope="session", autouse=True)
def themed(qapp):
    from jepa_studio.ui.shell.theme import apply_theme

    apply_theme(qapp)
    return qapp


@pytest.fixture
def settings_file(tmp_path: Path) -> Path:
    return tmp_path / "settings.ini"


@pytest.fixture
def make_window(qtbot, settings_file: Path):
    from jepa_studio.ui.shell.window import MainWindow
    from jepa_studio.ui.shell.qsettings_store import QSettingsStore

    windows = []

    def make(resize: bool = True):
        store = QSettingsStore(QSettings(str(settings_file), QSettings.Format.IniFormat))
        window = MainWindow(settings=store)
        qtbot.addWidget(window)
        if resize:
            window.resize(1280, 760)
        window.show()
        windows.append(window)
        return window

    yield make
    for window in windows:
        if not window._closed:
            window.close()
    # collect the closed windows' Qt objects here, on the GUI thread: a worker thread of a
    # later test must never be the one that frees them
    del windows[:]
    gc.collect()


@pytest.fixture
def screenshot():
    """``screenshot(widget, name)`` saves ``widget.grab()`` to tests/_screenshots/NAME.png."""

    def save(widget, name: str) -> Path:
        SCREENSHOTS.mkdir(exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        widget.grab().save(str(path))
        return path

    return save
