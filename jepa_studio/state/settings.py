"""Settings that persist between runs, behind a small interface the UI implements.

The GUI implements :class:`SettingsStore` with QSettings; tests use
:class:`MemorySettings`. Only plain values go through it (str, int, float, bool, lists
of str).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

MAX_RECENT = 10


class SettingsStore(Protocol):
    """Key-value storage for persistent settings."""

    def value(self, key: str, default: Any = None) -> Any:
        """The stored value, or ``default``."""
        ...

    def set_value(self, key: str, value: Any) -> None:
        """Store ``value`` under ``key``."""
        ...


class MemorySettings:
    """A dict-backed :class:`SettingsStore` (tests, headless use)."""

    def __init__(self, values: dict[str, Any] | None = None) -> None:
        self.values: dict[str, Any] = dict(values or {})

    def value(self, key: str, default: Any = None) -> Any:
        return self.values.get(key, default)

    def set_value(self, key: str, value: Any) -> None:
        self.values[key] = value


def _as_list(value: Any) -> list[str]:
    # QSettings returns a str for a one-element list and None/"" for an empty one.
    if value is None or value == "":
        return []
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value]


class AppSettings:
    """Typed access to the persistent settings: recent files, encoders, device, first run."""

    def __init__(self, store: SettingsStore) -> None:
        self.store = store

    def recent_files(self) -> list[Path]:
        """Most recent first; at most :data:`MAX_RECENT`."""
        return [Path(p) for p in _as_list(self.store.value("recent_files"))][:MAX_RECENT]

    def add_recent_file(self, path: Path | str) -> list[Path]:
        """Put ``path`` first in the recent list (deduplicated); returns the new list."""
        path = Path(path).resolve()
        files = [path] + [p for p in self.recent_files() if p != path]
        files = files[:MAX_RECENT]
        self.store.set_value("recent_files", [str(p) for p in files])
        return files

    def remove_recent_file(self, path: Path | str) -> None:
        """Drop ``path`` from the recent list (it no longer opens)."""
        path = Path(path).resolve()
        self.store.set_value("recent_files", [str(p) for p in self.recent_files() if p != path])

    def encoders(self, default: tuple[str, ...]) -> tuple[str, ...]:
        """Encoders chosen last time, or ``default`` on the first run."""
        stored = self.store.value("encoders")
        if stored is None:
            return default
        return tuple(_as_list(stored))

    def set_encoders(self, names: tuple[str, ...]) -> None:
        self.store.set_value("encoders", list(names))

    def device(self) -> str:
        return str(self.store.value("device", "auto") or "auto")

    def set_device(self, device: str) -> None:
        self.store.set_value("device", device)

    def first_run(self) -> bool:
        """True until :meth:`mark_started` was called once."""
        value = self.store.value("started", False)
        return not (value is True or str(value).lower() == "true")

    def mark_started(self) -> None:
        self.store.set_value("started", True)
