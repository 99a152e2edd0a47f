"""The encoder-family seam: everything JEPA Studio knows about one kind of transformers encoder.

An :class:`EncoderFamily` says which ``config.json`` model types it reads, which
transformers classes build it, how many frames a token covers, how frames are
preprocessed (from the model config, overridden by the checkpoint's processor config),
which window sizes are allowed, which weights a checkpoint may lack, and how to wrap a
loaded model into an :class:`~.base.Encoder`. :class:`~.image_encoder.ImageFamily` fills most of that in
for image vision transformers whose output is a few prefix tokens (CLS, registers,
distillation) followed by the patch tokens.

Adding a family is one module defining its family object(s) in a ``FAMILIES`` tuple, plus
one line in :mod:`.families` naming that module; :func:`~.registry.load_encoder`, the
loader (:mod:`.loading`) and masked prediction (:mod:`.predictor`) read the registry.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Callable, Mapping

import torch

from ..errors import EncoderError
from .preprocess import IMAGENET_MEAN, IMAGENET_STD, Preprocessing

if TYPE_CHECKING:
    from .base import Encoder
    from .predictor import TokenPredictor

#: transformers' ``resample`` codes (PIL's) -> our interpolation names
_RESAMPLE = {2: "bilinear", 3: "bicubic"}
#: mean / std of the processors that scale pixels to [-1, 1] (ViT, SigLIP)
HALF = (0.5, 0.5, 0.5)


def resize_preprocessing(
    size: int,
    mean: tuple[float, float, float] = IMAGENET_MEAN,
    std: tuple[float, float, float] = IMAGENET_STD,
    interpolation: str = "bilinear",
) -> Preprocessing:
    """A checkpoint processor that resizes to ``size`` x ``size`` pixels, as "crop" preprocessing.

    We keep the aspect and take the centre square instead of squashing the frame: identical on
    square frames, and it keeps the geometry on others.
    """
    return Preprocessing(mode="crop", short_side=int(size), crop_size=int(size), mean=mean, std=std,
                         interpolation=interpolation)  # type: ignore[arg-type]


def apply_processor(base: Preprocessing, processor: Mapping[str, Any]) -> Preprocessing:
    """``base`` with the sizes, mean / std and resampling of a checkpoint's (video_)preprocessor_config.json."""
    if not processor:
        return base
    mean = tuple(float(v) for v in processor.get("image_mean", base.mean))
    std = tuple(float(v) for v in processor.get("image_std", base.std))
    interp = _RESAMPLE.get(int(processor.get("resample", 0) or 0), base.interpolation)
    size, crop = processor.get("size") or {}, processor.get("crop_size")
    crop_px = crop.get("height") if isinstance(crop, dict) else crop
    short = size.get("shortest_edge") or size.get("height") if isinstance(size, dict) else size
    if not processor.get("do_center_crop", crop_px is not None):
        crop_px = short
    return replace(base, mean=mean, std=std, interpolation=interp,  # type: ignore[arg-type]
                   short_side=int(short or base.short_side), crop_size=int(crop_px or base.crop_size or short))


def full_frame(trained: Preprocessing) -> Preprocessing:
    """The default preprocessing: the whole frame, aspect kept, short side at the trained size."""
    return replace(trained, mode="full", short_side=trained.crop_size or trained.short_side, crop_size=None)


def config_value(config: Any, key: str, default: Any = None) -> Any:
    """``config[key]`` of a config dict or attribute of a transformers config object."""
    if isinstance(config, Mapping):
        return config.get(key, default)
    return getattr(config, key, default)


