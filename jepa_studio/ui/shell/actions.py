"""One table of the window's actions: their menus, shortcuts and owners, and the clashes.

Every feature adds its actions here (never straight to a menu), so a shortcut that two
features both claim shows up (:meth:`ActionTable.clashes`, checked by a test), and the
Help › Keyboard shortcuts dialog lists them all from one place.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMenu, QWidget

Shortcut = str | QKeySequence | QKeySequence.StandardKey | None


@dataclass(frozen=True)
class ActionRow:
    """One row of the shortcuts table."""

    key: str
    text: str
    shortcut: str
    owner: str


class ActionTable(QObject):
    """The window's actions, by key (``"viewer.export"``).

    Parameters
    ----------
    window: the widget that owns the actions (window-wide shortcuts work while it has focus).
    """

    def __init__(self, window: QWidget) -> None:
        super().__init__(window)
        self.window = window
        self._actions: dict[str, QAction] = {}
        self._owners: dict[str, str] = {}

    def add(
        self,
        key: str,
        text: str,
        slot: Callable[[], object],
        *,
        menu: QMenu | None = None,
        shortcut: Shortcut = None,
        checkable: bool = False,
        checked: bool = False,
        tip: str = "",
        before: QAction | None = None,
    ) -> QAction:
        """Create the action ``key`` (``owner.name``), put it in ``menu`` (before ``before``)
        or on the window alone (a shortcut without a menu entry), and call ``slot()`` when
        it is triggered."""
        if key in self._actions:
            raise ValueError(f"the action {key!r} exists already")
        act = QAction(text, self.window)
        act.setObjectName(key)
        if shortcut is not None:
            act.setShortcut(shortcut if isinstance(shortcut, QKeySequence) else QKeySequence(shortcut))
            act.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        if checkable:
            act.setCheckable(True)
            act.setChecked(checked)
        if tip:
            act.setToolTip(tip)
            act.setStatusTip(tip)
        act.triggered.connect(lambda _checked=False: slot())
        if menu is None:
            self.window.addAction(act)
        elif before is not None:
            menu.insertAction(before, act)
        else:
            menu.addAction(act)
        self._actions[key] = act
        self._owners[key] = key.split(".", 1)[0]
        return act

    def __getitem__(self, key: str) -> QAction:
        return self._actions[key]

    def __contains__(self, key: str) -> bool:
        return key in self._actions

    def rows(self) -> list[ActionRow]:
        """Every action that has a shortcut, in the order they were added."""
        out = []
        for key, act in self._actions.items():
            text = act.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
            if text:
                out.append(ActionRow(key, act.text().replace("&", ""), text, self._owners[key]))
        return out

    def clashes(self) -> dict[str, list[str]]:
        """Shortcuts claimed by more than one action: ``{"Ctrl+E": ["viewer.export", ...]}``."""
        by_key: dict[str, list[str]] = {}
        for key, act in self._actions.items():
            text = act.shortcut().toString(QKeySequence.SequenceFormat.PortableText)
            if text:
                by_key.setdefault(text, []).append(key)
        return {k: v for k, v in by_key.items() if len(v) > 1}
