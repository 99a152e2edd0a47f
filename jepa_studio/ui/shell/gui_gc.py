"""Garbage collection on the GUI thread only.

Python's cyclic garbage collector runs in whichever thread happens to allocate when a
threshold is crossed. With encoders, training and decoding on worker threads, that can
be a worker, and collecting a cycle that holds a Qt object there deletes it off the GUI
thread: Qt then aborts or deadlocks (seen as rare crashes and hangs). So once a window
exists, automatic collection is switched off and a timer on the GUI thread collects
instead (pyqtgraph's GarbageCollector, which does exactly this).
"""

from __future__ import annotations

_collector = None


def collect_on_gui_thread(interval_s: float = 1.0) -> None:
    """Start collecting on a GUI-thread timer (once per process; call on the GUI thread)."""
    global _collector
    if _collector is None:
        from pyqtgraph.util.garbage_collector import GarbageCollector

        _collector = GarbageCollector(interval=interval_s)