@dataclass(frozen=True)
class EncoderFamily:
    """One kind of transformers encoder (the defaults fit an image encoder).

    Attributes
    ----------
    name: the family's name (``"vjepa2"``, ``"dinov2"``, ``"vit"`` ...): the encoder name of
        checkpoints outside the registry of known checkpoints.
    model_types: the ``model_type`` values of ``config.json`` that this family reads.
    model_class_name, config_class_name: the transformers classes that build it.
    title: the family's name in messages (``"V-JEPA 2"``).
    tubelet_size: frames per token in time.
    default_window: frames per forward pass when the user does not say.
    window_memory_gb: rough working memory of one 16-frame, 256 px window (GiB).
    optional_weights: weight-name prefixes a checkpoint may lack (a part the encoder does not
        need, such as a pooler or a predictor); any other missing weight refuses the checkpoint.
    trained_size: the model config -> the checkpoint's own preprocessing ("crop" mode), used
        when the checkpoint has no processor config.
    has_predictor: the family can predict hidden tokens (see :mod:`.predictor`).
    """

    name: str
    model_types: tuple[str, ...]
    model_class_name: str
    config_class_name: str
    title: str = ""
    tubelet_size: int = 1
    default_window: int = 16
    window_memory_gb: float = 0.5
    optional_weights: tuple[str, ...] = ()
    trained_size: Callable[[Mapping[str, Any]], Preprocessing] = field(
        default=lambda config: resize_preprocessing(int(config.get("image_size", 224))), repr=False
    )
    has_predictor: bool = False

    # ---- transformers classes and configs

    def model_class(self) -> type:
        """The transformers model class."""
        import transformers

        return getattr(transformers, self.model_class_name)

    def config_class(self) -> type:
        """The transformers config class."""
        import transformers

        return getattr(transformers, self.config_class_name)

    def encoder_config(self, config: Mapping[str, Any]) -> dict[str, Any]:
        """The part of a ``config.json`` that describes the encoder (all of it, by default)."""
        return dict(config)

    # ---- preprocessing, windows

    def preprocessing(self, config: Mapping[str, Any], processor: Mapping[str, Any]) -> tuple[Preprocessing, Preprocessing]:
        """(default, trained) preprocessing of a checkpoint from its config and processor config.

        trained: the checkpoint's own resize + centre crop + mean/std ("crop" mode);
        default: the whole frame at the trained size ("full" mode).
        """
        trained = apply_processor(self.trained_size(self.encoder_config(config)), processor)
        return full_frame(trained), trained

    def check_window(self, window: int | None) -> None:
        """Refuse a bad window before any model is built (building can take minutes)."""
        k = self.tubelet_size
        if window is not None and (window < 1 or window % k):
            kind = "" if k == 1 else " even" if k == 2 else f" multiple-of-{k}"
            raise EncoderError(f"window must be a positive{kind} number of frames, not {window}")

    # ---- loading

    def accept_missing(self, model: torch.nn.Module, missing: list[str]) -> list[str]:
        """Drop the optional parts whose weights are ``missing`` from ``model`` (so nothing
        random is left in it); return the missing weights that are not optional."""
        fatal = []
        dropped: set[str] = set()
        for key in missing:
            prefix = next((p for p in self.optional_weights if key.startswith(p)), None)
            if prefix is None:
                fatal.append(key)
            elif prefix not in dropped:
                dropped.add(prefix)
                self.drop_part(model, prefix)
        return fatal

    def drop_part(self, model: torch.nn.Module, prefix: str) -> None:
        """Remove the submodule named by ``prefix`` (``"pooler."`` -> ``model.pooler = None``)."""
        *path, last = prefix.rstrip(".").split(".")
        owner = model
        for part in path:
            owner = getattr(owner, part)
        setattr(owner, last, None)

    def make_encoder(self, model: torch.nn.Module, *, window: int | None = None, **settings: Any) -> "Encoder":
        """Wrap a loaded model; ``settings`` are :class:`~.transformers_base.TransformersEncoder`'s."""
        raise NotImplementedError

    def token_predictor(self, model: torch.nn.Module) -> "TokenPredictor | None":
        """The family's masked encoding and prediction for ``model``; None when the model lacks
        its predictor (the checkpoint held no predictor weights). Only when ``has_predictor``."""
        return None
