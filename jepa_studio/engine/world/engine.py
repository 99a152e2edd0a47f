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

import dataclasses
import itertools
import threading
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from ...errors import Cancelled, UsageError
from ...state.world import WorldSettings
from ...world.checkpoints import safe_name
from ...world.latent_cache import LatentCache
from ..lane import CancelToken
from ..messages import Progress
from .checkpoints import SIDECAR, StudioWorld, load_entries, write_json, write_sidecar
from .comparison import cancelled_comparison, run_comparison
from .data import load_clips
from .messages import (
    CompareDone,
    MaskDecoded,
    Reconstruction,
    RolloutView,
    WorldProgress,
    WorldReady,
    WorldRunDone,
    frozen,
)
from .views import reconstruct, rollout

Deliver = Callable[[object], None]

#: a training slice yields to waiting work after this many seconds
SLICE_SECONDS = 0.3
#: training progress is delivered at most this often (plus every held-out evaluation and the end)
PROGRESS_SECONDS = 0.1
#: latents the window keeps for training, rollouts and the comparison
LATENT_CACHE_BYTES = 512 << 20


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
        #: latents of training, rollouts and comparisons, each clip encoded once
        self.latent_cache = LatentCache(LATENT_CACHE_BYTES)
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

    def unload_video_models(self) -> list[str]:
        """Another video opens: the world models trained on the previous one's frames cannot
        apply to it. Cancels a run on the video's frames and unloads those models (their
        checkpoints stay on disk); returns the encoders whose models were unloaded. Pendulum
        models stay."""
        run = self._run
        if run is not None and run.settings.data.source == "video":
            run.cancel.set()
        gone = [name for name, entry in list(self.worlds.items()) if entry.data.source == "video"]
        for name in gone:
            self.worlds.pop(name, None)
        return gone

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
        from ..failures import describe_error

        message, kind = describe_error(error)
        if kind == "internal":
            traceback.print_exception(error)
        return message, kind

    # -- data -------------------------------------------------------------------------------
    def _load_clips(self, token: CancelToken, name: str, settings: WorldSettings):
        """Encoder ``name``'s latents of the run's data in its latent mode (GPU lane)."""
        return load_clips(self.engine, token, name, settings.data, settings.latents, settings.device,
                          settings.resolution, self.latent_cache, settings.short_side)

    # -- training ---------------------------------------------------------------------------
    def train(self, settings: WorldSettings, checkpoint_root: str | Path | None, resume: bool = False) -> int:
        """Train a world model per encoder of ``settings`` in the background; returns the run id.

        Each encoder's model is checkpointed to ``checkpoint_root/<encoder>`` (every
        ``settings.checkpoint_every`` steps, when a slice yields, on cancel and at the end).
        With ``resume``, a compatible checkpoint there is loaded and trained on up to
        the settings' decoder and transition steps (the step counts continue). Delivers :class:`WorldProgress`,
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
        from ...world.training import train_decoder, train_transition

        s = run.settings
        while run.index < len(s.encoders):
            name = s.encoders[run.index]
            if run.world is None:
                self._progress(run, "encoding", 0, 1, force=True)
                self._prepare(token, run, name)
                self._progress(run, "decoder", run.world.state["decoder"].step, s.training.decoder_steps, force=True)
                if should_stop():
                    return False
            for part, fn in (("decoder", train_decoder), ("transition", train_transition)):
                state = run.world.state[part]
                train_settings = dataclasses.replace(
                    s.training, device=str(run.world.device)
                ).train_settings(part, checkpoint_every=s.checkpoint_every, val_every=s.val_every)
                if state.step >= train_settings.steps:
                    continue
                run.part = part

                def progress(step: int, total: int, loss: float, part: str = part) -> None:
                    at_val = step % s.val_every == 0 or step == total
                    self._progress(run, part, step, total, force=at_val)
                    if should_stop():
                        stop.set()

                fn(run.world, run.sequences, train_settings, progress, stop, run.checkpoint)
                if run.cancel.is_set():
                    return True
                if state.step < train_settings.steps:
                    return False  # yielded to waiting work
                self._progress(run, part, state.step, train_settings.steps, force=True)
                self._ready(run, name)
            if run.checkpoint is not None:
                run.checkpoints.append(str(run.checkpoint))
            run.index += 1
            run.world = None
            run.sequences = []
        return True

    def _prepare(self, token: CancelToken, run: _Run, name: str) -> None:
        from ...world.checkpoints import load_world
        from ...world.model import prepare_sequence, same_architecture

        s = run.settings
        t = s.training
        clips = self._load_clips(token, name, s)
        tubelet = int(clips.features[0].tubelet_size)
        label = clips.features[0].label
        if s.frameskip % tubelet:
            raise UsageError(
                f"frameskip {s.frameskip} is not a multiple of {label}'s tubelet size {tubelet}: use an even frameskip"
            )
        has_actions = clips.actions[0] is not None
        action_dim = int(np.asarray(clips.actions[0]).reshape(len(clips.frames[0]), -1).shape[1]) if has_actions else 0
        world = t.new_world(clips.features, s.frameskip // tubelet, action_dim, s.target)
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
            prepare_sequence(world, f, fr, a, t.val_fraction, rows)
            for f, fr, a, rows in zip(clips.features, clips.frames, clips.actions, clips.rows)
        ]
        self.worlds[name] = StudioWorld(name, world, s.data, s.frameskip, s.horizon, s.resolution, ckpt, s.short_side)
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
        names = []
        for entry in load_entries(Path(path), fallback):
            self.engine.submit_gpu_task(lambda _t, e=entry: self._install(e))
            names.append(entry.encoder)
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
        from ...world.checkpoints import save_world

        names = [n for n in (encoders or list(self.worlds)) if n in self.worlds]
        if not names:
            raise UsageError("there is no world model to save: train one or load a checkpoint first")
        out = Path(path)

        def fn(progress: Callable[[int, int], None], cancel: Callable[[], bool]) -> object:
            for i, name in enumerate(names):
                entry = self.worlds[name]
                folder = out if len(names) == 1 else out / safe_name(name)
                save_world(entry.world, folder)
                write_json(folder / SIDECAR, entry.sidecar())
                progress(i + 1, len(names))
            return out

        return self.engine.run_task(f"saving world models to {out.name}", fn, "save")

    # -- reconstructions --------------------------------------------------------------------
    def request_reconstruction(
        self, encoder: str, frames: Sequence[int], frame: int, device: str = "auto", resolution: int | None = None
    ) -> int:
        """Decode the tokens of source ``frame`` (the clip ``frames`` around it) with
        ``encoder``'s world model; :class:`Reconstruction` follows (latest per encoder wins)."""
        frames = tuple(int(f) for f in frames)
        return self._submit_view(
            f"recon:{encoder}", encoder,
            lambda token, entry, rid: self.reconstruct(token, entry, frames, int(frame), device, resolution, rid),
            lambda entry, rid, note: Reconstruction(rid, encoder, entry.label, int(frame), None, (0, 0, 0, 0), 0, note),
        )

    def _submit_view(
        self, kind: str, encoder: str,
        compute: Callable[[CancelToken, StudioWorld, int], object],
        failed: Callable[[StudioWorld, int, str], object],
    ) -> int:
        """Queue a view of ``encoder``'s world model on the GPU lane; returns its id. Only the
        latest request of ``kind`` runs; an error is delivered as ``failed(entry, id, note)``."""
        rid = self._next_id(kind)

        def job(token: CancelToken) -> None:
            if rid != self._latest.get(kind) or token.cancelled:
                return
            entry = self.worlds.get(encoder)
            if entry is None:
                return
            try:
                self._deliver(compute(token, entry, rid))
            except Cancelled:
                raise
            except Exception as error:  # noqa: BLE001 - shown in the pane
                message, _ = self._report_error(error)
                self._deliver(failed(entry, rid, message))

        self.engine.submit_gpu_task(job)
        return rid

    def reconstruct(
        self, token: CancelToken, entry: StudioWorld, frames: tuple[int, ...], frame: int,
        device: str, resolution: int | None, rid: int = 0,
    ) -> Reconstruction:
        """The :class:`Reconstruction` of source ``frame`` (GPU lane; see :func:`.views.reconstruct`)."""
        return reconstruct(self.engine, self.latent_cache, token, entry, frames, frame, device, resolution, rid)

    # -- rollouts ---------------------------------------------------------------------------
    def request_rollout(
        self, encoder: str, frame: int, device: str = "auto", resolution: int | None = None, episode: int = 0
    ) -> int:
        """Roll ``encoder``'s world model out from the context window ending at source
        ``frame`` (of the video, or of pendulum ``episode``); :class:`RolloutView` follows."""
        return self._submit_view(
            f"rollout:{encoder}", encoder,
            lambda token, entry, rid: self.rollout(token, entry, int(frame), device, resolution, int(episode), rid),
            lambda entry, rid, note: RolloutView(rid, encoder, entry.label, (), None, None, (0, 0, 0, 0), (), "", note),
        )

    def rollout(
        self, token: CancelToken, entry: StudioWorld, frame: int, device: str, resolution: int | None,
        episode: int = 0, rid: int = 0,
    ) -> RolloutView:
        """The :class:`RolloutView` from the context ending at source ``frame`` (GPU lane;
        see :func:`.views.rollout`)."""
        return rollout(self.engine, self.latent_cache, token, entry, frame, device, resolution, episode, rid)

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

    def why_not_decoded(self, view: Any) -> str:
        """Why a masked view with tokens has no decoded pane although its encoder has a
        layer-norm decoder ("" when there is nothing to say)."""
        entry = self.masked_decoder(view.encoder)
        if entry is None or not view.variants or view.variants[0].tokens is None:
            return ""
        h, w = entry.world.encoder.grid
        if tuple(view.variants[0].tokens.shape[1:3]) == (h, w):
            return ""
        return (f"the layer-norm decoder of {view.encoder} was trained on a {h}x{w} token grid, not the panes': "
                "train it at the panes' resolution to decode masked predictions")

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
            self._deliver(MaskDecoded(rid, view.encoder, entry.label, frozen(last), view.frame_indices, view.crop_box))

        self.engine.submit_gpu_task(job)
        return rid

    # -- the comparison ---------------------------------------------------------------------
    def compare(self, settings: WorldSettings, checkpoint_dir: str | Path | None = None, source: str | None = None) -> int:
        """Run :func:`~jepa_studio.world.compare.compare_encoders` on ``settings``' encoders
        and data in the background; :class:`CompareProgress` then :class:`CompareDone` follow."""
        if self.training:
            raise UsageError("a world model is training: wait for it or cancel it before comparing")
        rid = self._next_id("compare")
        cancel = threading.Event()
        self._compare_cancel = cancel
        self._idle.clear()
        video_path = self.engine.video_path

        def job(token: CancelToken) -> None:
            try:
                if token.cancelled or cancel.is_set():  # cancelled while it waited in the queue
                    self._deliver(Progress("comparison", 1, 1, cancelled=True))
                    self._deliver(CompareDone(rid, cancelled_comparison(settings, source, video_path)))
                    return
                result = run_comparison(self.engine, token, rid, settings, cancel, self._deliver, self.latent_cache,
                                        checkpoint_dir, source)
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
        from ...world.report import write_report

        out = Path(folder)

        def fn(progress: Callable[[int, int], None], cancel: Callable[[], bool]) -> object:
            write_report(result, out)
            return out / "report.json"

        return self.engine.run_task(f"writing the report to {out.name}", fn, "report")


def _encoder_device(engine: Any, name: str, settings: WorldSettings) -> str:
    enc = engine.encoder(name, settings.device, settings.resolution)
    return str(getattr(enc, "device", "cpu"))
