"""The mouse wheel over a dock scrolls the dock; it never changes an unfocused setting, and the
scroll bar it is handed to takes it (a guarded scroll bar handed the event to itself forever:
one wheel tick over the World dock crashed the app)."""

from __future__ import annotations

from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QApplication

from jepa_studio.ui.world.panel import WorldPanel


def wheel(widget, steps: int = -1) -> None:
    pos = QPointF(widget.rect().center())
    event = QWheelEvent(pos, QPointF(widget.mapToGlobal(pos.toPoint())), QPoint(0, 0), QPoint(0, 120 * steps),
                        Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(widget, event)


def test_wheel_over_a_dock_scrolls_it_and_changes_nothing(qtbot) -> None:
    panel = WorldPanel()
    qtbot.addWidget(panel)
    panel.resize(300, 420)
    panel.show()
    qtbot.waitExposed(panel)
    panel.splitter.setSizes([120, 300])  # the settings must scroll
    qtbot.wait(20)
    bar = panel.scroll.verticalScrollBar()
    assert bar.maximum() > 0
    before = (panel.history.value(), panel.source.currentIndex(), bar.value())
    wheel(panel.history)  # an unfocused spin box: the dock scrolls instead
    wheel(panel.source)
    assert (panel.history.value(), panel.source.currentIndex()) == before[:2]
    assert bar.value() > before[2]
    top = bar.value()
    wheel(bar, +1)  # the scroll bar itself takes the wheel
    assert bar.value() < top
