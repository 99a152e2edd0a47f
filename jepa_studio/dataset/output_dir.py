"""The folder a dataset run writes into: one run at a time, stale partial files cleaned first."""

from __future__ import annotations

import os
from pathlib import Path
from types import TracebackType
from typing import IO

from ..encoders.features_io import PARTIAL_SUFFIX
from ..errors import UsageError
from .manifest import MANIFEST_NAME

LOCK_NAME = ".jepa-studio-extract.lock"


class OutputDir:
    """``with OutputDir(path) as out:`` creates the folder, takes its lock, and deletes the
    partial files (``*.safetensors.part``, the manifest's) a killed run left behind.

    The lock (``flock`` on a file in the folder) makes a second run into the same folder
    stop with a clear message instead of deleting the first run's partial files.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path).expanduser().resolve()
        self.manifest = self.path / MANIFEST_NAME
        self._lock: IO[bytes] | None = None
        self.removed: list[Path] = []

    def __enter__(self) -> "OutputDir":
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            self._lock = open(self.path / LOCK_NAME, "ab")
        except OSError as error:
            raise UsageError(f"cannot write to {self.path}: {error.strerror or error}") from None
        try:
            import fcntl

            fcntl.flock(self._lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except ImportError:  # no flock on this platform: run unguarded
            pass
        except OSError:
            self._lock.close()
            self._lock = None
            raise UsageError(f"another extract is writing to {self.path}; wait for it to finish") from None
        self.removed = self.remove_partials()
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None) -> None:
        if self._lock is not None:
            self._lock.close()  # closing releases the lock
            self._lock = None

    def remove_partials(self) -> list[Path]:
        """Delete ``*.safetensors.part`` files and the manifest's temporary file under the folder."""
        removed = []
        for here, _, files in os.walk(self.path):
            for name in files:
                if name.endswith(".safetensors" + PARTIAL_SUFFIX) or name == MANIFEST_NAME + PARTIAL_SUFFIX:
                    path = Path(here) / name
                    path.unlink(missing_ok=True)
                    removed.append(path)
        return removed
