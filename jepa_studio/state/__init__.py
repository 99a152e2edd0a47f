"""Application state without Qt: session, clip window, view settings, requests, feature
options (masking, ...), persistent settings."""

from .clip import ClipWindow
from .events import Observable, Options
from .requests import MaskRequest, ViewRequest
from .session import Session, VideoMeta
from .settings import AppSettings, MemorySettings, SettingsStore
from .view import Reading, ViewSettings

__all__ = [
    "AppSettings",
    "ClipWindow",
    "MaskRequest",
    "MemorySettings",
    "Observable",
    "Options",
    "Reading",
    "Session",
    "SettingsStore",
    "VideoMeta",
    "ViewRequest",
    "ViewSettings",
]
