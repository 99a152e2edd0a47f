"""What the engine tests share: the generated clip and a collector of delivered messages."""

from __future__ import annotations

import threading

import numpy as np

TIMEOUT = 10.0


def moving_square_frames(n: int = 20, height: int = 64, width: int = 96) -> np.ndarray:
    """uint8 [n, H, W, 3]: a textured background with a bright square moving right."""
    rng = np.random.default_rng(0)
    background = rng.integers(0, 120, size=(height, width, 3), dtype=np.uint8)
    frames = np.repeat(background[None], n, axis=0)
    for t in range(n):
        x = 4 + 3 * t
        frames[t, 20:40, x : x + 20] = (240, 200, 40)
    return frames


class Inbox:
    """Collects delivered messages; ``wait_for(kind)`` blocks until one of ``kind`` arrives."""

    def __init__(self) -> None:
        self.messages: list[object] = []
        self.cond = threading.Condition()

    def __call__(self, message: object) -> None:
        with self.cond:
            self.messages.append(message)
            self.cond.notify_all()

    def of(self, kind: type) -> list:
        with self.cond:
            return [m for m in self.messages if isinstance(m, kind)]

    def wait_for(self, kind: type, count: int = 1) -> list:
        with self.cond:
            assert self.cond.wait_for(lambda: len([m for m in self.messages if isinstance(m, kind)]) >= count, TIMEOUT)
        return self.of(kind)
