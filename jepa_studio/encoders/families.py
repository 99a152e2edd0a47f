"""The registry of encoder families (see :mod:`.family`): the loader, :func:`~.registry.load_encoder`
and masked prediction find a family here by name, by ``config.json`` model type, or by model.

To add a family, write a module defining its :class:`~.family.EncoderFamily` objects in a
``FAMILIES`` tuple and name the module in :data:`FAMILY_MODULES`.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from ..errors import EncoderError
from .family import EncoderFamily

#: the modules that define families, one line each (their order is the order of listings)
FAMILY_MODULES = (
    "vjepa2",
    "dino",
    "vision_backbones",
)

FAMILIES: dict[str, EncoderFamily] = {
    family.name: family for module in FAMILY_MODULES for family in import_module(f".{module}", __package__).FAMILIES
}

_BY_MODEL_TYPE: dict[str, EncoderFamily] = {t: f for f in FAMILIES.values() for t in f.model_types}


def supported_model_types() -> list[str]:
    """Every ``config.json`` model type an encoder family reads."""
    return list(_BY_MODEL_TYPE)


def family_named(name: str) -> EncoderFamily:
    """The family called ``name`` (``"vjepa2"``, ``"dinov2"``, ``"vit"`` ...)."""
    try:
        return FAMILIES[name]
    except KeyError:
        raise EncoderError(f"no encoder family {name!r}; known: {', '.join(FAMILIES)}") from None


def family_for_model_type(model_type: str) -> EncoderFamily | None:
    """The family reading ``config.json`` files of this ``model_type``, else None."""
    return _BY_MODEL_TYPE.get(str(model_type))


def family_of_model(model: Any) -> EncoderFamily | None:
    """The family of a transformers model (from ``model.config.model_type``), else None."""
    return family_for_model_type(getattr(getattr(model, "config", None), "model_type", ""))
