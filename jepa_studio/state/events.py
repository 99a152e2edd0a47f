"""Change events without Qt: plain Python callbacks.

A state object calls every subscriber with ``(name, value)`` after ``name`` changed.
The GUI subscribes and updates widgets; tests subscribe and record.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, Generic, TypeVar

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


S = TypeVar("S")


class Options(Observable, Generic[S]):
    """One frozen dataclass of a feature's options, evented.

    ``update(**changes)`` builds a new value (its ``__post_init__`` validates: a bad value
    raises and nothing changes) and emits ``(field, value)`` for every field that changed.
    Widgets bind to the fields; the CLI and tests set the same object.

    Persisted with :meth:`load` / :meth:`save` in a :class:`~.settings.SettingsStore` under
    ``prefix/field``: plain values only; a stored value of the wrong type or out of range is
    ignored (the default stays), so an old or edited settings file never breaks start-up.
    """

    def __init__(self, value: S) -> None:
        super().__init__()
        if not dataclasses.is_dataclass(value):
            raise TypeError("Options holds a dataclass instance")
        self._value = value

    @property
    def value(self) -> S:
        """The current options (immutable)."""
        return self._value

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self._value, name)

    def update(self, **changes: Any) -> bool:
        """Change fields (validated); returns whether anything changed."""
        new = dataclasses.replace(self._value, **changes)  # type: ignore[type-var]
        changed = [f.name for f in dataclasses.fields(new) if getattr(new, f.name) != getattr(self._value, f.name)]
        self._value = new
        for name in changed:
            self._emit(name, getattr(new, name))
        return bool(changed)

    def load(self, store: Any, prefix: str) -> None:
        """Restore the fields stored under ``prefix/`` (without emitting)."""
        value = self._value
        for f in dataclasses.fields(value):  # type: ignore[arg-type]
            raw = store.value(f"{prefix}/{f.name}")
            if raw is None:
                continue
            try:
                value = dataclasses.replace(value, **{f.name: _coerce(raw, getattr(value, f.name))})  # type: ignore[type-var]
            except (TypeError, ValueError):
                continue
        self._value = value

    def save(self, store: Any, prefix: str) -> None:
        """Store every field under ``prefix/`` (None as an empty string)."""
        for f in dataclasses.fields(self._value):  # type: ignore[arg-type]
            v = getattr(self._value, f.name)
            store.set_value(f"{prefix}/{f.name}", "" if v is None else (list(v) if isinstance(v, tuple) else v))


def _coerce(raw: Any, default: Any) -> Any:
    """A stored settings value (QSettings gives strings) as the type of ``default``."""
    if isinstance(default, bool):
        text = str(raw).strip().lower()
        if text not in ("true", "false", "1", "0"):
            raise ValueError(raw)
        return text in ("true", "1")
    if isinstance(default, int):
        return int(raw)
    if isinstance(default, float):
        return float(raw)
    if isinstance(default, tuple):
        items = [raw] if isinstance(raw, str) else list(raw)
        return tuple(type(d)(v) for d, v in zip(default, items)) if len(items) == len(default) else default
    if default is None or isinstance(default, str):
        return None if default is None and raw == "" else str(raw)
    raise TypeError(type(default))
