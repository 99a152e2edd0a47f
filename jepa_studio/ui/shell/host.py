"""What a feature may use of the window: the :class:`WindowHost` protocol.

A feature package (``ui/viewer``, ``ui/masking``, ``ui/world`` ...) gets the host in its
constructor and uses nothing else of the window; features talk to each other only through
the Qt-free state (:mod:`jepa_studio.state`), never by reaching into one another.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Protocol, Sequence, TypeVar

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDockWidget, QMenu, QWidget

from ...engine import StudioEngine
from ...state import Session, SettingsStore
from ...state.masking import MaskingState
from ...state.surprise import SurpriseState
from ...state.tracking import TrackingState
from .actions import ActionTable
from .panes import FramePane, Pane, PaneGrid

M = TypeVar("M")


class WindowHost(Protocol):
    """The window, as its features see it."""

    session: Session
    masking_state: MaskingState
    tracking_state: TrackingState
    surprise_state: SurpriseState
    store: SettingsStore
    engine: StudioEngine
    actions: ActionTable
    frame_pane: FramePane
    grid: PaneGrid  # its ``clicked`` / ``hovered`` signals, ``panes`` and ``columns``

    @property
    def widget(self) -> QWidget:
        """The window widget (parent of dialogs and docks)."""
        ...

    @property
    def closed(self) -> bool:
        """True once the window closed: late engine messages are ignored."""
        ...

    @property
    def current_frame(self) -> Any:
        """The source frame under the playhead, uint8 [H, W, 3], or None before it decoded."""
        ...

    @property
    def video_key(self) -> str:
        """The engine's key of the video the session shows (what requests must carry)."""
        ...

    def deliver(self, message: object) -> None:
        """Hand an engine message (from any thread) to the GUI thread's handlers."""
        ...

    def on_message(self, kind: type[M], handler: Callable[[M], None]) -> None:
        """Call ``handler(message)`` on the GUI thread for every engine message of type ``kind``."""
        ...

    def add_strip(self, widget: QWidget) -> None:
        """Put ``widget`` under the timeline, across the window (a curve over the video)."""
        ...

    def on_pane_click(self, owner: str, handler: Callable[[float, float, str], None]) -> None:
        """Call ``handler(x, y, pane_key)`` for clicks on panes (source-frame pixels) while
        ``owner`` is the click tool (see :meth:`claim_clicks`); the first registered is the default."""
        ...

    def claim_clicks(self, owner: str, on: bool) -> None:
        """Make ``owner`` the click tool (``on``) or give clicks back to the one before."""
        ...

    def set_panes(self, owner: str, panes: Sequence[Pane]) -> None:
        """Show ``panes`` as ``owner``'s group (after the frame pane, in feature order)."""
        ...

    def add_dock(self, dock: QDockWidget, area: Qt.DockWidgetArea = ..., tab: bool = True) -> None:
        """Dock ``dock`` (tabbed with the Settings dock when ``tab``)."""
        ...

    def menu(self, title: str) -> QMenu:
        """The top-level menu ``title`` ("&File", "&View", or a feature's own), made if new."""
        ...

    def file_menu_slot(self) -> Any:
        """The File menu action before which features insert their file actions (Quit's separator)."""
        ...

    def show_error(self, text: str, source: str = "") -> None:
        """A clear message at the top of the window; nothing else changes."""
        ...

    def clear_error(self, source: str) -> None:
        """Take back the message ``source`` showed (what failed works now)."""
        ...

    def show_status(self, text: str, msec: int = 0) -> None:
        """A line in the status bar (for ``msec`` ms; 0: until replaced)."""
        ...

    def stop_playback(self) -> None: ...

    def fit_view(self) -> None:
        """Fit the whole frame in every pane (and keep fitting until the user zooms)."""
        ...

    def settings_folder(self) -> Path | None:
        """The folder of the settings file (features keep their data beside it), or None."""
        ...

    def export_folder(self) -> Path:
        """Where export dialogs start: the last export's folder, else the video's folder."""
        ...

    def remember_export(self, path: Path) -> None:
        """An export was written to ``path`` (the next dialog starts in its folder)."""
        ...


class Feature(Protocol):
    """A feature package's controller, as the window sees it."""

    def save_state(self) -> None:
        """The window closes: keep settings and work."""
        ...

    def shutdown(self, timeout: float) -> None:
        """Stop background work (called after :meth:`save_state`)."""
        ...
