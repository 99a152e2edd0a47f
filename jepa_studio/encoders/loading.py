"""Finding a checkpoint's files: a local folder, the Hugging Face cache, or the hub.

Every failure a user can cause ends in :class:`~jepa_studio.errors.EncoderError` whose
message says what to do: log in for gated weights, connect once, pass a local folder.

Random-weights marker: a ``config.json`` holding ``"jepa_studio_random_init": true``
(:data:`RANDOM_INIT_MARKER`) describes weights that were initialised at random, not
trained. The loader labels such a checkpoint ``pretrained=False`` ("random weights"),
and JEPA Studio writes the marker whenever it saves a model it built at random. A
folder saved by ``save_pretrained`` without the marker is taken as trained weights.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from ..errors import EncoderError
from .families import family_for_model_type, family_named, supported_model_types

#: config.json field saying the weights were built at random (see module docstring)
RANDOM_INIT_MARKER = "jepa_studio_random_init"

_HUB_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*/[A-Za-z0-9][A-Za-z0-9_.\-]*$")
_WEIGHT_PATTERNS = ("*.safetensors", "*.safetensors.index.json")
_CONFIG_PATTERNS = ("config.json", "preprocessor_config.json", "video_preprocessor_config.json")
_NO_WEIGHTS_HINT = "pass a folder saved with model.save_pretrained(folder), or a hub id such as facebook/vjepa2-vitl-fpc64-256"


@dataclass(frozen=True)
class ResolvedCheckpoint:
    """A checkpoint found on disk.

    Attributes
    ----------
    source: the hub id or folder as the user named it (shown as the checkpoint).
    folder: local folder holding ``config.json`` (and weights unless ``has_weights`` is False).
    config: the parsed ``config.json``.
    family: the name of its encoder family (``"vjepa2"``, ``"dinov2"``, ``"vit"`` ...; see :mod:`.families`).
    has_weights: whether weight files are present.
    random_init: the config carries :data:`RANDOM_INIT_MARKER`.
    processor: the parsed (video_)preprocessor_config.json, or an empty dict.
    """

    source: str
    folder: Path
    config: dict[str, Any]
    family: str
    has_weights: bool
    random_init: bool
    processor: dict[str, Any]


def is_hub_id(text: str) -> bool:
    """Whether ``text`` looks like ``owner/name`` and is not an existing path."""
    return bool(_HUB_ID.match(text)) and not Path(text).expanduser().exists()


def hub_offline() -> bool:
    """Whether offline mode is on (``HF_HUB_OFFLINE`` / ``TRANSFORMERS_OFFLINE``)."""
    from huggingface_hub import constants

    flags = (os.environ.get("HF_HUB_OFFLINE", ""), os.environ.get("TRANSFORMERS_OFFLINE", ""))
    return bool(constants.HF_HUB_OFFLINE) or any(f.upper() in ("1", "ON", "YES", "TRUE") for f in flags)


def snapshot_download(*args: Any, **kwargs: Any) -> str:
    """``huggingface_hub.snapshot_download`` (a seam so tests can make it fail)."""
    import huggingface_hub

    return huggingface_hub.snapshot_download(*args, **kwargs)


def download_checkpoint(hub_id: str, *, need_weights: bool = True, cache_dir: str | Path | None = None) -> Path:
    """The local snapshot folder of ``hub_id``: from the HF cache, else downloaded.

    Only ``*.json`` configs and ``*.safetensors`` weights are fetched (never pickles).
    Respects ``HF_HOME`` / ``HF_HUB_CACHE``, ``HF_HUB_OFFLINE`` and ``HF_TOKEN``.

    Raises
    ------
    EncoderError
        Gated without access, not found, not cached while offline, hub unreachable.
    """
    from huggingface_hub import errors as hub_errors

    patterns = list(_CONFIG_PATTERNS) + (list(_WEIGHT_PATTERNS) if need_weights else [])
    page = f"https://huggingface.co/{hub_id}"
    local = "or pass a local folder that holds the checkpoint (saved with save_pretrained)"
    try:
        folder = snapshot_download(hub_id, allow_patterns=patterns, cache_dir=cache_dir)
    except hub_errors.GatedRepoError:
        raise EncoderError(
            f"{hub_id} is gated on the Hugging Face hub and this machine has no access: accept its "
            f"licence at {page}, then log in with `hf auth login` (or set HF_TOKEN to an access "
            f"token) and run again; {local}"
        ) from None
    except hub_errors.RepositoryNotFoundError:
        raise EncoderError(
            f"no model {hub_id!r} on the Hugging Face hub (or it is private): check the id "
            f"(`jepa-studio extract --list-encoders` lists known ones); for a private model log in "
            f"with `hf auth login` or set HF_TOKEN; {local}"
        ) from None
    except hub_errors.RevisionNotFoundError:
        raise EncoderError(f"{hub_id}: the requested revision does not exist on the hub") from None
    except (hub_errors.LocalEntryNotFoundError, hub_errors.OfflineModeIsEnabled):
        if hub_offline():
            raise EncoderError(
                f"{hub_id} is not in the Hugging Face cache and offline mode is on (HF_HUB_OFFLINE=1): "
                f"connect to the internet and run once without HF_HUB_OFFLINE to download it, "
                f"{local}"
            ) from None
        raise EncoderError(
            f"{hub_id} is not in the Hugging Face cache and the hub could not be reached: check the "
            f"internet connection (or proxy) and run again to download it once, {local}"
        ) from None
    except hub_errors.HfHubHTTPError as error:
        status = getattr(getattr(error, "response", None), "status_code", None)
        if status in (401, 403):
            raise EncoderError(
                f"the Hugging Face hub refused access to {hub_id} (HTTP {status}): log in with "
                f"`hf auth login` or set HF_TOKEN, and accept the model's licence at {page}; {local}"
            ) from None
        raise EncoderError(f"downloading {hub_id} failed ({error}); try again later, {local}") from None
    except OSError as error:
        raise EncoderError(
            f"could not download {hub_id} into the Hugging Face cache ({error}); check free disk "
            f"space and HF_HOME, {local}"
        ) from None
    return Path(folder)


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise EncoderError(f"{path} is not a readable JSON file ({error})") from None
    if not isinstance(data, dict):
        raise EncoderError(f"{path} does not hold a JSON object")
    return data


def _has_weights(folder: Path) -> bool:
    return any(folder.glob("*.safetensors")) or any(folder.glob("*.safetensors.index.json"))


def inspect_folder(folder: Path, source: str, *, need_weights: bool = True) -> ResolvedCheckpoint:
    """Read a checkpoint folder's config (and check for weights) without loading the model.

    Raises
    ------
    EncoderError
        No config.json, a model type JEPA Studio does not know, or no weights.
    """
    config_path = folder / "config.json"
    if not config_path.is_file():
        raise EncoderError(
            f"{source} holds no model: there is no config.json in {folder}; {_NO_WEIGHTS_HINT}"
        )
    config = _read_json(config_path)
    model_type = str(config.get("model_type", ""))
    family = family_for_model_type(model_type)
    if family is None:
        raise EncoderError(
            f"{source} holds a {model_type or 'model of unknown type'!r} model, which is not an encoder "
            f"JEPA Studio knows; supported model types: {', '.join(supported_model_types())}"
        )
    has_weights = _has_weights(folder)
    if need_weights and not has_weights:
        bins = [p.name for p in folder.glob("*.bin")]
        extra = (
            f" (it has {', '.join(bins)}: JEPA Studio only reads safetensors weights; convert them with "
            "model.save_pretrained(folder, safe_serialization=True))"
            if bins
            else ""
        )
        raise EncoderError(
            f"{source} has a config.json but no weights (*.safetensors){extra}; {_NO_WEIGHTS_HINT}"
        )
    processor: dict[str, Any] = {}
    for name in ("video_preprocessor_config.json", "preprocessor_config.json"):
        if (folder / name).is_file():
            processor = _read_json(folder / name)
            break
    return ResolvedCheckpoint(
        source=source,
        folder=folder,
        config=config,
        family=family.name,
        has_weights=has_weights,
        random_init=bool(config.get(RANDOM_INIT_MARKER, False)),
        processor=processor,
    )


def resolve_checkpoint(
    ref: str, *, need_weights: bool = True, cache_dir: str | Path | None = None
) -> ResolvedCheckpoint:
    """A local folder or a hub id -> :class:`ResolvedCheckpoint` (downloading if needed)."""
    path = Path(ref).expanduser()
    if path.is_dir():
        return inspect_folder(path, ref, need_weights=need_weights)
    if path.exists():
        raise EncoderError(f"{ref} is a file, not a checkpoint folder; {_NO_WEIGHTS_HINT}")
    if _HUB_ID.match(ref):
        folder = download_checkpoint(ref, need_weights=need_weights, cache_dir=cache_dir)
        return inspect_folder(folder, ref, need_weights=need_weights)
    raise EncoderError(f"no such folder: {ref}; {_NO_WEIGHTS_HINT}")


def model_class(family: str) -> type:
    """The transformers model class of an encoder family."""
    return family_named(family).model_class()


def config_class(family: str) -> type:
    """The transformers config class of an encoder family."""
    return family_named(family).config_class()


def _quiet_transformers() -> Any:
    """Silence transformers' loading progress bars and info logs (restored by the caller)."""
    from transformers.utils import logging as hf_logging

    level = hf_logging.get_verbosity()
    bars = hf_logging.is_progress_bar_enabled()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()

    def restore() -> None:
        hf_logging.set_verbosity(level)
        if bars:
            hf_logging.enable_progress_bar()

    return restore


