"""Generic Hugging Face image backbones, named by hub id or folder like the others.

- plain ViT (``ViTModel``, model type ``vit``; e.g. ``google/vit-base-patch16-224-in21k``):
  CLS then patches; a checkpoint saved without the pooler (from ``ViTForImageClassification``)
  loads with the pooler left out;
- DeiT (``DeiTModel``, ``deit``; e.g. ``facebook/deit-base-distilled-patch16-224``): CLS and
  distillation token, then patches;
- I-JEPA (``IJepaModel``, ``ijepa``; e.g. ``facebook/ijepa_vith14_1k``): patches only;
- SigLIP and fixed-resolution SigLIP 2 vision towers (``SiglipVisionModel``; a full
  ``siglip`` checkpoint such as ``google/siglip2-base-patch16-224`` is read for its
  ``vision_config`` and vision weights, the text tower is ignored): patches only.

Their position tables have a fixed size, so the forward pass interpolates them
(``interpolate_pos_encoding=True``) for other input sizes (full frame, aspect kept).
Preprocessing defaults follow each model's transformers image processor; a checkpoint's
own processor config, when present, overrides them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from .family import HALF, resize_preprocessing
from .image_encoder import ImageFamily
from .preprocess import IMAGENET_MEAN, IMAGENET_STD

INTERPOLATE = {"interpolate_pos_encoding": True}


@dataclass(frozen=True)
class SiglipFamily(ImageFamily):
    """SigLIP: a full (image + text) config is read for its vision tower."""

    def encoder_config(self, config: Mapping[str, Any]) -> dict[str, Any]:
        if config.get("model_type") == "siglip":
            return dict(config.get("vision_config") or {})
        return dict(config)


VIT = ImageFamily(
    name="vit", model_types=("vit",), model_class_name="ViTModel", config_class_name="ViTConfig", title="ViT",
    optional_weights=("pooler.",), forward_kwargs=INTERPOLATE,
    trained_size=lambda config: resize_preprocessing(int(config.get("image_size", 224)), HALF, HALF, "bilinear"),
)
DEIT = ImageFamily(
    name="deit", model_types=("deit",), model_class_name="DeiTModel", config_class_name="DeiTConfig", title="DeiT",
    class_tokens=2, optional_weights=("pooler.",), forward_kwargs=INTERPOLATE,
    trained_size=lambda config: resize_preprocessing(int(config.get("image_size", 224)), HALF, HALF, "bicubic"),
)
IJEPA = ImageFamily(
    name="ijepa", model_types=("ijepa",), model_class_name="IJepaModel", config_class_name="IJepaConfig",
    title="I-JEPA", class_tokens=0, optional_weights=("pooler.",), forward_kwargs=INTERPOLATE,
    trained_size=lambda config: resize_preprocessing(int(config.get("image_size", 224)), IMAGENET_MEAN, IMAGENET_STD),
)
SIGLIP = SiglipFamily(
    name="siglip", model_types=("siglip", "siglip_vision_model"), model_class_name="SiglipVisionModel",
    config_class_name="SiglipVisionConfig", title="SigLIP", class_tokens=0, norm="post_layernorm",
    forward_kwargs=INTERPOLATE,
    trained_size=lambda config: resize_preprocessing(int(config.get("image_size", 224)), HALF, HALF, "bicubic"),
)

FAMILIES = (VIT, DEIT, IJEPA, SIGLIP)
