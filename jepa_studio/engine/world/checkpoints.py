"""The world models the window holds and their checkpoint folders.

A checkpoint folder is :func:`~jepa_studio.world.checkpoints.save_world`'s (``config.json``
+ ``weights.safetensors``) plus ``studio.json``, the *sidecar*: which session encoder the
model belongs to, the data it was trained on, its frameskip (in data frames), horizon and
resolution. Sidecars are written atomically.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ...errors import UsageError
from ...state.world import DataSpec, WorldSettings
from ...world.checkpoints import safe_name

#: the sidecar written beside a checkpoint: which session encoder, data and settings
SIDECAR = "studio.json"


@dataclass
class StudioWorld:
    """A world model the window holds: the model, the session encoder it belongs to, the data
    it was trained on and the step settings (frameskip in data frames, horizon)."""

    encoder: str
    world: Any
    data: DataSpec
    frameskip: int
    horizon: int
    resolution: int | None
    checkpoint: Path | None = None
    #: the short side frames were encoded at (None: the model's own input size tells)
    short_side: int | None = None

    @property
    def label(self) -> str:
        return self.world.encoder.label

    @property
    def encode_side(self) -> int:
        """The short side to encode frames at for this model."""
        if self.short_side:
            return int(self.short_side)
        return int(min(self.world.encoder.input_size))

    @property
    def latents(self) -> str:
        """The latent mode the model was trained on (``"causal"``, ``"per-frame"``, ``"window"``)."""
        return str(self.world.encoder.latents)

    def sidecar(self) -> dict[str, Any]:
        return {"encoder": self.encoder, "data": self.data.to_json(), "frameskip": self.frameskip,
                "horizon": self.horizon, "resolution": self.resolution, "short_side": self.short_side}


def data_key(data: DataSpec, video_path: Path | None) -> str:
    """A folder name for a data source (the video's name and a digest of path and range)."""
    if data.source == "pendulum":
        return f"pendulum-{data.episodes}x{data.episode_frames}-{data.size}px-seed{data.seed}"
    text = f"{Path(video_path).resolve() if video_path else '-'}|{data.start}:{data.stop}:{data.step}"
    digest = hashlib.sha1(text.encode()).hexdigest()[:10]
    stem = Path(video_path).stem if video_path else "video"
    return f"{safe_name(stem)}-{digest}"


def write_json(path: Path, info: dict[str, Any]) -> None:
    """Write ``info`` to ``path`` atomically (a temporary file, then a rename): a reader (or
    a crash) never sees half a file."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        tmp.write_text(json.dumps(info, indent=1))
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_sidecar(folder: Path, encoder: str, settings: WorldSettings) -> None:
    """``studio.json`` beside a checkpoint: the session encoder, data and step settings."""
    folder.mkdir(parents=True, exist_ok=True)
    entry = StudioWorld(encoder, None, settings.data, settings.frameskip, settings.horizon, settings.resolution,
                        short_side=settings.short_side)
    write_json(folder / SIDECAR, entry.sidecar())


def read_sidecar(folder: Path) -> dict[str, Any]:
    """The sidecar of a checkpoint folder ({} when there is none or it is unreadable)."""
    try:
        info = json.loads((Path(folder) / SIDECAR).read_text())
    except (OSError, ValueError):
        return {}
    return info if isinstance(info, dict) else {}


def checkpoint_folders(path: Path) -> list[Path]:
    """World-model checkpoint folders at ``path``: itself, or its sub-folders (one per encoder)."""
    path = Path(path)
    if (path / "config.json").is_file():
        return [path]
    found = sorted(p for p in path.iterdir() if (p / "config.json").is_file()) if path.is_dir() else []
    if not found:
        raise UsageError(f"{path} holds no world-model checkpoint (a folder with config.json and weights.safetensors)")
    return found


def load_entries(path: Path, fallback: WorldSettings | None = None) -> list[StudioWorld]:
    """The world models in the checkpoint folder ``path`` (or its per-encoder sub-folders),
    on the CPU. The sidecar names the session encoder; without one, the encoder name or
    checkpoint recorded in the checkpoint is used (``fallback`` gives the data and steps)."""
    from ...world.checkpoints import load_world

    entries = []
    for folder in checkpoint_folders(Path(path)):
        world = load_world(folder, "cpu")
        side = read_sidecar(folder)
        info = world.encoder
        name = side.get("encoder") or (info.checkpoint if info.checkpoint not in ("-", "") else info.name)
        try:
            data = DataSpec.from_json(side["data"]) if "data" in side else (fallback.data if fallback else DataSpec())
        except TypeError:
            data = fallback.data if fallback else DataSpec()
        frameskip = int(side.get("frameskip", world.frameskip * info.tubelet_size))
        horizon = int(side.get("horizon", fallback.horizon if fallback else 4))
        resolution = side.get("resolution", fallback.resolution if fallback else None)
        short_side = side.get("short_side")
        short_side = int(short_side) if isinstance(short_side, int) and 16 <= short_side <= 4096 else None
        entries.append(StudioWorld(str(name), world, data, frameskip, horizon, resolution, folder, short_side))
    return entries