def _check_loaded_weights(model: torch.nn.Module, family: str, folder: Path, missing: list[str]) -> torch.nn.Module:
    """Refuse a checkpoint whose encoder weights are incomplete (transformers would fill the
    gaps with random values, silently). Parts the family can do without (a V-JEPA 2
    predictor, a ViT pooler) are removed from the model when their weights are missing, so
    nothing random is left in it; masked prediction then says why it cannot run."""
    fatal = family_named(family).accept_missing(model, missing)
    if fatal:
        raise EncoderError(
            f"{folder} lacks {len(fatal)} of the model's weights (e.g. {fatal[0]}): the checkpoint is "
            "incomplete or of another architecture; save it again with save_pretrained"
        )
    return model


def build_model(
    family: str,
    config: dict[str, Any] | Any,
    *,
    folder: Path | None = None,
    random_weights: bool = False,
    dtype: torch.dtype = torch.float32,
    device: torch.device | str = "cpu",
) -> torch.nn.Module:
    """Instantiate a transformers encoder, in eval mode on ``device`` in ``dtype``.

    With ``random_weights`` (or no ``folder``) the architecture is built from ``config``
    (a dict of hyper-parameters or a config object) with freshly initialised weights and
    the config is marked with :data:`RANDOM_INIT_MARKER`; otherwise the weights are read
    from ``folder``'s safetensors files.
    """
    from safetensors import SafetensorError

    fam = family_named(family)
    cls = fam.model_class()
    restore = _quiet_transformers()
    try:
        if random_weights or folder is None:
            if isinstance(config, dict):
                skip = ("architectures", "transformers_version", "dtype", "torch_dtype", RANDOM_INIT_MARKER)
                values = {k: v for k, v in fam.encoder_config(config).items() if not k.startswith("_") and k not in skip}
                config = fam.config_class()(**values)
            model = cls(config)
            model.config.jepa_studio_random_init = True
            model = model.to(dtype=dtype)
        else:
            model, info = cls.from_pretrained(str(folder), dtype=dtype, use_safetensors=True, output_loading_info=True)
            model = _check_loaded_weights(model, family, folder, list(info.get("missing_keys", [])))
    except (OSError, ValueError, RuntimeError, TypeError, KeyError, SafetensorError) as error:
        where = folder if folder is not None and not random_weights else "its config"
        raise EncoderError(
            f"could not build the {family} model from {where} ({type(error).__name__}: {error}); "
            f"the files may be incomplete or from another transformers version"
        ) from None
    finally:
        restore()
    return model.to(device).eval()
