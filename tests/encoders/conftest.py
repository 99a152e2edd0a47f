"""Tiny randomly initialised transformers encoders saved to temporary folders.

Every folder is saved with ``save_pretrained`` and carries the
``jepa_studio_random_init`` marker (their weights are random), unless a test asks
otherwise, and is loaded back through the real loading path.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import numpy as np
import pytest
import torch

TINY: dict[str, dict[str, Any]] = {
    "vjepa2": dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, crop_size=32, frames_per_clip=4,
                   patch_size=16, tubelet_size=2, pred_hidden_size=32, pred_num_hidden_layers=1,
                   pred_num_attention_heads=2, mlp_ratio=2.0),
    "dinov2": dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, patch_size=14, image_size=28, mlp_ratio=2),
    "dinov2-reg": dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, patch_size=14, image_size=28,
                       mlp_ratio=2, num_register_tokens=4),
    "dinov3": dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2, patch_size=16,
                   image_size=32, num_register_tokens=4),
}


def make_model(family: str, **overrides: Any) -> torch.nn.Module:
    """A tiny transformers model of ``family`` with seeded random weights."""
    from jepa_studio.encoders.loading import config_class, model_class

    torch.manual_seed(0)
    config = config_class(family)(**{**TINY[family], **overrides})
    return model_class(family)(config).eval()


@pytest.fixture
def save_tiny(tmp_path: Path) -> Callable[..., Path]:
    """``save_tiny(family, marker=True, **config_overrides) -> folder``."""

    def save(family: str, marker: bool = True, name: str | None = None, **overrides: Any) -> Path:
        model = make_model(family, **overrides)
        if marker:
            model.config.jepa_studio_random_init = True
        folder = tmp_path / (name or f"tiny-{family}")
        model.save_pretrained(folder)
        return folder

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
