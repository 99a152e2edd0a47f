"""Spin boxes, combo boxes and sliders in docks ignore the mouse wheel until clicked.

Scrolling a dock must scroll it, not silently change a setting the pointer passes over
(the wheel once switched "Train on" from the open video to the pendulum).
"""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication, QEvent, QObject, Qt
from PySide6.QtWidgets import QAbstractScrollArea, QAbstractSlider, QAbstractSpinBox, QComboBox, QScrollBar, QWidget

_KINDS = (QAbstractSpinBox, QComboBox, QAbstractSlider)


class _WheelGuard(QObject):
    """Passes a wheel event on to the widget only while it has keyboard focus."""

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        if event.type() == QEvent.Type.Wheel and isinstance(watched, QWidget) and not watched.hasFocus():
            area = watched.parentWidget()
            while area is not None and not isinstance(area, QAbstractScrollArea):
                area = area.parentWidget()
            bar = area.verticalScrollBar() if area is not None else None
            if bar is not None and bar is not watched:  # the dock's scroll area scrolls instead
                QCoreApplication.sendEvent(bar, event)
            return True
        return False


_guard: _WheelGuard | None = None


def ignore_wheel_unless_focused(root: QWidget) -> None:
    """Guard every spin box, combo box and slider under ``root`` (call after building it)."""
    global _guard
    if _guard is None:
        _guard = _WheelGuard()
    for kind in _KINDS:
        for widget in root.findChildren(kind):
            if isinstance(widget, QScrollBar):  # what the wheel is forwarded to: it must take it
                continue
            widget.setFocusPolicy(Qt.FocusPolicy.StrongFocus)  # a wheel must not give focus
            widget.installEventFilter(_guard)
