"""Names of encoders and how to load them.

``load_encoder(name_or_path)`` takes a registry name (``pixels``, ``vjepa2-vitl`` ...), a
hub id (``facebook/dinov2-small``), or a local folder saved with ``save_pretrained`` (the
model type is read from its ``config.json``). :data:`CHECKPOINTS` lists the known
checkpoints with their size and memory needs, so the GUI can offer them.

Labels say what is known about the weights (``weights_note``): ``"pretrained (HUB_ID)"``
for a checkpoint of :data:`CHECKPOINTS` read from the hub (or its cache), ``"weights from
SOURCE"`` for a folder or another hub id, and ``"random weights"`` (``pretrained=False``)
when ``random_weights=True`` built it here or its config.json carries
``"jepa_studio_random_init": true`` (see :mod:`.loading`).

Families: what differs between V-JEPA 2, DINO and the other backbones lives in their
:class:`~.family.EncoderFamily` objects (:mod:`.families`); this module only names
checkpoints and puts the pieces together.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal, Mapping

import torch

from ..errors import EncoderError
from .base import Encoder, Layer, RANDOM_WEIGHTS, pretrained_note, weights_from_note
from .device import pick_device, pick_dtype
from .dino import DINOV2_PREP, DINOV3_PREP
from .families import family_named
from .loading import ResolvedCheckpoint, build_model, is_hub_id, resolve_checkpoint
from .pixels import PixelEncoder
from .preprocess import Preprocessing
from .transformers_base import resolve_layer
from .vjepa2 import trained_preprocessing as vjepa2_preprocessing

PIXEL_ENCODERS = {"pixels": 1, "pixels-tubelet": 2}

#: mean / std of DINOv3's satellite (SAT-493M) checkpoints
SAT493M_MEAN = (0.430, 0.411, 0.296)
SAT493M_STD = (0.213, 0.156, 0.143)


@dataclass(frozen=True)
class CheckpointInfo:
    """One known checkpoint.

    Attributes
    ----------
    name: registry name (``vjepa2-vitl``).
    family: the name of its encoder family (:mod:`.families`).
    hub_id: Hugging Face hub id.
    params_m: parameters in millions (the whole checkpoint; V-JEPA 2 includes its predictor).
    patch_size, tubelet_size: pixels per token side; frames per token.
    gated: the hub asks users to accept a licence and log in before downloading.
    memory_gb_fp16, memory_gb_fp32: rough GPU memory to run it on one 16-frame, 256 px
        window (weights plus working memory), in GiB.
    preprocessing: the default (full frame, aspect kept, at the trained resolution).
    trained_preprocessing: the checkpoint's own resize, centre crop and mean/std.
    hyper: hyper-parameters of the transformers config, to build the architecture with
        random weights without the hub.
    """

    name: str
    family: str
    hub_id: str
    params_m: float
    patch_size: int
    tubelet_size: int
    gated: bool
    memory_gb_fp16: float
    memory_gb_fp32: float
    preprocessing: Preprocessing
    trained_preprocessing: Preprocessing
    hyper: Mapping[str, Any] = field(repr=False, default_factory=dict)
    description: str = ""


def _memory_gb(params_m: float, bytes_per: int, family: str) -> float:
    working = family_named(family).window_memory_gb  # activations of one window, CUDA context
    return round(params_m * 1e6 * bytes_per / 2**30 * 1.15 + working, 2)


def _info(name: str, family: str, hub_id: str, params_m: float, trained: Preprocessing, hyper: dict[str, Any],
          description: str, *, gated: bool = False) -> CheckpointInfo:
    patch = int(hyper.get("patch_size", 16))
    size = trained.crop_size or trained.short_side
    return CheckpointInfo(
        name=name,
        family=family,
        hub_id=hub_id,
        params_m=params_m,
        patch_size=patch,
        tubelet_size=family_named(family).tubelet_size,
        gated=gated,
        memory_gb_fp16=_memory_gb(params_m, 2, family),
        memory_gb_fp32=_memory_gb(params_m, 4, family),
        preprocessing=replace(trained, mode="full", short_side=size, crop_size=None),
        trained_preprocessing=trained,
        hyper=MappingProxyType(dict(hyper)),
        description=description,
    )


_DINOV3_SAT_PREP = replace(DINOV3_PREP, mean=SAT493M_MEAN, std=SAT493M_STD)


def _vjepa2(name: str, size: str, crop: int, hidden: int, layers: int, heads: int, mlp: float, params: float) -> CheckpointInfo:
    hyper = dict(hidden_size=hidden, num_hidden_layers=layers, num_attention_heads=heads, mlp_ratio=mlp,
                 crop_size=crop, frames_per_clip=64, patch_size=16, tubelet_size=2, pred_hidden_size=384,
                 pred_num_hidden_layers=12, pred_num_attention_heads=12, pred_num_mask_tokens=10)
    return _info(name, "vjepa2", f"facebook/vjepa2-{size}-fpc64-{crop}", params, vjepa2_preprocessing(crop), hyper,
                 f"V-JEPA 2 {size.upper()} video encoder (+ predictor), {crop} px")


def _dinov2(size: str, hidden: int, layers: int, heads: int, params: float, registers: bool) -> CheckpointInfo:
    hyper: dict[str, Any] = dict(hidden_size=hidden, num_hidden_layers=layers, num_attention_heads=heads,
                                 mlp_ratio=4, patch_size=14, image_size=518, layerscale_value=1.0,
                                 use_swiglu_ffn=size == "giant")
    if registers:
        hyper["num_register_tokens"] = 4
        return _info(f"dinov2-reg-{size}", "dinov2-reg", f"facebook/dinov2-with-registers-{size}", params,
                     DINOV2_PREP, hyper, f"DINOv2 {size} with 4 registers, patch 14")
    return _info(f"dinov2-{size}", "dinov2", f"facebook/dinov2-{size}", params, DINOV2_PREP, hyper,
                 f"DINOv2 {size}, patch 14")


def _dinov3(size: str, hidden: int, layers: int, heads: int, inter: int, gated_mlp: bool, params: float,
            sat: bool = False) -> CheckpointInfo:
    hyper = dict(hidden_size=hidden, num_hidden_layers=layers, num_attention_heads=heads, intermediate_size=inter,
                 use_gated_mlp=gated_mlp, patch_size=16, num_register_tokens=4, image_size=224,
                 layerscale_value=1.0, rope_theta=100.0, key_bias=False)
    data = "sat493m" if sat else "lvd1689m"
    name = f"dinov3-{size}" + ("-sat" if sat else "")
    what = "satellite images (SAT-493M)" if sat else "web images (LVD-1689M)"
    return _info(name, "dinov3", f"facebook/dinov3-{size}-pretrain-{data}", params,
                 _DINOV3_SAT_PREP if sat else DINOV3_PREP, hyper, f"DINOv3 {size} trained on {what}",
                 gated=True)


CHECKPOINTS: dict[str, CheckpointInfo] = {
    info.name: info
    for info in (
        _vjepa2("vjepa2-vitl", "vitl", 256, 1024, 24, 16, 4.0, 326),
        _vjepa2("vjepa2-vith", "vith", 256, 1280, 32, 16, 4.0, 654),
        _vjepa2("vjepa2-vitg", "vitg", 256, 1408, 40, 22, 48 / 11, 1034),
        _vjepa2("vjepa2-vitg-384", "vitg", 384, 1408, 40, 22, 48 / 11, 1034),
        _dinov2("small", 384, 12, 6, 22, False),
        _dinov2("base", 768, 12, 12, 87, False),
        _dinov2("large", 1024, 24, 16, 304, False),
        _dinov2("giant", 1536, 40, 24, 1137, False),
        _dinov2("small", 384, 12, 6, 22, True),
        _dinov2("base", 768, 12, 12, 87, True),
        _dinov2("large", 1024, 24, 16, 304, True),
        _dinov2("giant", 1536, 40, 24, 1137, True),
        _dinov3("vits16", 384, 12, 6, 1536, False, 22),
        _dinov3("vits16plus", 384, 12, 6, 1536, True, 29),
        _dinov3("vitb16", 768, 12, 12, 3072, False, 86),
        _dinov3("vitl16", 1024, 24, 16, 4096, False, 303),
        _dinov3("vith16plus", 1280, 32, 20, 5120, True, 841),
        _dinov3("vit7b16", 4096, 40, 32, 8192, True, 6716),
        _dinov3("vitl16", 1024, 24, 16, 4096, False, 303, sat=True),
        _dinov3("vit7b16", 4096, 40, 32, 8192, True, 6716, sat=True),
    )
}

_BY_HUB_ID = {info.hub_id.lower(): info for info in CHECKPOINTS.values()}


def list_encoders() -> list[str]:
    """Every registry name: the pixel baselines, then the checkpoints of :data:`CHECKPOINTS`."""
    return [*PIXEL_ENCODERS, *CHECKPOINTS]


def find_checkpoint(name_or_hub_id: str) -> CheckpointInfo | None:
    """The :class:`CheckpointInfo` named by a registry name or hub id, else None."""
    return CHECKPOINTS.get(name_or_hub_id) or _BY_HUB_ID.get(name_or_hub_id.lower())


def _mode_preprocessing(default: Preprocessing, trained: Preprocessing, patch: int,
                        mode: Literal["full", "crop"], resolution: int | None) -> Preprocessing:
    if mode == "full":
        return default if resolution is None else replace(default, short_side=int(resolution))
    if resolution is None:
        return trained
    crop = max(patch, int(resolution) // patch * patch)
    ratio = trained.short_side / (trained.crop_size or trained.short_side)
    return replace(trained, short_side=int(round(crop * ratio)), crop_size=crop)


def _folder_preprocessing(resolved: ResolvedCheckpoint, info: CheckpointInfo | None) -> tuple[Preprocessing, Preprocessing]:
    """(default, trained) preprocessing of a checkpoint: the registry's, else its family's from
    its config and processor config."""
    if info is not None and not resolved.processor:
        return info.preprocessing, info.trained_preprocessing
    return family_named(resolved.family).preprocessing(resolved.config, resolved.processor)


def _check_layer(layer: Layer, final_norm: bool, config: Any, family: str, name: str) -> None:
    """Refuse a layer the model does not have before it is built (building can take minutes)."""
    if layer == "last" and final_norm:
        return
    fam = family_named(family)
    if isinstance(config, Mapping):  # config.json may leave out values equal to the class defaults
        config = fam.config_class().from_dict(fam.encoder_config(config))
    resolve_layer(layer, int(config.num_hidden_layers), name)


def _pixel_encoder(name: str, device: torch.device | str | None, preprocessing: Preprocessing | str | None,
                   resolution: int | None, layer: Layer, final_norm: bool) -> Encoder:
    if layer != "last" or not final_norm:
        raise EncoderError(f"{name} has no layers or final norm to choose: it is raw pixels")
    if isinstance(preprocessing, str):
        preprocessing = Preprocessing(mode=preprocessing)  # type: ignore[arg-type]
    if resolution is not None:
        preprocessing = replace(preprocessing or Preprocessing(), short_side=int(resolution))
    dev = pick_device(device) if device is not None else torch.device("cpu")
    return PixelEncoder(PIXEL_ENCODERS[name], preprocessing=preprocessing, device=dev)


def _unknown_name(name_or_path: str) -> EncoderError:
    if name_or_path.startswith((".", "~", "/")) or "\\" in name_or_path or name_or_path.count("/") > 1:
        return EncoderError(
            f"no such folder: {name_or_path}; pass a folder saved with model.save_pretrained(folder), "
            f"a registry name such as vjepa2-vitl, or a hub id"
        )
    close = difflib.get_close_matches(name_or_path, list_encoders(), n=3, cutoff=0.5)
    hint = f" (did you mean {', '.join(close)}?)" if close else ""
    return EncoderError(
        f"unknown encoder {name_or_path!r}{hint}; use a name from `jepa-studio extract --list-encoders` "
        f"({', '.join(list_encoders()[:6])}, ...), a Hugging Face hub id, or a folder saved with save_pretrained"
    )


def load_encoder(
    name_or_path: str,
    device: torch.device | str | None = None,
    dtype: torch.dtype | str | None = None,
    preprocessing: Preprocessing | Literal["full", "crop"] | None = None,
    *,
    random_weights: bool = False,
    resolution: int | None = None,
    window: int | None = None,
    layer: Layer = "last",
    final_norm: bool = True,
) -> Encoder:
    """Load an encoder by registry name, hub id or local folder.

    Parameters
    ----------
    name_or_path:
        ``pixels``, ``pixels-tubelet``, a name of :data:`CHECKPOINTS`, a hub id, or a folder
        saved with ``save_pretrained`` (any model type of :mod:`.families`: V-JEPA 2, DINOv2,
        DINOv3, ViT, DeiT, I-JEPA, SigLIP).
    device, dtype:
        default: CUDA, else MPS, else CPU; bf16/fp16 on a GPU, fp32 on the CPU
        (see :mod:`.device`). The pixel baselines default to the CPU.
    preprocessing:
        a :class:`Preprocessing`, or ``"full"`` (default: whole frame, aspect kept, at
        the checkpoint's trained resolution) or ``"crop"`` (the checkpoint's own
        resize + centre crop + mean/std).
    random_weights:
        build the architecture with freshly initialised weights (labelled "random
        weights"). Registry names need no hub for this; other names need a config.
    resolution:
        short side in pixels (full mode) or crop size (crop mode); overrides the default.
    window:
        frames per forward pass (V-JEPA 2: even, default 16; image encoders: batch size, default 16).
    layer:
        which block's output the tokens are: ``"last"`` (default), or an index into the
        model's ``hidden_states`` (0: patch embeddings, i: block i; negative from the end).
    final_norm:
        apply the model's final norm to that output (default True; False gives the raw
        residual stream, e.g. DINOv3's last block before its norm).

    Raises
    ------
    EncoderError
        Unknown name, missing / gated / offline weights, a folder without a model, a bad
        window or layer.
    """
    if name_or_path in PIXEL_ENCODERS:
        return _pixel_encoder(name_or_path, device, preprocessing, resolution, layer, final_norm)

    info = find_checkpoint(name_or_path)
    path = Path(name_or_path).expanduser()
    if info is None and not path.exists() and not is_hub_id(name_or_path):
        raise _unknown_name(name_or_path)

    dev = pick_device(device)
    dt = pick_dtype(dev, dtype)
    if random_weights and info is not None and not path.exists():
        # The real architecture from known hyper-parameters: no hub needed.
        family, checkpoint, note, config = info.family, info.hub_id, RANDOM_WEIGHTS, dict(info.hyper)
        folder = None
        default, trained = info.preprocessing, info.trained_preprocessing
        name = info.name
    else:
        ref = str(path) if path.exists() else (info.hub_id if info is not None else name_or_path)
        resolved = resolve_checkpoint(ref, need_weights=not random_weights)
        if info is None:
            info = find_checkpoint(ref)
        family, folder = resolved.family, resolved.folder
        known = info is not None and not path.exists()
        checkpoint = info.hub_id if known else name_or_path
        if random_weights or resolved.random_init:
            note = RANDOM_WEIGHTS
        else:
            note = pretrained_note(checkpoint) if known else weights_from_note(checkpoint)
        config = family_named(family).config_class().from_pretrained(str(folder)) if random_weights else resolved.config
        default, trained = _folder_preprocessing(resolved, info)
        name = info.name if info is not None else family
    fam = family_named(family)
    fam.check_window(window)
    _check_layer(layer, final_norm, config, family, name)
    model = build_model(family, config, folder=folder, random_weights=random_weights, dtype=dt, device=dev)
    patch = int(getattr(model.config, "patch_size", 16))

    if preprocessing is None or isinstance(preprocessing, str):
        prep = _mode_preprocessing(default, trained, patch, preprocessing or "full", resolution)  # type: ignore[arg-type]
    else:
        prep = preprocessing if resolution is None else replace(preprocessing, short_side=int(resolution))
    return fam.make_encoder(
        model, window=window, name=name, checkpoint=checkpoint, pretrained=note != RANDOM_WEIGHTS, weights_note=note,
        device=dev, dtype=dt, preprocessing=prep, trained_preprocessing=trained, layer=layer, final_norm=final_norm,
    )
