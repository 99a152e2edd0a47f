"""World-model checkpoints: a folder with ``weights.safetensors`` and ``config.json``.

``weights.safetensors`` holds the decoder (``decoder.*``), the transition model
(``transition.*``), the latent stats (``latent.mean``, ``latent.std``) and, for resuming, the
optimisers' tensors (``optim.<part>.<param>.<name>``). ``config.json`` holds the
architectures, the encoder the latents came from, frameskip, seed, steps, loss histories
and the optimisers' hyper-parameters. Nothing is ever unpickled.

The weights file is the commit point: its safetensors metadata carries the same config
(``config`` key), and :func:`load_world` reads the config from there when it is present, so
the architecture, steps and optimiser state it loads always belong to the weights it loads.
``config.json`` is written after it (for people, tools and older readers). Each file is
written to a temporary name and then renamed: an interrupted save leaves either the
previous checkpoint or the new one, never a mix.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from ..errors import UsageError
from .checkpoint_config import check_shapes, parse_config, validate_config
from .decoder import DecoderConfig, LatentDecoder
from .latents import LatentStats
from .model import EncoderInfo, PartState, WorldModel
from .transition import TransitionConfig, TransitionModel

FORMAT = "jepa-studio-world-model"
VERSION = 1
WEIGHTS = "weights.safetensors"
CONFIG = "config.json"


def _optimizer_to_flat(part: str, sd: dict) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    tensors: dict[str, torch.Tensor] = {}
    extra: dict[str, Any] = {}
    for pid, values in sd["state"].items():
        for key, value in values.items():
            if torch.is_tensor(value):
                tensors[f"optim.{part}.{pid}.{key}"] = value.detach().cpu().contiguous()
            else:
                extra[f"{pid}.{key}"] = value
    groups = [{k: (list(v) if isinstance(v, tuple) else v) for k, v in g.items()} for g in sd["param_groups"]]
    return tensors, {"param_groups": groups, "extra": extra}


def _optimizer_from_flat(part: str, tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> dict:
    state: dict[int, dict[str, Any]] = {}
    prefix = f"optim.{part}."
    for name, value in tensors.items():
        if name.startswith(prefix):
            pid, key = name[len(prefix) :].split(".", 1)
            state.setdefault(int(pid), {})[key] = value
    for name, value in meta.get("extra", {}).items():
        pid, key = name.split(".", 1)
        state.setdefault(int(pid), {})[key] = value
    groups = [{k: (tuple(v) if k == "betas" else v) for k, v in g.items()} for g in meta["param_groups"]]
    return {"state": state, "param_groups": groups}


def save_world(world: WorldModel, path: str | Path) -> Path:
    """Write ``world`` to the folder ``path`` (created if needed); returns the folder."""
    folder = Path(path)
    folder.mkdir(parents=True, exist_ok=True)
    tensors: dict[str, torch.Tensor] = {
        "latent.mean": world.stats.mean.cpu().contiguous(),
        "latent.std": world.stats.std.cpu().contiguous(),
    }
    for name, value in world.decoder.state_dict().items():
        tensors[f"decoder.{name}"] = value.detach().cpu().contiguous()
    if world.transition is not None:
        for name, value in world.transition.state_dict().items():
            tensors[f"transition.{name}"] = value.detach().cpu().contiguous()
    parts: dict[str, Any] = {}
    for part, st in world.state.items():
        entry: dict[str, Any] = {"step": st.step, "losses": st.losses, "val_losses": [list(v) for v in st.val_losses]}
        if st.optimizer is not None:
            flat, meta = _optimizer_to_flat(part, st.optimizer)
            tensors.update(flat)
            entry["optimizer"] = meta
        parts[part] = entry
    config = {
        "format": FORMAT,
        "version": VERSION,
        "encoder": world.encoder.to_json(),
        "latent_variance": world.stats.variance,
        "frameskip": world.frameskip,
        "seed": world.seed,
        "decoder": world.decoder.config.to_json(),
        "transition": None if world.transition is None else world.transition.config.to_json(),
        "training": parts,
    }
    text = json.dumps(config, indent=1)
    tmp_w, tmp_c = folder / (WEIGHTS + ".tmp"), folder / (CONFIG + ".tmp")
    save_file(tensors, str(tmp_w), metadata={"format": FORMAT, "config": text})
    _as_plain_file(tmp_w)  # safetensors writes 0600; a checkpoint is shared like its config.json
    tmp_c.write_text(text)
    os.replace(tmp_w, folder / WEIGHTS)  # the commit: these weights carry their own config
    os.replace(tmp_c, folder / CONFIG)
    return folder


def _read_header(path: Path) -> tuple[str | None, dict[str, tuple[int, ...]]]:
    """The config text saved in the weights file's metadata (None for older checkpoints)
    and every tensor's shape, read from the header alone (no tensor is loaded)."""
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as f:
        meta = f.metadata() or {}
        shapes = {k: tuple(f.get_slice(k).get_shape()) for k in f.keys()}
    return meta.get("config"), shapes


