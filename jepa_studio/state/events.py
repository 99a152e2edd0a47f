"""Change events without Qt: plain Python callbacks.

A state object calls every subscriber with ``(name, value)`` after ``name`` changed.
The GUI subscribes and updates widgets; tests subscribe and record.
"""

from __future__ import annotations

from typing import Any, Callable

Listener = Callable[[str, Any], None]


class Observable:
    """Holds a list of listeners and notifies them of named changes."""

    def __init__(self) -> None:
        self._listeners: list[Listener] = []

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener(name, value)`` after every change; returns an unsubscribe function."""
        self._listeners.append(listener)

        def unsubscribe() -> None:
            if listener in self._listeners:
                self._listeners.remove(listener)

        return unsubscribe

    def _emit(self, name: str, value: Any) -> None:
        for listener in list(self._listeners):
            listener(name, value)
