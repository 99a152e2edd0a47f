"""The Masking dock: tools, time steps, presets, prediction options, panes, scores, export.

Its option widgets are bound both ways to :class:`~jepa_studio.state.masking.MaskingState`'s
options: a widget edit updates the state, a state change (from a menu, a script, a restored
setting) updates the widget.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QLabel,
    QListWidget,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ...analysis.inpaint import FILLS
from ...state.masking import MaskingState
from ..shell import theme
from ..shell.wheel import ignore_wheel_unless_focused

TOOL_LABELS = {"brush": "Brush", "eraser": "Eraser", "rectangle": "Rectangle"}
PRESET_LABELS = {"centre": "Centre block", "tubes": "Random tubes", "future": "Future steps"}
PANE_LABELS = {"show_full": "Full", "show_predicted": "Predicted", "show_error": "Error"}


class MaskingPanel(QWidget):
    """The widgets of the Masking dock (the controller connects the commands)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.setSpacing(10)

        self.mode = QPushButton("Paint mask (M)")
        self.mode.setCheckable(True)
        layout.addWidget(self.mode)

        tools = QGroupBox("Paint")
        grid = QGridLayout(tools)
        self.tool_buttons: dict[str, QToolButton] = {}
        for i, (key, text) in enumerate(TOOL_LABELS.items()):
            b = QToolButton()
            b.setCheckable(True)
            b.setAutoExclusive(True)
            b.setText(text)
            b.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
            b.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
            grid.addWidget(b, 0, i)
            self.tool_buttons[key] = b
        self.tool_buttons["brush"].setChecked(True)
        grid.addWidget(QLabel("Brush"), 1, 0)
        self.brush = QSpinBox()
        self.brush.setRange(1, 512)
        self.brush.setSuffix(" px")
        self.brush.setToolTip("brush diameter in source pixels ([ smaller, ] larger)")
        grid.addWidget(self.brush, 1, 1, 1, 2)
        self.undo, self.redo = QPushButton("Undo"), QPushButton("Redo")
        self.invert, self.clear = QPushButton("Invert"), QPushButton("Clear")
        for i, b in enumerate((self.undo, self.redo, self.invert)):
            grid.addWidget(b, 2, i)
        grid.addWidget(self.clear, 3, 0)
        hint = QLabel("Shift+drag erases")
        hint.setStyleSheet(f"color: {theme.MUTED};")
        grid.addWidget(hint, 3, 1, 1, 2)
        layout.addWidget(tools)

        steps = QGroupBox("Applies to")
        form = QVBoxLayout(steps)
        self.applies = QComboBox()
        self.applies.addItem("the whole clip", "all")
        self.applies.addItem("chosen time steps", "steps")
        form.addWidget(self.applies)
        self.steps = QListWidget()
        self.steps.setMaximumHeight(96)
        form.addWidget(self.steps)
        self.this_step = QPushButton("Only the step under the playhead")
        form.addWidget(self.this_step)
        layout.addWidget(steps)

        presets = QGroupBox("Presets")
        row = QGridLayout(presets)
        self.preset_buttons: dict[str, QPushButton] = {}
        for i, (key, text) in enumerate(PRESET_LABELS.items()):
            b = QPushButton(text)
            self.preset_buttons[key] = b
            row.addWidget(b, i // 2, i % 2)
        self.future_steps = QSpinBox()
        self.future_steps.setRange(1, 64)
        self.future_steps.setPrefix("k = ")
        self.future_steps.setToolTip("the future preset hides the last k time steps")
        row.addWidget(self.future_steps, 1, 1)
        layout.addWidget(presets)

        prediction = QGroupBox("Prediction")
        form2 = QFormLayout(prediction)
        self.encoder = QComboBox()
        self.encoder.setToolTip("the encoder whose prediction the masked panes show (and whose token grid is drawn)")
        form2.addRow("Encoder", self.encoder)
        self.leaky = QCheckBox("Leaky variant beside it (V-JEPA 2)")
        self.leaky.setToolTip("also mask after a full encoder pass, as transformers' VJEPA2Model.forward does")
        form2.addRow(self.leaky)
        self.fill = QComboBox()
        for f in FILLS:
            self.fill.addItem(f, f)
        self.fill.setToolTip("encoders without a predictor (DINO, pixels): how hidden pixels are filled before re-encoding")
        form2.addRow("Fill", self.fill)
        self.threshold = QDoubleSpinBox()
        self.threshold.setRange(0.0, 0.95)
        self.threshold.setSingleStep(0.05)
        self.threshold.setToolTip("hide a token when more than this fraction of its pixels is masked (0: any)")
        form2.addRow("Token threshold", self.threshold)
        layout.addWidget(prediction)

        panes = QGroupBox("Panes in mask mode")
        grid3 = QGridLayout(panes)
        self.pane_boxes: dict[str, QCheckBox] = {}
        for i, (key, text) in enumerate(PANE_LABELS.items()):
            box = QCheckBox(text)
            grid3.addWidget(box, 0, i)
            self.pane_boxes[key] = box
        self.show_encoders = QCheckBox("Encoder panes too")
        self.show_encoders.setToolTip("off: the frame takes the encoder panes' room to paint in")
        grid3.addWidget(self.show_encoders, 1, 0, 1, 3)
        layout.addWidget(panes)

        self.busy = QProgressBar()
        self.busy.setRange(0, 0)
        self.busy.setTextVisible(False)
        self.busy.setMaximumHeight(6)
        self.busy.hide()
        layout.addWidget(self.busy)
        self.status = QLabel("Turn on mask mode and paint on the frame.")
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.status)
        self.export = QPushButton("Export masked prediction…")
        layout.addWidget(self.export)
        layout.addStretch(1)
        ignore_wheel_unless_focused(self)

    # -- binding to the state -------------------------------------------------------------
    def bind(self, state: MaskingState) -> None:
        """Show ``state``'s options and keep widgets and state in step, both ways."""
        self._state = state
        self._updating = False
        self.refresh()
        self.leaky.toggled.connect(lambda on: self._set(leaky=bool(on)))
        self.fill.currentIndexChanged.connect(lambda _i: self._set(fill=str(self.fill.currentData())))
        self.threshold.valueChanged.connect(lambda v: self._set(threshold=float(v)))
        self.future_steps.valueChanged.connect(lambda v: self._set(future_steps=int(v)))
        self.encoder.currentIndexChanged.connect(lambda _i: self._set(encoder=str(self.encoder.currentData() or "")))
        for key, box in self.pane_boxes.items():
            box.toggled.connect(lambda on, k=key: self._set(**{k: bool(on)}))
        self.show_encoders.toggled.connect(lambda on: self._set(show_encoders=bool(on)))
        state.options.subscribe(lambda _name, _value: self.refresh())
        state.session.subscribe(lambda name, _value: name == "encoders" and self.refresh())

    def _set(self, **changes: Any) -> None:
        if not self._updating:
            self._state.options.update(**changes)

    def refresh(self) -> None:
        """Show the state's options (without echoing them back)."""
        state = self._state
        o = state.options.value
        self._updating = True
        try:
            self.leaky.setChecked(o.leaky)
            self.fill.setCurrentIndex(max(0, self.fill.findData(o.fill)))
            self.threshold.setValue(o.threshold)
            self.future_steps.setValue(o.future_steps)
            for key, box in self.pane_boxes.items():
                box.setChecked(bool(getattr(o, key)))
            self.show_encoders.setChecked(o.show_encoders)
            names = list(state.session.encoders)
            self.encoder.clear()
            for name in names:
                self.encoder.addItem(Path(name).name if "/" in name and Path(name).exists() else name, name)
            if state.encoder in names:
                self.encoder.setCurrentIndex(names.index(state.encoder))
        finally:
            self._updating = False