def _build(config: dict[str, Any]) -> tuple[LatentDecoder, TransitionModel | None]:
    decoder = LatentDecoder(DecoderConfig.from_json(config["decoder"]))
    transition = None
    if config["transition"] is not None:
        transition = TransitionModel(TransitionConfig.from_json(config["transition"]))
    return decoder, transition


def load_world(path: str | Path, device: torch.device | str = "cpu") -> WorldModel:
    """Load a folder written by :func:`save_world` (models in eval mode on ``device``).

    The config is validated (types, ranges, nesting) and the tensor shapes it implies are
    checked against the weights file's header before any model is built, so a damaged
    checkpoint ends in one :class:`UsageError`, never an allocation of what it claims.
    """
    folder = Path(path)
    if not (folder / CONFIG).is_file() or not (folder / WEIGHTS).is_file():
        raise UsageError(f"{folder} is not a world-model checkpoint (it needs {CONFIG} and {WEIGHTS})")
    try:
        text, shapes = _read_header(folder / WEIGHTS)
        if text is None:  # written before the weights carried their config
            text = (folder / CONFIG).read_text()
    except (OSError, ValueError, SafetensorError) as error:
        raise UsageError(f"cannot read the world-model checkpoint {folder}: {error}") from error
    config = parse_config(text, folder)
    if config.get("format") != FORMAT:
        raise UsageError(f"{folder / CONFIG} is not a JEPA Studio world-model config")
    version = config.get("version", 0)
    if not isinstance(version, int) or version > VERSION:
        raise UsageError(f"{folder} was written by a newer JEPA Studio (format {version}); update")
    validate_config(config, folder)
    with torch.device("meta"):
        meta_decoder, meta_transition = _build(config)
    models: dict[str, torch.nn.Module] = {"decoder": meta_decoder}
    if meta_transition is not None:
        models["transition"] = meta_transition
    check_shapes(models, shapes, folder)
    dim = config["decoder"]["dim"]
    for key in ("latent.mean", "latent.std"):
        if shapes.get(key) != (dim,):
            raise UsageError(f"the world-model checkpoint {folder} is damaged: {key} must hold {dim} values")
    try:
        tensors = load_file(str(folder / WEIGHTS))
    except (OSError, ValueError, SafetensorError) as error:
        raise UsageError(f"cannot read the world-model checkpoint {folder}: {error}") from error
    stats = LatentStats(tensors["latent.mean"].float(), tensors["latent.std"].float(), float(config["latent_variance"]))
    decoder, transition = _build(config)
    try:
        decoder.load_state_dict({k[8:]: v for k, v in tensors.items() if k.startswith("decoder.")})
        if transition is not None:
            transition.load_state_dict({k[11:]: v for k, v in tensors.items() if k.startswith("transition.")})
        state = {}
        for part, entry in config["training"].items():
            opt = _optimizer_from_flat(part, tensors, entry["optimizer"]) if "optimizer" in entry else None
            state[part] = PartState(
                step=int(entry["step"]),
                losses=[float(v) for v in entry["losses"]],
                val_losses=[(int(s), float(v)) for s, v in entry["val_losses"]],
                optimizer=opt,
            )
        info = EncoderInfo.from_json(config["encoder"])
    except (RuntimeError, ValueError, KeyError, TypeError) as error:
        raise UsageError(f"the weights in {folder} do not match its config: {error}") from error
    world = WorldModel(
        encoder=info,
        stats=stats,
        decoder=decoder.eval(),
        transition=None if transition is None else transition.eval(),
        frameskip=int(config["frameskip"]),
        seed=int(config["seed"]),
        state=state,
    )
    return world.to(device)


def safe_name(name: str) -> str:
    """A folder name for an encoder name (registry name, hub id, or a model folder's path)."""
    text = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(name).name if "/" in name and Path(name).exists() else name)
    return text.strip("_") or "encoder"


def _as_plain_file(path: Path) -> None:
    """Give ``path`` the permissions a file written by ``open`` gets (0666 less the umask)."""
    mask = os.umask(0)
    os.umask(mask)
    os.chmod(path, 0o666 & ~mask)
