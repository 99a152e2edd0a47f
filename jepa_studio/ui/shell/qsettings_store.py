"""QSettings behind the Qt-free :class:`~jepa_studio.state.settings.SettingsStore` interface."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QSettings


class QSettingsStore:
    """A :class:`SettingsStore` over a QSettings (the app's default one, or an ini file in tests)."""

    def __init__(self, settings: QSettings | None = None) -> None:
        self.qsettings = settings if settings is not None else QSettings("JEPA Studio", "JEPA Studio")

    def value(self, key: str, default: Any = None) -> Any:
        return self.qsettings.value(key, default)

    def set_value(self, key: str, value: Any) -> None:
        self.qsettings.setValue(key, value)

    def sync(self) -> None:
        self.qsettings.sync()
