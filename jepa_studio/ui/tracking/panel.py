"""The Tracking dock: the track tool, the points, and the tracking options (bound to the state)."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QPixmap
from PySide6.QtWidgets import (
    QDoubleSpinBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from ...render.trails import point_colour
from ...state.tracking import TrackingState
from ..shell import theme
from ..shell.wheel import ignore_wheel_unless_focused


def _swatch(n: int) -> QPixmap:
    pix = QPixmap(12, 12)
    pix.fill(QColor(*point_colour(n)))
    return pix


class TrackingPanel(QWidget):
    """Track tool, the list of points, remove / clear / undo, temperature, window and trail."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.setSpacing(10)
        self.mode = QPushButton("Track points (T)")
        self.mode.setCheckable(True)
        layout.addWidget(self.mode)
        hint = QLabel("With the tool on, click a point in any pane: every encoder pane draws where its "
                      "features put it through the clip, as a trail that follows the playhead.")
        hint.setWordWrap(True)
        hint.setStyleSheet(f"color: {theme.MUTED};")
        layout.addWidget(hint)

        points = QGroupBox("Points")
        grid = QGridLayout(points)
        self.points = QListWidget()
        self.points.setMaximumHeight(120)
        grid.addWidget(self.points, 0, 0, 1, 3)
        self.remove, self.clear = QPushButton("Remove"), QPushButton("Clear")
        self.undo, self.redo = QPushButton("Undo"), QPushButton("Redo")
        for i, b in enumerate((self.remove, self.clear)):
            grid.addWidget(b, 1, i)
        for i, b in enumerate((self.undo, self.redo)):
            grid.addWidget(b, 2, i)
        layout.addWidget(points)

        options = QGroupBox("Tracking")
        form = QFormLayout(options)
        self.temperature = QDoubleSpinBox()
        self.temperature.setRange(0.005, 1.0)
        self.temperature.setDecimals(3)
        self.temperature.setSingleStep(0.01)
        self.temperature.setToolTip("soft-argmax temperature on cosine similarities (lower: closer to the arg-max)")
        self.window = QSpinBox()
        self.window.setRange(1, 15)
        self.window.setSingleStep(2)
        self.window.setToolTip("side of the soft-argmax window, in tokens (odd)")
        self.tail = QSpinBox()
        self.tail.setRange(0, 64)
        self.tail.setSpecialValueText("whole clip")
        self.tail.setToolTip("time steps of trail behind the playhead")
        form.addRow("Temperature", self.temperature)
        form.addRow("Window", self.window)
        form.addRow("Trail", self.tail)
        layout.addWidget(options)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        layout.addWidget(self.status)
        layout.addStretch(1)
        ignore_wheel_unless_focused(self)

    def bind(self, state: TrackingState) -> None:
        """Keep the option widgets and ``state`` in step, both ways, and list its points."""
        self._state = state
        self._updating = False
        self.temperature.valueChanged.connect(lambda v: self._set(temperature=float(v)))
        self.window.valueChanged.connect(lambda v: self._set(window=int(v) | 1))
        self.tail.valueChanged.connect(lambda v: self._set(tail=int(v)))
        state.options.subscribe(lambda _n, _v: self.refresh())
        state.subscribe(lambda _n, _v: self.refresh())
        self.refresh()

    def _set(self, **changes: Any) -> None:
        if not self._updating:
            self._state.options.update(**changes)

    def refresh(self) -> None:
        state, o = self._state, self._state.options.value
        self._updating = True
        try:
            self.temperature.setValue(o.temperature)
            self.window.setValue(o.window)
            self.tail.setValue(o.tail)
            self.mode.setChecked(state.mode)
            self.points.clear()
            for n, (frame, x, y) in enumerate(state.points):
                item = QListWidgetItem(f"point {n + 1}: ({x:.0f}, {y:.0f}) at frame {frame}")
                item.setIcon(_swatch(n))
                item.setData(Qt.ItemDataRole.UserRole, n)
                self.points.addItem(item)
        finally:
            self._updating = False
