"""Tiny randomly initialised transformers encoders saved to temporary folders.

Every folder is saved with ``save_pretrained`` and carries the
``jepa_studio_random_init`` marker (their weights are random), unless a test asks
otherwise, and is loaded back through the real loading path.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np
import pytest
import torch

from tests.tiny_models import make_model, save_tiny_model


@pytest.fixture
def save_tiny(tmp_path: Path) -> Callable[..., Path]:
    """``save_tiny(family, marker=True, **config_overrides) -> folder``."""

    def save(family: str, marker: bool = True, name: str | None = None, **overrides: Any) -> Path:
        return save_tiny_model(family, tmp_path / (name or f"tiny-{family}"), marker, **overrides)

    return save


@pytest.fixture
def frames() -> Callable[..., np.ndarray]:
    """``frames(t, h, w, seed=0)`` -> uint8 [t, h, w, 3] random frames."""

    def make(t: int, h: int, w: int, seed: int = 0) -> np.ndarray:
        return np.random.default_rng(seed).integers(0, 256, (t, h, w, 3), dtype=np.uint8)

    return make


@pytest.fixture
def tiny_model() -> Callable[..., torch.nn.Module]:
    """``tiny_model(family, **config_overrides)`` -> a seeded tiny model (not saved)."""
    return make_model


@pytest.fixture(scope="module")
def one_thread() -> Iterator[None]:
    """Tiny models run fastest on one thread (and do not fight other processes for cores);
    use with ``pytestmark = pytest.mark.usefixtures("one_thread")``."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
