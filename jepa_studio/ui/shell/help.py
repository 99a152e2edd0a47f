"""Help › Keyboard shortcuts: every action with a key, from the one action table."""

from __future__ import annotations

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QHeaderView, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget

from .actions import ActionTable


def shortcuts_table(actions: ActionTable, parent: QWidget | None = None) -> QTableWidget:
    """A read-only table: key, what it does, which part of the window it belongs to."""
    rows = actions.rows()
    table = QTableWidget(len(rows), 3, parent)
    table.setHorizontalHeaderLabels(["Key", "Does", "Part"])
    table.verticalHeader().setVisible(False)
    table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
    for r, row in enumerate(rows):
        for c, text in enumerate((row.shortcut, row.text, row.owner)):
            table.setItem(r, c, QTableWidgetItem(text))
    table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
    return table


def show_shortcuts(parent: QWidget, actions: ActionTable) -> None:
    """Show the shortcuts dialog (non-modal: it stays open beside the window)."""
    dialog = QDialog(parent)
    dialog.setWindowTitle("Keyboard shortcuts")
    layout = QVBoxLayout(dialog)
    layout.addWidget(shortcuts_table(actions, dialog))
    buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
    buttons.rejected.connect(dialog.close)
    layout.addWidget(buttons)
    dialog.resize(520, 560)
    dialog.show()
