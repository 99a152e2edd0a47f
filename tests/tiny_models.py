"""Tiny randomly initialised transformers encoders for tests, built from the real config
classes (the hub is never reached) and saved with ``save_pretrained``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

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
    # generic backbones (jepa_studio/encoders/vision_backbones.py): 32 px images, 16 px patches
    **{family: dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2, patch_size=16,
                    image_size=32) for family in ("vit", "deit", "ijepa", "siglip")},
}


def make_model(family: str, **overrides: Any) -> torch.nn.Module:
    """A tiny transformers model of ``family`` with seeded random weights."""
    from jepa_studio.encoders.loading import config_class, model_class

    torch.manual_seed(0)
    config = config_class(family)(**{**TINY[family], **overrides})
    return model_class(family)(config).eval()


def save_tiny_model(family: str, folder: Path, marker: bool = True, **overrides: Any) -> Path:
    """Save a tiny ``family`` model to ``folder``; with ``marker`` its config says its weights are random."""
    model = make_model(family, **overrides)
    if marker:
        model.config.jepa_studio_random_init = True
    model.save_pretrained(folder)
    return folder
