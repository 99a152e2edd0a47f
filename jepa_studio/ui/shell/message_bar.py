"""A dismissible error line at the top of the window (work is never lost behind it)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QToolButton, QWidget


class MessageBar(QFrame):
    """Shows one message at a time and remembers which part of the window raised it, so that
    part can take it back once what failed works again (a stale error is worse than none).

    Signals: ``visibilityChanged`` is not needed; the window re-fits the panes on resize.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("messageBar")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 6, 6, 6)
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        close = QToolButton()
        close.setText("✕")
        close.setToolTip("Dismiss")
        close.setAutoRaise(True)
        close.clicked.connect(self.dismiss)
        layout.addWidget(self.label, 1)
        layout.addWidget(close)
        #: the part of the window the shown message came from ("" for the window itself)
        self.source = ""
        self.hide()

    def show_message(self, text: str, source: str = "") -> None:
        self.label.setText(text)
        self.source = source
        self.show()

    def clear(self, source: str | None = None) -> None:
        """Hide the message if it came from ``source`` (None: whatever it is)."""
        if self.isVisible() and (source is None or source == self.source):
            self.dismiss()

    def dismiss(self) -> None:
        self.hide()
        self.source = ""

    def text(self) -> str:
        return self.label.text() if self.isVisible() else ""
