"""The thin Qt bridge: engine messages from worker threads to the GUI thread."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal


class EngineBridge(QObject):
    """``deliver(message)`` may be called from any thread; ``delivered`` fires on the GUI thread.

    Pass :meth:`deliver` to :class:`~jepa_studio.engine.StudioEngine`; connect
    ``delivered`` to a slot of a widget (a queued connection, since the signal is emitted
    from a worker thread and the bridge lives on the GUI thread).
    """

    delivered = Signal(object)

    def deliver(self, message: object) -> None:
        self.delivered.emit(message)
