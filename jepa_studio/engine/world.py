"""World models in the studio window, computed on the engine's GPU lane. No Qt.

:class:`WorldEngine` drives :mod:`jepa_studio.world` for the window:

- **training** (:meth:`WorldEngine.train`): for each chosen encoder, encode the data (the open
  video's frames in a range, or pendulum episodes with their actions), create or resume a
  :class:`~jepa_studio.world.model.WorldModel` and train its decoder, then its transition
  model, checkpointing to a folder. Training runs on the GPU lane (the single GPU worker) in
  *slices*: when a view request or another task waits, the current slice stops after about
  :data:`SLICE_SECONDS` (the loops save their optimiser state), the request runs, and the
  next slice continues where it stopped (same batches, same learning-rate schedule), so the
  panes keep updating while a model trains;
- **reconstructions** of the clip around the playhead and **rollouts** from a context window
  ending at the playhead, decoded beside the real future frames;
- **decoded masked predictions** (a decoder trained on layer-normed V-JEPA 2 tokens);
- **the comparison** (:func:`~jepa_studio.world.compare.compare_encoders`, the same code as
  ``jepa-studio compare``).

Results leave through ``deliver(message)`` on the GPU thread (messages below).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import threading
import time
import traceback
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from ..errors import Cancelled, UsageError, VideoError
from ..world.checkpoints import safe_name
from .lane import CancelToken
from .messages import Progress

Deliver = Callable[[object], None]

#: a training slice yields to waiting work after this many seconds
SLICE_SECONDS = 0.3
#: training progress is delivered at most this often (plus every held-out evaluation and the end)
PROGRESS_SECONDS = 0.1
#: the sidecar written beside a checkpoint: which session encoder, data and settings
SIDECAR = "studio.json"


# ---------------------------------------------------------------- settings


@dataclass(frozen=True)
class DataSpec:
    """What a world model trains on.

    source: ``"video"`` (the open video's frames ``start:stop:step``) or ``"pendulum"``
    (``episodes`` simulated episodes of ``episode_frames`` frames, ``size`` pixels, ``seed``,
    with their torques as actions).
    """

    source: str = "video"
    start: int = 0
    stop: int = 0
    step: int = 1
    episodes: int = 4
    episode_frames: int = 48
    size: int = 64
    seed: int = 0

    def frames(self, n_frames: int | None = None) -> list[int]:
        """Source frame indices of a video range (clamped to ``n_frames``)."""
        stop = self.stop if n_frames is None else min(self.stop, n_frames)
        return list(range(max(0, self.start), stop, max(1, self.step)))

    def describe(self, video: str = "video") -> str:
        if self.source == "pendulum":
            return f"pendulum ({self.episodes} episodes of {self.episode_frames} frames, seed {self.seed})"
        return f"{video} frames {self.start}:{self.stop}:{self.step}"

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "DataSpec":
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})


@dataclass(frozen=True)
class WorldSettings:
    """One training run (or comparison) from the window.

    encoders: session encoder names; data: see :class:`DataSpec`; history: context steps H;
    horizon: rollout steps k; frameskip: data frames per step (a multiple of every encoder's
    tubelet size); steps: optimiser steps of the decoder and of the transition model each;
    seed; batch_size; val_fraction: the held-out end of every clip; device, resolution: as
    the panes use them; target: what the decoder reads (``"raw"`` or ``"layer_norm"``);
    width, depth, heads: the transition ViT; decoder_hidden; lr; checkpoint_every; val_every.
    """

    encoders: tuple[str, ...]
    data: DataSpec = DataSpec()
    history: int = 3
    horizon: int = 4
    frameskip: int = 2
    steps: int = 300
    seed: int = 0
    batch_size: int = 16
    val_fraction: float = 0.25
    device: str = "auto"
    resolution: int | None = None
    target: str = "raw"
    width: int = 128
    depth: int = 3
    heads: int = 4
    decoder_hidden: int = 64
    lr: float = 1e-3
    checkpoint_every: int = 100
    val_every: int = 25

    def __post_init__(self) -> None:
        for name in ("history", "horizon", "frameskip", "steps", "batch_size"):
            if int(getattr(self, name)) < 1:
                raise UsageError(f"{name} must be at least 1, got {getattr(self, name)}")
        if not self.encoders:
            raise UsageError("choose at least one encoder for the world model")
        if self.data.source not in ("video", "pendulum"):
            raise UsageError(f"unknown data source {self.data.source!r}: use 'video' or 'pendulum'")


# ---------------------------------------------------------------- messages


@dataclass(frozen=True)
class WorldProgress:
    """Training of one encoder's world model: ``part`` ("encoding", "decoder", "transition")
    at ``step`` of ``total``; the part's whole loss history so far (``losses`` per step,
    ``val`` as (step, held-out loss)); encoder ``index`` of ``n_encoders`` in the run."""

    run: int
    encoder: str
    part: str
    step: int
    total: int
    losses: tuple[float, ...]
    val: tuple[tuple[int, float], ...]
    index: int
    n_encoders: int


@dataclass(frozen=True)
class WorldReady:
    """Encoder ``encoder`` has a world model (trained, being trained, or loaded): ``label``,
    the steps trained per part, and where its checkpoint is."""

    run: int
    encoder: str
    label: str
    decoder_steps: int
    transition_steps: int
    checkpoint: str | None
    target: str


@dataclass(frozen=True)
class WorldRunDone:
    """A training run ended: ``cancelled``, or ``error`` (a message for the user), else finished."""

    run: int
    cancelled: bool
    error: str = ""
    checkpoints: tuple[str, ...] = ()


@dataclass(frozen=True)
class Reconstruction:
    """The decoder's reconstruction of source frame ``frame``: uint8 [H_in, W_in, 3] laid over
    ``crop_box`` of the frame (or None with a ``note``)."""

    request: int
    encoder: str
    label: str
    frame: int
    image: np.ndarray | None
    crop_box: tuple[int, int, int, int]
    steps: int
    note: str = ""


@dataclass(frozen=True)
class RolloutView:
    """A decoded rollout of one encoder's world model beside the real future frames.

    predicted, real: uint8 [k, H, W, 3]: for each rollout step the decoded prediction (at the
    encoder's input size, over ``crop_box``) and the real frame (source size), both of the
    *last* source frame the step covers (``frames[j]``); context: the source frames of the
    context steps; source: "video" or "pendulum episode N"; note: why it is shorter or empty.
    """

    request: int
    encoder: str
    label: str
    frames: tuple[int, ...]
    predicted: np.ndarray | None
    real: np.ndarray | None
    crop_box: tuple[int, int, int, int]
    context: tuple[int, ...]
    source: str
    note: str = ""


@dataclass(frozen=True)
class MaskDecoded:
    """Decoded context + predicted tokens of a masked view: uint8 [T', H_in, W_in, 3] (the last
    frame of each time step), over ``crop_box``."""

    request: int
    encoder: str
    label: str
    images: np.ndarray
    frame_indices: tuple[tuple[int, ...], ...]
    crop_box: tuple[int, int, int, int]


@dataclass(frozen=True)
class CompareProgress:
    """The comparison's ``stage`` ("pixels: transition") at ``step`` of ``total``."""

    run: int
    stage: str
    step: int
    total: int
    loss: float


@dataclass(frozen=True)
class CompareDone:
    """The comparison ended: ``result`` (a ComparisonResult, possibly ``cancelled``) or ``error``."""

    run: int
    result: Any
    error: str = ""


# ---------------------------------------------------------------- helpers



def data_key(data: DataSpec, video_path: Path | None) -> str:
    """A folder name for a data source (the video's name and a digest of path and range)."""
    if data.source == "pendulum":
        return f"pendulum-{data.episodes}x{data.episode_frames}-{data.size}px-seed{data.seed}"
    text = f"{Path(video_path).resolve() if video_path else '-'}|{data.start}:{data.stop}:{data.step}"
    digest = hashlib.sha1(text.encode()).hexdigest()[:10]
    stem = Path(video_path).stem if video_path else "video"
    return f"{safe_name(stem)}-{digest}"


def _write_json(path: Path, info: dict[str, Any]) -> None:
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
    info = {
        "encoder": encoder,
        "data": settings.data.to_json(),
        "frameskip": settings.frameskip,
        "horizon": settings.horizon,
        "resolution": settings.resolution,
    }
    _write_json(folder / SIDECAR, info)


def read_sidecar(folder: Path) -> dict[str, Any]:
    """The sidecar of a checkpoint folder ({} when there is none or it is unreadable)."""
    try:
        return json.loads((Path(folder) / SIDECAR).read_text())
    except (OSError, ValueError):
        return {}


def checkpoint_folders(path: Path) -> list[Path]:
    """World-model checkpoint folders at ``path``: itself, or its sub-folders (one per encoder)."""
    path = Path(path)
    if (path / "config.json").is_file():
        return [path]
    found = sorted(p for p in path.iterdir() if (p / "config.json").is_file()) if path.is_dir() else []
    if not found:
        raise UsageError(f"{path} holds no world-model checkpoint (a folder with config.json and weights.safetensors)")
    return found



def _frozen(array: np.ndarray) -> np.ndarray:
    array = np.ascontiguousarray(array)
    array.setflags(write=False)
    return array


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

    @property
    def label(self) -> str:
        return self.world.encoder.label


@dataclass
class _Clips:
    """One encoder's features of the data, with the frames and actions they came from."""

    features: list
    frames: list[np.ndarray]
    actions: list[np.ndarray | None]
    rows: list[dict[int, int] | None]


@dataclass
class _Run:
    """A training run's progress (kept between slices)."""

    id: int
    settings: WorldSettings
    root: Path | None
    resume: bool
    cancel: threading.Event = field(default_factory=threading.Event)
    index: int = 0
    part: str = "encoding"
    world: Any = None
    sequences: list = field(default_factory=list)
    checkpoint: Path | None = None
    checkpoints: list[str] = field(default_factory=list)
    last_progress: float = 0.0


# ---------------------------------------------------------------- the engine


class WorldEngine:
    """World models on a :class:`~jepa_studio.engine.studio.StudioEngine`'s GPU lane.

    Parameters
    ----------
    engine: the studio engine (GPU lane, loaded encoders, frame and feature caches).
    deliver: called on the GPU thread with the messages of this module and
        :class:`~.messages.Progress` (for the status bar).
    """

    def __init__(self, engine: Any, deliver: Deliver) -> None:
        self.engine = engine
        self._deliver = deliver
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        #: session encoder name -> its world model (read on the GUI thread, used on the GPU lane)
        self.worlds: dict[str, StudioWorld] = {}
        self._run: _Run | None = None
        self._compare_cancel: threading.Event | None = None
        self._idle = threading.Event()
        self._idle.set()
        self._latest: dict[str, int] = {}
        self.slice_count = 0  # training slices run (tests)
        self.last_thread = ""  # the thread that ran the last training slice (tests)
        engine.cancel_listeners.append(self.cancel)

    # -- state ------------------------------------------------------------------------------
    @property
    def training(self) -> bool:
        """True while a training run (or a comparison) is queued or running."""
        return not self._idle.is_set()

    def cancel(self) -> None:
        """Stop the training run and the comparison at their next step (checkpoints are kept)."""
        run = self._run
        if run is not None:
            run.cancel.set()
        if self._compare_cancel is not None:
            self._compare_cancel.set()

    def shutdown(self, timeout: float = 5.0) -> bool:
        """Cancel and wait up to ``timeout`` seconds for the last checkpoint to be written
        (the window closes). True when nothing runs any more."""
        self.cancel()
        return self._idle.wait(timeout)

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """Block until no training or comparison runs (tests only)."""
        return self._idle.wait(timeout)

    def _next_id(self, kind: str) -> int:
        with self._lock:
            rid = next(self._ids)
            self._latest[kind] = rid
            return rid

    def _report_error(self, error: BaseException) -> tuple[str, str]:
        from .failures import describe_error

        message, kind = describe_error(error)
        if kind == "internal":
            traceback.print_exception(error)
        return message, kind

    # -- data -------------------------------------------------------------------------------
    def _load_clips(self, token: CancelToken, name: str, settings: WorldSettings) -> _Clips:
        """Encode the data with encoder ``name`` (GPU lane; video features from the cache)."""
        data = settings.data
        if data.source == "pendulum":
            from ..video.pendulum import pendulum_dataset

            episodes = pendulum_dataset(data.episodes, data.episode_frames, seed=data.seed, size=data.size)
            encoder = self.engine.encoder(name, settings.device, settings.resolution)
            feats = []
            for ep in episodes:
                token.check()
                feats.append(encoder.encode(ep.frames, list(range(len(ep.frames)))))
            return _Clips(feats, [ep.frames for ep in episodes], [ep.actions for ep in episodes], [None] * len(episodes))
        src = self.engine.source()  # once: features and pixels come from the same video
        if src is None:
            raise VideoError("open a video first, or train on the pendulum")
        frames = data.frames(len(src))
        if len(frames) < 2:
            raise UsageError(f"the frame range {data.start}:{data.stop}:{data.step} holds fewer than 2 frames of this video")
        holder: list = [None]
        feats = self.engine.clip_features(token, name, frames, settings.device, settings.resolution, holder, source=src)
        pixels = self.engine.clip_pixels(frames, holder, source=src)
        return _Clips([feats], [pixels], [None], [{f: i for i, f in enumerate(frames)}])

    # -- training ---------------------------------------------------------------------------
    def train(self, settings: WorldSettings, checkpoint_root: str | Path | None, resume: bool = False) -> int:
        """Train a world model per encoder of ``settings`` in the background; returns the run id.

        Each encoder's model is checkpointed to ``checkpoint_root/<encoder>`` (every
        ``settings.checkpoint_every`` steps, when a slice yields, on cancel and at the end).
        With ``resume``, a compatible checkpoint there is loaded and trained on up to
        ``settings.steps`` (the step count continues). Delivers :class:`WorldProgress`,
        :class:`WorldReady` and finally :class:`WorldRunDone`.
        """
        if self.training:
            raise UsageError("a world model is already training: cancel it first")
        run = _Run(self._next_id("train"), settings, None if checkpoint_root is None else Path(checkpoint_root), resume)
        self._run = run
        self._idle.clear()
        self.engine.submit_gpu_task(lambda token: self._slice(token, run))
        return run.id

    def _progress(self, run: _Run, part: str, step: int, total: int, force: bool = False) -> None:
        now = time.perf_counter()
        if not force and now - run.last_progress < PROGRESS_SECONDS:
            return
        run.last_progress = now
        name = run.settings.encoders[run.index]
        state = run.world.state[part] if run.world is not None and part in ("decoder", "transition") else None
        self._deliver(
            WorldProgress(
                run.id, name, part, int(step), int(total),
                tuple(state.losses) if state is not None else (),
                tuple(state.val_losses) if state is not None else (),
                run.index, len(run.settings.encoders),
            )
        )
        n = len(run.settings.encoders)
        # total + 1: the status bar's bar ends with the run, not with each part
        self._deliver(Progress(f"world model {run.index + 1}/{n} ({name}): {part}", int(step), int(total) + 1))

    def _slice(self, token: CancelToken, run: _Run) -> None:
        """One slice of a run on the GPU lane; queues the next slice when it yielded.

        A slice cancelled while it waited in the queue only ends the run (every run ends in
        :meth:`_finish`: :class:`WorldRunDone` is delivered and :attr:`training` clears)."""
        if token.cancelled or run.cancel.is_set():
            run.cancel.set()
            self._finish(run)
            return
        self.slice_count += 1
        self.last_thread = threading.current_thread().name
        started = time.perf_counter()
        stop = threading.Event()

        def should_stop() -> bool:
            if run.cancel.is_set() or token.cancelled:
                run.cancel.set()
                return True
            return time.perf_counter() - started > SLICE_SECONDS and self.engine.gpu_busy_elsewhere()

        try:
            finished = self._advance(token, run, stop, should_stop)
        except Cancelled:
            run.cancel.set()
            finished = True
        except Exception as error:  # noqa: BLE001 - shown in the window; checkpoints are kept
            message, _kind = self._report_error(error)
            self._finish(run, error=message)
            return
        if finished or run.cancel.is_set():
            self._finish(run)
        else:
            self.engine.defer_gpu_task(lambda t: self._slice(t, run))

    def _advance(self, token: CancelToken, run: _Run, stop: threading.Event, should_stop: Callable[[], bool]) -> bool:
        """Train until the run ends (True) or the slice should yield (False)."""
        from ..world.training import TrainSettings, train_decoder, train_transition

        s = run.settings
        while run.index < len(s.encoders):
            name = s.encoders[run.index]
            if run.world is None:
                self._progress(run, "encoding", 0, 1, force=True)
                self._prepare(token, run, name)
                self._progress(run, "decoder", run.world.state["decoder"].step, s.steps, force=True)
                if should_stop():
                    return False
            for part, fn in (("decoder", train_decoder), ("transition", train_transition)):
                state = run.world.state[part]
                if state.step >= s.steps:
                    continue
                run.part = part
                train_settings = TrainSettings(
                    steps=s.steps, batch_size=s.batch_size, lr=s.lr, seed=s.seed,
                    checkpoint_every=s.checkpoint_every, val_every=s.val_every,
                    device=str(run.world.device),
                )

                def progress(step: int, total: int, loss: float, part: str = part) -> None:
                    at_val = step % s.val_every == 0 or step == total
                    self._progress(run, part, step, total, force=at_val)
                    if should_stop():
                        stop.set()

                fn(run.world, run.sequences, train_settings, progress, stop, run.checkpoint)
                if run.cancel.is_set():
                    return True
                if state.step < s.steps:
                    return False  # yielded to waiting work
                self._progress(run, part, state.step, s.steps, force=True)
                self._ready(run, name)
            if run.checkpoint is not None:
                run.checkpoints.append(str(run.checkpoint))
            run.index += 1
            run.world = None
            run.sequences = []
        return True

    def _prepare(self, token: CancelToken, run: _Run, name: str) -> None:
        from ..world.checkpoints import load_world
        from ..world.model import WorldModel, prepare_sequence, same_architecture

        s = run.settings
        clips = self._load_clips(token, name, s)
        tubelet = int(clips.features[0].tubelet_size)
        label = clips.features[0].label
        if s.frameskip % tubelet:
            raise UsageError(
                f"frameskip {s.frameskip} is not a multiple of {label}'s tubelet size {tubelet}: use an even frameskip"
            )
        has_actions = clips.actions[0] is not None
        world = WorldModel.create(
            clips.features,
            history=s.history,
            frameskip=s.frameskip // tubelet,
            action_dim=int(np.asarray(clips.actions[0]).reshape(len(clips.frames[0]), -1).shape[1]) if has_actions else 0,
            val_fraction=s.val_fraction,
            seed=s.seed,
            decoder_hidden=s.decoder_hidden,
            width=s.width,
            depth=s.depth,
            heads=s.heads,
            target=s.target,
        )
        ckpt = None
        if run.root is not None:
            ckpt = run.root / safe_name(name)
            if run.resume and (ckpt / "config.json").is_file():
                old = load_world(ckpt, "cpu")
                if same_architecture(old, world):
                    world = old
            write_sidecar(ckpt, name, s)
        world.to(_encoder_device(self.engine, name, s))
        run.world = world
        run.checkpoint = ckpt
        run.sequences = [
            prepare_sequence(world, f, fr, a, s.val_fraction, rows)
            for f, fr, a, rows in zip(clips.features, clips.frames, clips.actions, clips.rows)
        ]
        self.worlds[name] = StudioWorld(name, world, s.data, s.frameskip, s.horizon, s.resolution, ckpt)
        self._ready(run, name)

    def _ready(self, run: _Run | None, name: str) -> None:
        entry = self.worlds.get(name)
        if entry is None:
            return
        w = entry.world
        self._deliver(
            WorldReady(
                0 if run is None else run.id, name, entry.label, w.state["decoder"].step,
                w.state["transition"].step, None if entry.checkpoint is None else str(entry.checkpoint), w.target,
            )
        )

    def _finish(self, run: _Run, error: str = "") -> None:
        cancelled = run.cancel.is_set() and not error
        if run.world is not None and run.checkpoint is not None and str(run.checkpoint) not in run.checkpoints:
            run.checkpoints.append(str(run.checkpoint))
        name = "world model"
        self._deliver(Progress(name, 1, 1, cancelled=cancelled))
        self._deliver(WorldRunDone(run.id, cancelled, error, tuple(run.checkpoints)))
        if self._run is run:
            self._run = None
        self._idle.set()

    # -- checkpoints ------------------------------------------------------------------------
    def load(self, path: str | Path, fallback: WorldSettings | None = None) -> list[str]:
        """Load the checkpoint folder ``path`` (or its per-encoder sub-folders) now (small
        files; called on the GUI thread). Returns the session encoder names they belong to.

        The sidecar names the encoder; without one, the encoder name or checkpoint recorded
        in the checkpoint is used (``fallback`` gives the data and steps).
        """
        from ..world.checkpoints import load_world

        names = []
        for folder in checkpoint_folders(Path(path)):
            world = load_world(folder, "cpu")
            side = read_sidecar(folder)
            info = world.encoder
            name = side.get("encoder") or (info.checkpoint if info.checkpoint not in ("-", "") else info.name)
            data = DataSpec.from_json(side["data"]) if "data" in side else (fallback.data if fallback else DataSpec())
            frameskip = int(side.get("frameskip", world.frameskip * info.tubelet_size))
            horizon = int(side.get("horizon", fallback.horizon if fallback else 4))
            resolution = side.get("resolution", fallback.resolution if fallback else None)
            entry = StudioWorld(name, world, data, frameskip, horizon, resolution, folder)
            self.engine.submit_gpu_task(lambda _t, e=entry: self._install(e))
            names.append(name)
        return names

    def _install(self, entry: StudioWorld) -> None:
        device = "cpu"
        enc = self.engine.encoder(entry.encoder, "auto", entry.resolution, load=False)
        if enc is not None:
            device = str(enc.device)
        entry.world.to(device)
        self.worlds[entry.encoder] = entry
        self._ready(None, entry.encoder)

    def save(self, path: str | Path, encoders: Sequence[str] | None = None) -> int:
        """Save the world models (all, or ``encoders``) under ``path`` on the GPU lane (after
        any training slice): one encoder into ``path`` itself, several into sub-folders.
        Returns the task id; :class:`~.messages.TaskDone` carries the folder."""
        from ..world.checkpoints import save_world

        names = [n for n in (encoders or list(self.worlds)) if n in self.worlds]
        if not names:
            raise UsageError("there is no world model to save: train one or load a checkpoint first")
        out = Path(path)

        def fn(progress: Callable[[int, int], None], cancel: Callable[[], bool]) -> object:
            for i, name in enumerate(names):
                entry = self.worlds[name]
                folder = out if len(names) == 1 else out / safe_name(name)
                save_world(entry.world, folder)
                info = {"encoder": name, "data": entry.data.to_json(), "frameskip": entry.frameskip,
                        "horizon": entry.horizon, "resolution": entry.resolution}
                _write_json(folder / SIDECAR, info)
                progress(i + 1, len(names))
            return out

        return self.engine.run_task(f"saving world models to {out.name}", fn, "save")

    # -- reconstructions --------------------------------------------------------------------
    def request_reconstruction(
        self, encoder: str, frames: Sequence[int], frame: int, device: str = "auto", resolution: int | None = None
    ) -> int:
        """Decode the tokens of source ``frame`` (the clip ``frames`` around it) with
        ``encoder``'s world model; :class:`Reconstruction` follows (latest per encoder wins)."""
        rid = self._next_id(f"recon:{encoder}")
        frames = tuple(int(f) for f in frames)

        def job(token: CancelToken) -> None:
            if rid != self._latest.get(f"recon:{encoder}") or token.cancelled:
                return
            entry = self.worlds.get(encoder)
            if entry is None:
                return
            try:
                self._deliver(self.reconstruct(token, entry, frames, int(frame), device, resolution, rid))
            except Cancelled:
                raise
            except Exception as error:  # noqa: BLE001 - shown in the pane
                message, _ = self._report_error(error)
                self._deliver(Reconstruction(rid, encoder, entry.label, int(frame), None, (0, 0, 0, 0), 0, message))

        self.engine.submit_gpu_task(job)
        return rid

    def reconstruct(
        self, token: CancelToken, entry: StudioWorld, frames: tuple[int, ...], frame: int,
        device: str, resolution: int | None, rid: int = 0,
    ) -> Reconstruction:
        """The :class:`Reconstruction` of source ``frame`` (GPU lane)."""
        world = entry.world
        steps = world.state["decoder"].step
        feats = self.engine.clip_features(token, entry.encoder, frames, device, resolution)
        grid = tuple(feats.grid[1:])
        if grid != tuple(world.encoder.grid) or feats.dim != world.encoder.dim:
            note = (
                f"this decoder was trained on a {world.encoder.grid[0]}x{world.encoder.grid[1]} token grid, "
                f"the panes' resolution gives {grid[0]}x{grid[1]}: set the resolution it was trained at"
            )
            return Reconstruction(rid, entry.encoder, entry.label, frame, None, feats.crop_box, steps, note)
        t = feats.time_step_of_frame(frame)
        if t is None:
            return Reconstruction(rid, entry.encoder, entry.label, frame, None, feats.crop_box, steps, "frame not in the clip")
        decoded = world.decode_tokens(feats.tokens[t : t + 1])  # [tubelet, H, W, 3]
        j = list(feats.frame_indices[t]).index(frame)
        return Reconstruction(rid, entry.encoder, entry.label, frame, _frozen(decoded[j]), feats.crop_box, steps)

    # -- rollouts ---------------------------------------------------------------------------
    def request_rollout(
        self, encoder: str, frame: int, device: str = "auto", resolution: int | None = None, episode: int = 0
    ) -> int:
        """Roll ``encoder``'s world model out from the context window ending at source
        ``frame`` (of the video, or of pendulum ``episode``); :class:`RolloutView` follows."""
        rid = self._next_id(f"rollout:{encoder}")

        def job(token: CancelToken) -> None:
            if rid != self._latest.get(f"rollout:{encoder}") or token.cancelled:
                return
            entry = self.worlds.get(encoder)
            if entry is None:
                return
            try:
                self._deliver(self.rollout(token, entry, int(frame), device, resolution, int(episode), rid))
            except Cancelled:
                raise
            except Exception as error:  # noqa: BLE001 - shown in the pane
                message, _ = self._report_error(error)
                self._deliver(RolloutView(rid, encoder, entry.label, (), None, None, (0, 0, 0, 0), (), "", message))

        self.engine.submit_gpu_task(job)
        return rid

    def rollout(
        self, token: CancelToken, entry: StudioWorld, frame: int, device: str, resolution: int | None,
        episode: int = 0, rid: int = 0,
    ) -> RolloutView:
        """The :class:`RolloutView` from the context ending at source ``frame`` (GPU lane)."""
        from ..world.decoder import to_uint8_frames
        from ..world.model import prepare_sequence
        from ..world.rollout import decode_rollout, rollout

        world = entry.world
        if world.transition is None:
            return RolloutView(rid, entry.encoder, entry.label, (), None, None, (0, 0, 0, 0), (), "",
                               "this world model has no transition model")
        settings = WorldSettings((entry.encoder,), entry.data, device=device, resolution=entry.resolution if entry.resolution is not None else resolution)
        if entry.data.source == "pendulum":
            from ..video.pendulum import pendulum_dataset

            d = entry.data
            episodes = pendulum_dataset(d.episodes, d.episode_frames, seed=d.seed, size=d.size)
            ep = episodes[min(max(0, episode), len(episodes) - 1)]
            encoder = self.engine.encoder(entry.encoder, settings.device, settings.resolution)
            feats = encoder.encode(ep.frames, list(range(len(ep.frames))))
            pixels, actions, rows = ep.frames, ep.actions, None
            source = f"pendulum episode {min(max(0, episode), len(episodes) - 1) + 1}"
        else:
            clips = self._load_clips(token, entry.encoder, settings)
            feats, pixels, actions, rows = clips.features[0], clips.frames[0], None, clips.rows[0]
            source = "video"
        if tuple(feats.grid[1:]) != tuple(world.encoder.grid):
            return RolloutView(rid, entry.encoder, entry.label, (), None, None, feats.crop_box, (), source,
                               "the token grid differs from the one this model was trained on: set its resolution")
        seq = prepare_sequence(world, feats, None, actions)
        h, f = world.history, world.frameskip
        covering = [t for t, fi in enumerate(feats.frame_indices) if min(fi) <= frame]
        if not covering:
            return RolloutView(rid, entry.encoder, entry.label, (), None, None, feats.crop_box, (), source,
                               f"move the playhead into the trained frames ({feats.frame_indices[0][0]}–{feats.frame_indices[-1][-1]})")
        end = covering[-1]
        start = end - (h - 1) * f
        k = min(entry.horizon, (seq.n_steps - 1 - end) // f)
        if start < 0 or k < 1:
            first_ok = feats.frame_indices[min((h - 1) * f, seq.n_steps - 1)][0]
            last_ok = feats.frame_indices[max(0, seq.n_steps - 1 - f)][-1]
            return RolloutView(rid, entry.encoder, entry.label, (), None, None, feats.crop_box, (), source,
                               f"a rollout needs {h} context steps before the playhead and 1 step after: "
                               f"move it between frames {first_ok} and {last_ok}")
        token.check()
        ro = rollout(world, seq, start, k)
        decoded = decode_rollout(world, ro)  # [k, tubelet, 3, H, W]
        predicted, real, shown = [], [], []
        for j, covered in enumerate(ro.frame_indices):
            last = len(covered) - 1
            predicted.append(to_uint8_frames(decoded[j : j + 1, last : last + 1])[0])
            src = int(covered[last])
            real.append(pixels[src if rows is None else rows[src]])
            shown.append(src)
        note = "" if k == entry.horizon else f"only {k} of {entry.horizon} steps fit before the end of the data"
        context = tuple(int(i) for s in ro.context_steps for i in feats.frame_indices[s])
        return RolloutView(
            rid, entry.encoder, entry.label, tuple(shown), _frozen(np.stack(predicted)), _frozen(np.stack(real)),
            feats.crop_box, context, source, note,
        )

    # -- decoded masked predictions ---------------------------------------------------------
    def masked_decoder(self, encoder: str, grid: tuple[int, int] | None = None) -> StudioWorld | None:
        """The world model of ``encoder`` whose decoder reads layer-normed tokens (and, when
        given, matches the token ``grid``), or None."""
        entry = self.worlds.get(encoder)
        if entry is None or entry.world.target != "layer_norm":
            return None
        if grid is not None and tuple(grid) != tuple(entry.world.encoder.grid):
            return None
        return entry

    def request_masked_decode(self, view: Any) -> int | None:
        """Decode a :class:`~.masking.MaskedView`'s context + predicted tokens with the
        encoder's layer-norm decoder; :class:`MaskDecoded` follows. None when there is no
        such decoder or nothing to decode."""
        if not view.variants or view.variants[0].tokens is None:
            return None
        tokens = view.variants[0].tokens
        entry = self.masked_decoder(view.encoder, tuple(tokens.shape[1:3]))
        if entry is None:
            return None
        rid = self._next_id("masked")

        def job(token: CancelToken) -> None:
            if rid != self._latest.get("masked") or token.cancelled:
                return
            decoded = entry.world.decode_tokens(tokens.float())  # [T' * tubelet, H, W, 3]
            tub = entry.world.encoder.tubelet_size
            images = decoded.reshape(len(tokens), tub, *decoded.shape[1:])
            last = np.stack([images[t, len(c) - 1] for t, c in enumerate(view.frame_indices)])
            self._deliver(MaskDecoded(rid, view.encoder, entry.label, _frozen(last), view.frame_indices, view.crop_box))

        self.engine.submit_gpu_task(job)
        return rid

    # -- the comparison ---------------------------------------------------------------------
    def compare(self, settings: WorldSettings, checkpoint_dir: str | Path | None = None, source: str | None = None) -> int:
        """Run :func:`~jepa_studio.world.compare.compare_encoders` on ``settings``' encoders
        and data in the background; :class:`CompareProgress` then :class:`CompareDone` follow."""
        from ..world.compare import Clip, CompareSettings, compare_encoders

        if self.training:
            raise UsageError("a world model is training: wait for it or cancel it before comparing")
        rid = self._next_id("compare")
        cancel = threading.Event()
        self._compare_cancel = cancel
        self._idle.clear()
        video_path = self.engine.video_path

        def job(token: CancelToken) -> None:
            from ..encoders.device import pick_device

            last = [0.0]
            if token.cancelled or cancel.is_set():  # cancelled while it waited in the queue
                try:
                    self._deliver(Progress("comparison", 1, 1, cancelled=True))
                    self._deliver(CompareDone(rid, _cancelled_comparison(settings, source, video_path)))
                finally:
                    self._compare_cancel = None
                    self._idle.set()
                return

            def progress(stage: str, step: int, total: int, loss: float) -> None:
                if token.cancelled:
                    cancel.set()
                now = time.perf_counter()
                if now - last[0] >= PROGRESS_SECONDS or step >= total:
                    last[0] = now
                    self._deliver(CompareProgress(rid, stage, int(step), int(total), float(loss)))
                    self._deliver(Progress(f"comparison: {stage}", int(step), int(total) + (0 if step < total else 1)))

            try:
                d = settings.data
                if d.source == "pendulum":
                    from ..video.pendulum import pendulum_dataset

                    data: Any = pendulum_dataset(d.episodes, d.episode_frames, seed=d.seed, size=d.size)
                else:
                    src = self.engine.source()
                    if src is None:
                        raise VideoError("open a video first, or compare on the pendulum")
                    data = Clip(np.asarray(self.engine.clip_pixels(d.frames(len(src)), source=src)))
                cs = CompareSettings(
                    history=settings.history, horizon=settings.horizon, frameskip=settings.frameskip,
                    decoder_steps=settings.steps, transition_steps=settings.steps, batch_size=settings.batch_size,
                    val_fraction=settings.val_fraction, short_side=settings.resolution or 64, width=settings.width,
                    depth=settings.depth, heads=settings.heads, decoder_hidden=settings.decoder_hidden,
                    lr=settings.lr, seed=settings.seed, device=str(pick_device(settings.device)),
                )
                desc = source or d.describe(Path(video_path).name if video_path else "video")
                result = compare_encoders(data, list(settings.encoders), cs, progress, cancel, checkpoint_dir, desc)
                self._deliver(Progress("comparison", 1, 1, cancelled=result.cancelled))
                self._deliver(CompareDone(rid, result))
            except Exception as error:  # noqa: BLE001 - shown in the window
                message, _ = self._report_error(error)
                self._deliver(Progress("comparison", 1, 1))
                self._deliver(CompareDone(rid, None, message))
            finally:
                self._compare_cancel = None
                self._idle.set()

        self.engine.submit_gpu_task(job)
        return rid

    def write_report(self, result: Any, folder: str | Path) -> int:
        """Write the comparison report (``write_report``, as the CLI does) in the background;
        returns the task id (:class:`~.messages.TaskDone` carries the folder)."""
        from ..world.report import write_report

        out = Path(folder)

        def fn(progress: Callable[[int, int], None], cancel: Callable[[], bool]) -> object:
            write_report(result, out)
            return out / "report.json"

        return self.engine.run_task(f"writing the report to {out.name}", fn, "report")


def _cancelled_comparison(settings: WorldSettings, source: str | None, video_path: Path | None) -> Any:
    """An empty, cancelled ComparisonResult (the comparison was cancelled before it started)."""
    from ..world.compare import CompareSettings, ComparisonResult

    cs = CompareSettings(
        history=settings.history, horizon=settings.horizon, frameskip=settings.frameskip,
        decoder_steps=settings.steps, transition_steps=settings.steps, batch_size=settings.batch_size,
        val_fraction=settings.val_fraction, short_side=settings.resolution or 64, width=settings.width,
        depth=settings.depth, heads=settings.heads, decoder_hidden=settings.decoder_hidden,
        lr=settings.lr, seed=settings.seed, device=str(settings.device),
    )
    desc = source or settings.data.describe(Path(video_path).name if video_path else "video")
    return ComparisonResult(cs, desc, 0, 0, False, [], cancelled=True)


def _encoder_device(engine: Any, name: str, settings: WorldSettings) -> str:
    enc = engine.encoder(name, settings.device, settings.resolution)
    return str(getattr(enc, "device", "cpu"))


__all__ = [
    "CompareDone",
    "CompareProgress",
    "DataSpec",
    "MaskDecoded",
    "Reconstruction",
    "RolloutView",
    "StudioWorld",
    "WorldEngine",
    "WorldProgress",
    "WorldReady",
    "WorldRunDone",
    "WorldSettings",
    "checkpoint_folders",
    "data_key",
    "read_sidecar",
    "write_sidecar",
]
