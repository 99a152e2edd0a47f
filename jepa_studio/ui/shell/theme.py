"""A calm dark theme: palette, style sheet and pyqtgraph defaults."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

BACKGROUND = "#1e1f22"
PANEL = "#2b2d30"
TEXT = "#dfe1e5"
MUTED = "#8c8f94"
ACCENT = "#4e9cf5"
WARN = "#f0a04b"
ERROR = "#f2665c"

STYLE = f"""
QWidget {{ font-size: 10pt; }}
QMainWindow, QDockWidget {{ background: {BACKGROUND}; }}
QDockWidget::title {{ background: {PANEL}; padding: 4px 8px; color: {MUTED}; }}
QGroupBox {{ border: 1px solid #3c3f44; border-radius: 4px; margin-top: 14px; padding-top: 6px; }}
QGroupBox::title {{ subcontrol-origin: margin; left: 8px; padding: 0 4px; color: {MUTED}; }}
QStatusBar {{ background: {PANEL}; color: {MUTED}; }}
QStatusBar QLabel {{ color: {MUTED}; padding: 0 6px; }}
QFrame#messageBar {{ background: #4a2a28; border: 1px solid {ERROR}; border-radius: 4px; }}
QFrame#messageBar QLabel {{ color: #ffd9d5; }}
QProgressBar {{ border: 1px solid #3c3f44; border-radius: 3px; background: {BACKGROUND};
               color: {TEXT}; text-align: center; max-height: 14px; }}
QProgressBar::chunk {{ background: {ACCENT}; }}
QCheckBox::indicator, QGroupBox::indicator, QAbstractItemView::indicator {{
    width: 12px; height: 12px; border: 1px solid #7a7e85; border-radius: 2px; background: {BACKGROUND}; }}
QCheckBox::indicator:checked, QGroupBox::indicator:checked, QAbstractItemView::indicator:checked {{
    background: {ACCENT}; border-color: {ACCENT}; }}
QCheckBox::indicator:disabled {{ border-color: #4a4d52; }}
QCheckBox::indicator:checked:disabled {{ background: #4a4d52; }}
"""


def apply_theme(app: QApplication) -> None:
    """Fusion style with a dark palette; pyqtgraph row-major images on the same background."""
    app.setStyle("Fusion")
    palette = QPalette()
    for role, colour in (
        (QPalette.ColorRole.Window, PANEL),
        (QPalette.ColorRole.WindowText, TEXT),
        (QPalette.ColorRole.Base, BACKGROUND),
        (QPalette.ColorRole.AlternateBase, PANEL),
        (QPalette.ColorRole.Text, TEXT),
        (QPalette.ColorRole.Button, "#35373b"),
        (QPalette.ColorRole.ButtonText, TEXT),
        (QPalette.ColorRole.Highlight, ACCENT),
        (QPalette.ColorRole.HighlightedText, "#ffffff"),
        (QPalette.ColorRole.ToolTipBase, PANEL),
        (QPalette.ColorRole.ToolTipText, TEXT),
        (QPalette.ColorRole.PlaceholderText, MUTED),
    ):
        palette.setColor(role, QColor(colour))
    palette.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text, QColor(MUTED))
    palette.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.ButtonText, QColor(MUTED))
    palette.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Highlight, QColor("#4a4d52"))  # sliders look off
    palette.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.WindowText, QColor(MUTED))
    app.setPalette(palette)
    app.setStyleSheet(STYLE)
    configure_pyqtgraph()


def configure_pyqtgraph() -> None:
    """Row-major images (numpy [H, W, 3] as is) and the theme's colours."""
    pg.setConfigOptions(imageAxisOrder="row-major", background=BACKGROUND, foreground=TEXT, antialias=False)
