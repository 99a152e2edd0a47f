"""Validation of a world-model checkpoint's config before any model is built.

A checkpoint is a file a user hands us: its config may be missing keys, hold the wrong
types, absurd sizes (``hidden=200000`` would try to allocate terabytes) or nest without end.
:func:`parse_config` and :func:`validate_config` turn every such case into one
:class:`~jepa_studio.errors.UsageError` naming the file and the key, and
:func:`check_shapes` compares the tensors the config implies (built on the ``meta``
device: no memory) with the tensors the weights file holds, before the real models exist.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Iterable, Mapping

import torch

from ..errors import UsageError

#: the largest token dimension, hidden width, grid side, history ... a config may ask for
LIMITS = {
    "dim": 65536,
    "grid": 1024,
    "patch_size": 256,
    "tubelet_size": 16,
    "out_size": 16384,
    "hidden": 8192,
    "n_res": 64,
    "history": 1024,
    "width": 16384,
    "depth": 256,
    "heads": 512,
    "action_dim": 65536,
    "frameskip": 1024,
    "mlp_ratio": 64,
}
#: the deepest JSON nesting a config needs (optimiser groups are the deepest: 4 levels)
MAX_DEPTH = 16
#: the most parameters a world model may have (about 4 GB in float32)
MAX_PARAMETERS = 1_000_000_000


def _depth(value: Any, limit: int) -> int:
    """Nesting depth of JSON-like ``value``, stopping (and returning ``limit + 1``) past ``limit``."""
    stack = [(value, 1)]
    deepest = 0
    while stack:
        item, d = stack.pop()
        deepest = max(deepest, d)
        if deepest > limit:
            return deepest
        if isinstance(item, dict):
            stack += [(v, d + 1) for v in item.values()]
        elif isinstance(item, list):
            stack += [(v, d + 1) for v in item]
    return deepest


def parse_config(text: str, where: Path) -> dict[str, Any]:
    """JSON text -> a dict, or a UsageError (bad JSON, too deep, not an object)."""
    try:
        config = json.loads(text)
    except RecursionError as error:
        raise UsageError(f"the config of the world-model checkpoint {where} nests too deeply") from error
    except ValueError as error:
        raise UsageError(f"the config of the world-model checkpoint {where} is not valid JSON: {error}") from error
    if not isinstance(config, dict):
        raise UsageError(f"the config of the world-model checkpoint {where} is not a JSON object")
    if _depth(config, MAX_DEPTH) > MAX_DEPTH:
        raise UsageError(f"the config of the world-model checkpoint {where} nests too deeply")
    return config


class _Checker:
    """Reads typed values out of a config, raising one UsageError naming the key."""

    def __init__(self, where: Path) -> None:
        self.where = where

    def fail(self, key: str, what: str) -> UsageError:
        return UsageError(f"the world-model checkpoint {self.where} is damaged: {key} {what}")

    def get(self, data: Any, key: str | int, path: str) -> Any:
        """``data[key]`` of an object (or, with an int key, of a list)."""
        if isinstance(data, list) and isinstance(key, int):
            if key >= len(data):
                raise self.fail(f"{path}[{key}]", "is missing")
            return data[key]
        if not isinstance(data, dict):
            raise self.fail(path, "is not an object")
        if key not in data:
            raise self.fail(f"{path}.{key}", "is missing")
        return data[key]

    def integer(self, data: Any, key: str | int, path: str, low: int = 0, high: int | None = None) -> int:
        value = self.get(data, key, path)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(f"{path}.{key}", f"must be a whole number, not {type(value).__name__}")
        high = LIMITS.get(str(key), 2**62) if high is None else high
        if not low <= value <= high:
            raise self.fail(f"{path}.{key}", f"= {value} is outside [{low}, {high}]")
        return value

    def number(self, data: Any, key: str, path: str, low: float = -math.inf, high: float = math.inf) -> float:
        value = self.get(data, key, path)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise self.fail(f"{path}.{key}", "must be a finite number")
        if not low <= value <= high:
            raise self.fail(f"{path}.{key}", f"= {value} is outside [{low}, {high}]")
        return float(value)

    def text(self, data: Any, key: str, path: str, choices: Iterable[str] | None = None) -> str:
        value = self.get(data, key, path)
        if not isinstance(value, str):
            raise self.fail(f"{path}.{key}", "must be text")
        if choices is not None and value not in choices:
            raise self.fail(f"{path}.{key}", f"= {value!r} is not one of {', '.join(choices)}")
        return value

    def pair(self, data: Any, key: str, path: str) -> None:
        value = self.get(data, key, path)
        if not (isinstance(value, list) and len(value) == 2):
            raise self.fail(f"{path}.{key}", "must be a list of two whole numbers")
        for i in range(2):
            self.integer(value, i, f"{path}.{key}", 1, LIMITS.get(key))

    def flag(self, data: Any, key: str, path: str) -> bool:
        value = self.get(data, key, path)
        if not isinstance(value, bool):
            raise self.fail(f"{path}.{key}", "must be true or false")
        return value


def validate_config(config: Mapping[str, Any], where: Path) -> None:
    """Check every key a world model is built from: presence, type and range.

    Raises
    ------
    UsageError: one line naming the checkpoint and the first bad key.
    """
    from .decoder import TARGETS

    c = _Checker(where)
    enc = c.get(config, "encoder", "config")
    for key in ("name", "checkpoint", "label"):
        c.text(enc, key, "encoder")
    c.flag(enc, "pretrained", "encoder")
    for key in ("patch_size", "tubelet_size"):
        c.integer(enc, key, "encoder", 1)
    c.integer(enc, "dim", "encoder", 1)
    for key in ("input_size", "grid"):
        c.pair(enc, key, "encoder")
    c.number(config, "latent_variance", "config", 0.0)
    c.integer(config, "frameskip", "config", 1)
    c.integer(config, "seed", "config", 0, 2**63 - 1)
    dec = c.get(config, "decoder", "config")
    for key in ("dim", "patch_size", "tubelet_size", "hidden"):
        c.integer(dec, key, "decoder", 1)
    c.integer(dec, "n_res", "decoder", 0)
    for key in ("grid", "out_size"):
        c.pair(dec, key, "decoder")
    c.text(dec, "target", "decoder", TARGETS)
    tr = c.get(config, "transition", "config")
    if tr is not None:
        for key in ("dim", "history", "width", "depth", "heads"):
            c.integer(tr, key, "transition", 1)
        c.integer(tr, "action_dim", "transition", 0)
        c.number(tr, "mlp_ratio", "transition", 0.01, LIMITS["mlp_ratio"])
        c.pair(tr, "grid", "transition")
        c.flag(tr, "residual", "transition")
        if tr["width"] % tr["heads"]:
            raise c.fail("transition.width", f"= {tr['width']} is not a multiple of transition.heads = {tr['heads']}")
    training = c.get(config, "training", "config")
    if not isinstance(training, dict):
        raise c.fail("training", "is not an object")
    for part, entry in training.items():
        path = f"training.{part}"
        c.integer(entry, "step", path, 0)
        for key in ("losses", "val_losses"):
            if not isinstance(c.get(entry, key, path), list):
                raise c.fail(f"{path}.{key}", "must be a list")
        if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in entry["losses"]):
            raise c.fail(f"{path}.losses", "must hold numbers")
        for v in entry["val_losses"]:
            if not (isinstance(v, list) and len(v) == 2 and all(isinstance(x, (int, float)) for x in v)):
                raise c.fail(f"{path}.val_losses", "must hold [step, loss] pairs")
        if "optimizer" in entry:
            opt = c.get(entry, "optimizer", path)
            groups = c.get(opt, "param_groups", f"{path}.optimizer")
            if not isinstance(groups, list) or not all(isinstance(g, dict) for g in groups):
                raise c.fail(f"{path}.optimizer.param_groups", "must be a list of objects")
            if not isinstance(opt.get("extra", {}), dict):
                raise c.fail(f"{path}.optimizer.extra", "must be an object")


def check_shapes(models: Mapping[str, torch.nn.Module], shapes: Mapping[str, tuple[int, ...]], where: Path) -> None:
    """Compare the parameters of ``models`` (built on the meta device; prefix -> module) with
    the tensor ``shapes`` in the weights file, and bound the total size.

    Raises
    ------
    UsageError: a tensor is missing, has another shape, or the models would be too large.
    """
    total = 0
    for prefix, module in models.items():
        for name, value in module.state_dict().items():
            key = f"{prefix}.{name}"
            total += value.numel()
            if key not in shapes:
                raise UsageError(f"the world-model checkpoint {where} is damaged: the weights lack {key}")
            if tuple(shapes[key]) != tuple(value.shape):
                raise UsageError(
                    f"the world-model checkpoint {where} is damaged: {key} has shape {tuple(shapes[key])}, "
                    f"its config needs {tuple(value.shape)}"
                )
    if total > MAX_PARAMETERS:
        raise UsageError(f"the world-model checkpoint {where} asks for {total:,} parameters, more than {MAX_PARAMETERS:,}")
