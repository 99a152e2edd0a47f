"""Keep Ray's C++ log lines off the terminal.

Ray's core (in this process) writes its error-level log lines straight to file
descriptor 2, whatever Python's logging says, e.g. a notice for every actor pool it
starts; they are also in Ray's session log files (``/tmp/ray/session_latest/logs``).
:func:`drop_ray_log_lines` routes descriptor 2 through a pipe for the duration of a run and
passes on everything except such lines, so progress bars and our own one-line messages
are all that reach the terminal.
"""

from __future__ import annotations

import os
import re
import threading
from contextlib import contextmanager
from typing import Iterator

#: ``[2026-11-30 10:15:00,429 E 6463 6463] core_worker.cc:2465: ...``
RAY_LOG_LINE = re.compile(rb"^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} [DIWEF] \d+ \d+\] ")
_PREFIX = re.compile(rb"^\[[\d\- :,]*$")  # the start of such a line, still incomplete


def _pump(read_fd: int, write_fd: int) -> None:
    """Copy ``read_fd`` to ``write_fd`` until EOF, dropping Ray log lines (partial lines pass at once)."""
    pending = b""
    while True:
        chunk = os.read(read_fd, 65536)
        if not chunk:
            break
        pending += chunk
        out = []
        *lines, pending = pending.split(b"\n")
        out += [line + b"\n" for line in lines if not RAY_LOG_LINE.match(line)]
        if pending and not (RAY_LOG_LINE.match(pending) or _PREFIX.match(pending)):
            out.append(pending)  # a progress bar's "\r..." update: no newline is coming
            pending = b""
        if out:
            os.write(write_fd, b"".join(out))
    if pending and not RAY_LOG_LINE.match(pending):
        os.write(write_fd, pending)


@contextmanager
def drop_ray_log_lines() -> Iterator[None]:
    """Within the block, lines Ray's core writes to stderr are dropped; all else passes through.

    Start Ray before the block: processes started inside it would inherit the pipe.
    """
    import sys

    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no usable descriptor 2 (embedded interpreters)
        yield
        return
    read_fd, write_fd = os.pipe()
    os.dup2(write_fd, 2)
    os.close(write_fd)
    pump = threading.Thread(target=_pump, args=(read_fd, saved), name="jepa-stderr-filter", daemon=True)
    pump.start()
    try:
        yield
    finally:
        try:
            sys.stderr.flush()
        except (OSError, ValueError):
            pass
        os.dup2(saved, 2)  # closes the pipe's last write end: the pump sees EOF
        pump.join(timeout=5)
        if not pump.is_alive():  # else a child process still holds the pipe: leave it be
            os.close(read_fd)
            os.close(saved)
