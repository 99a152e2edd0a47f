"""Application state without Qt: session, clip window, view settings, persistent settings."""

from .clip import ClipWindow
from .events import Observable
from .session import Session, VideoMeta
from .settings import AppSettings, MemorySettings, SettingsStore
from .view import ViewSettings

__all__ = [
    "AppSettings",
    "ClipWindow",
    "MemorySettings",
    "Observable",
    "Session",
    "SettingsStore",
    "VideoMeta",
    "ViewSettings",
]
