"""Progress of a dataset run on stderr: a bar over videos and a counter of frames."""

from __future__ import annotations

import sys
from types import TracebackType
from typing import Any


class DatasetProgress:
    """Two tqdm bars (videos, with their statuses; frames encoded, with the rate), or nothing.

    Parameters
    ----------
    videos: how many videos the run covers.
    settled: videos already counted, by status (skipped, failed before starting).
    enabled: False draws nothing (the Python API's default).
    """

    def __init__(self, videos: int, settled: dict[str, int] | None = None, *, enabled: bool = True,
                 engine: str = "local") -> None:
        self.counts = {"done": 0, "skipped": 0, "failed": 0, **(settled or {})}
        done = sum(self.counts.values())
        self._bars: list[Any] = []
        if enabled:
            from tqdm import tqdm

            common: dict[str, Any] = dict(file=sys.stderr, leave=False, dynamic_ncols=True, mininterval=0.5, disable=None)
            self._videos = tqdm(total=videos, initial=done, desc=f"extract ({engine})", unit="video", position=0, **common)
            self._frames = tqdm(desc="frames", unit="frame", position=1, **common)
            self._bars = [self._videos, self._frames]

    def frames(self, n: int) -> None:
        """``n`` more frames encoded."""
        if self._bars and n:
            self._frames.update(n)

    def video(self, status: str) -> None:
        """One more video finished with ``status`` (done, skipped, failed)."""
        self.counts[status] = self.counts.get(status, 0) + 1
        if self._bars:
            self._videos.set_postfix_str(", ".join(f"{v} {k}" for k, v in self.counts.items() if v), refresh=False)
            self._videos.update(1)

    def close(self) -> None:
        for bar in self._bars:
            bar.close()
        self._bars = []

    def __enter__(self) -> "DatasetProgress":
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None) -> None:
        self.close()
