"""The Ray engine: a dataset's videos over the CPUs and GPUs of a Ray cluster (``pip install 'jepa-studio[ray]'``).

Ray Data's batch inference pattern, in two stages streamed one into the other:

1. :class:`ClipReader`, an autoscaling pool of CPU actors: each opens a video, cuts its
   selected frames into clip ranges of ``clip_frames`` frames (whole forward-pass
   windows) and yields each range decoded (uint8 [n, H, W, 3]) as one row, so a long video
   is spread over all encoders, and memory holds a few ranges, never a video.
2. :class:`ClipEncoder`, a fixed pool of actors (one per GPU, ``num_gpus=1``; on a
   machine without GPUs, one CPU actor), each loading the model once: it runs the same
   windowed extraction as the local engine on its range and writes the features file
   (a video of one range) or the range's shard (see :mod:`.shards`) into the output
   folder, which must be a path every worker can write (a shared filesystem).

The driver follows the rows that come back; once every range of a long video is in, a Ray
task joins its shards. Videos that fail are reported with their error; the others go on.
On the CPU the features are identical, bit for bit, to the local engine's.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np

from ..errors import JepaStudioError, UsageError
from .jobs import Job, error_text
from .local import Report
from .manifest import base_row, file_row
from .progress import DatasetProgress
from .settings import ExtractSettings, completed
from .shards import assemble_shards, clip_ranges, shard_path
from .stderr_filter import drop_ray_log_lines

PACKAGE_DIR = Path(__file__).resolve().parents[1]
#: shard joins in flight at once
MAX_ASSEMBLING = 4
_NO_FRAMES = np.zeros((1, 1, 1, 3), np.uint8)


def import_ray() -> Any:
    """The ``ray`` module, or a UsageError saying how to install it."""
    try:
        import ray
        import ray.data  # the Data library is part of the extra
    except ImportError:
        raise UsageError("--engine ray needs Ray Data: pip install 'jepa-studio[ray]'") from None
    return ray


def _first_line(error: BaseException) -> str:
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return lines[0][:300] if lines else type(error).__name__


def start_ray(address: str | None = None, *, num_cpus: int | None = None, num_gpus: int | None = None,
              object_store_memory: int | None = None) -> bool:
    """Join the Ray cluster at ``address`` (or ``$RAY_ADDRESS``), else start Ray on this machine.

    Does nothing when Ray is already initialised in this process (returns False). Ray's own
    logs stay in its session folder (``/tmp/ray/session_latest/logs``) and its progress bars
    are off, so the command line shows only this program's progress and messages. Workers
    import this copy of the ``jepa_studio`` package (a cluster's workers receive it), so
    they run the same code.

    Parameters
    ----------
    num_cpus, num_gpus, object_store_memory: limits for a local Ray (default: the machine's).

    Raises
    ------
    UsageError
        Ray is not installed, or the cluster cannot be reached or started.
    """
    ray = import_ray()
    if ray.is_initialized():
        return False
    address = address or os.environ.get("RAY_ADDRESS") or None
    options: dict[str, Any] = dict(logging_level=logging.ERROR, log_to_driver=False)
    try:
        if address:
            ray.init(address=address, runtime_env={"py_modules": [str(PACKAGE_DIR)]}, **options)
        else:
            # "local": a new Ray of this process's own, even where `ray start` runs one. Its
            # processes inherit this environment: with this package first on PYTHONPATH, the
            # workers Ray starts ahead import it (no runtime environment to build or upload)
            saved = os.environ.get("PYTHONPATH")
            os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(PACKAGE_DIR.parent), saved) if p)
            try:
                ray.init(address="local", num_cpus=num_cpus, num_gpus=num_gpus,
                         object_store_memory=object_store_memory, include_dashboard=False, **options)
            finally:
                if saved is None:
                    os.environ.pop("PYTHONPATH", None)
                else:
                    os.environ["PYTHONPATH"] = saved
    except Exception as error:  # noqa: BLE001 - Ray raises many kinds; one line for the user
        where = f"join the Ray cluster at {address}" if address else "start Ray on this machine"
        raise UsageError(f"cannot {where}: {_first_line(error)}") from None
    quiet_ray_data()
    return True


def quiet_ray_data() -> None:
    """No Ray Data progress bars, banners or log records on this process's terminal (Ray
    keeps writing its log files: ``/tmp/ray/session_latest/logs``)."""
    import ray.data

    ctx = ray.data.DataContext.get_current()
    ctx.enable_progress_bars = False
    ctx.enable_operator_progress_bars = False
    ctx.print_on_execution_start = False
    for name in ("ray", "ray.data"):
        for handler in logging.getLogger(name).handlers:
            # Ray's own console handlers only (plain StreamHandlers): not files, and not a
            # handler someone else attached (a test's log capture, an application's)
            if type(handler) is logging.StreamHandler:
                handler.setLevel(logging.CRITICAL + 1)


@dataclass(frozen=True)
class Resources:
    """How the cluster is shared: encoder actors (each on a GPU, or ``encode_cpus`` CPUs), decoder actors."""

    actors: int
    use_gpu: bool
    encode_cpus: int
    decoders: int


def plan_resources(cluster: dict[str, float], settings: ExtractSettings, actors: int | None) -> Resources:
    """One encoder actor per GPU (or ``actors``); without GPUs one CPU actor with all CPUs but one;
    decoders autoscale on the CPUs left (at least one)."""
    cpus, gpus = int(cluster.get("CPU", 1)), int(cluster.get("GPU", 0))
    device = settings.encoder.device
    use_gpu = gpus > 0 and (device is None or device == "auto" or device.startswith("cuda"))
    n = actors or (gpus if use_gpu else 1)
    encode_cpus = 1 if use_gpu else max(1, (cpus - 1) // n)
    return Resources(n, use_gpu, encode_cpus, max(1, cpus - n * encode_cpus - (1 if use_gpu else 0)))


def _scalar(value: Any) -> Any:
    """A Python value from one cell of a batch (numpy scalars and 0-d arrays unwrapped)."""
    return value.item() if isinstance(value, (np.generic, np.ndarray)) and np.ndim(value) == 0 else value


def _row(**values: Any) -> dict[str, np.ndarray]:
    """One Ray Data row as a batch of one (arrays of length 1)."""
    return {k: (v[None] if isinstance(v, np.ndarray) else np.array([v])) for k, v in values.items()}


class ClipReader:
    """CPU stage: a video in, its clip ranges out, decoded, one row per range.

    A range whose shard is already complete and current is passed on as ``cached``
    (not decoded); a video that cannot be opened or read yields a ``failed`` row.
    """

    def __init__(self, settings: ExtractSettings, out_dir: str, clip_frames: int) -> None:
        self.settings, self.out_dir, self.clip_frames = settings, Path(out_dir), int(clip_frames)

    def __call__(self, batch: dict[str, np.ndarray]) -> Iterator[dict[str, np.ndarray]]:
        for k in range(len(batch["job"])):
            job = {key: _scalar(batch[key][k]) for key in ("job", "source", "name", "output", "size", "mtime_ns")}
            yield from self._read(job)

    def _read(self, job: dict[str, Any]) -> Iterator[dict[str, np.ndarray]]:
        from ..video.ranges import parse_frame_range
        from ..video import open_video

        def row(status: str, part: range | None = None, ranges: int = 0, index: int = 0, error: str = "",
                frames: np.ndarray = _NO_FRAMES, fps: float = 0.0, selection: range = range(0)) -> dict[str, np.ndarray]:
            part = part or range(0)
            return _row(**job, range=index, ranges=ranges, start=part.start, stop=part.stop, step=part.step,
                        sel_start=selection.start, sel_stop=selection.stop, sel_step=selection.step, fps=fps,
                        status=status, error=error, frames=frames)

        stat = (job["size"], job["mtime_ns"])
        try:
            video = open_video(job["source"])
        except Exception as error:  # noqa: BLE001 - reported in the manifest
            yield row("failed", error=error_text(error))
            return
        with video:
            try:
                selection = parse_frame_range(self.settings.frames, len(video), default="::1")
            except JepaStudioError as error:
                yield row("failed", error=error_text(error))
                return
            parts = clip_ranges(selection, self.clip_frames)
            frames_iter: Iterator[tuple[int, np.ndarray]] | None = None
            for index, part in enumerate(parts):
                common = dict(part=part, ranges=len(parts), index=index, fps=float(video.fps), selection=selection)
                shard = shard_path(self.out_dir, job["name"], part)
                if len(parts) > 1 and completed(shard, self.settings, stat, [part.start, part.stop, part.step]):
                    frames_iter = None
                    yield row("cached", **common)
                    continue
                try:
                    if frames_iter is None:  # decode on from here, sequentially, across ranges
                        frames_iter = video.iter_frames(part.start, selection.stop, selection.step)
                    got = list(islice(frames_iter, len(part)))
                    if [i for i, _ in got] != list(part):
                        raise UsageError(f"{Path(job['source']).name} ended before frame {part[len(got)]}")
                except Exception as error:  # noqa: BLE001 - reported in the manifest
                    yield row("failed", error=error_text(error), **common)
                    return
                yield row("todo", frames=np.stack([f for _, f in got]), **common)


class ClipEncoder:
    """GPU (or CPU) stage: loads the encoder once, encodes each range row into a file in the output folder.

    On the CPU it runs torch with ``threads`` threads, the driver's: some kernels split
    their sums by thread, so this is what makes the features equal to the local engine's
    bit for bit (Ray would otherwise give the actor one thread per reserved CPU).
    """

    def __init__(self, settings: ExtractSettings, out_dir: str, clip_frames: int, use_gpu: bool, threads: int) -> None:
        import torch

        from .stream import check_window

        self.settings, self.out_dir = settings, Path(out_dir)
        device = settings.encoder.device or "cpu"
        if use_gpu:
            import ray

            device = "cuda" if ray.get_gpu_ids() else device
        if not device.startswith("cuda"):
            torch.set_num_threads(threads)
        self.load_error: JepaStudioError | None = None
        try:
            self.encoder = settings.encoder.load(device=device)
            self.window = check_window(self.encoder, settings.encoder.window)
            if clip_frames % self.window:
                raise UsageError(f"--clip-frames must be a multiple of the {self.window}-frame window, not {clip_frames}")
        except JepaStudioError as error:  # the whole run's error: each row says so, the driver stops
            self.load_error = error

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        rows = [self._encode({key: batch[key][k] for key in batch}) for k in range(len(batch["job"]))]
        return {key: np.array([r[key] for r in rows]) for key in rows[0]}

    def _encode(self, row: dict[str, Any]) -> dict[str, Any]:
        from .stream import FrameArray, extract_video_features

        scalars = {k: _scalar(v) for k, v in row.items() if k != "frames"}
        out = dict(job=scalars["job"], range=scalars["range"], ranges=scalars["ranges"], status=scalars["status"],
                   error=scalars["error"], frames=0, seconds=0.0,
                   selection=f"{scalars['sel_start']}:{scalars['sel_stop']}:{scalars['sel_step']}")
        if self.load_error is not None:
            return {**out, "status": "fatal", "error": f"{type(self.load_error).__name__}: {self.load_error}"}
        if scalars["status"] != "todo":
            return out
        part = range(scalars["start"], scalars["stop"], scalars["step"])
        target = (Path(scalars["output"]) if scalars["ranges"] == 1
                  else shard_path(self.out_dir, scalars["name"], part))
        source, stat = Path(scalars["source"]), (scalars["size"], scalars["mtime_ns"])
        meta = self.settings.file_metadata(self.encoder, self.window, source, stat, scalars["fps"])
        try:
            result = extract_video_features(FrameArray(np.asarray(row["frames"]), list(part)), self.encoder, part,
                                            target, window=self.window, store_dtype=self.settings.torch_store_dtype,
                                            metadata=meta)
        except Exception as error:  # noqa: BLE001 - reported in the manifest
            return {**out, "status": "failed", "error": error_text(error)}
        return {**out, "status": "done", "frames": result.frames, "seconds": result.seconds}


def rebuild_error(text: str) -> JepaStudioError:
    """``"EncoderError: message"`` (as a worker reports it) -> that error of :mod:`jepa_studio.errors`."""
    from .. import errors

    name, _, message = text.partition(": ")
    kind = getattr(errors, name, None)
    if isinstance(kind, type) and issubclass(kind, JepaStudioError):
        return kind(message)
    return UsageError(text)


def clean_ray_error(error: BaseException) -> BaseException:
    """The user-caused error inside a Ray exception, re-made without Ray's traceback text;
    a one-line UsageError for Ray's own failures (a worker killed, the cluster gone); the
    error itself when a worker's code failed otherwise (a bug)."""
    from ray.exceptions import RayError, RayTaskError

    stack, seen = [error], set()
    while stack:
        e = stack.pop()
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        if isinstance(e, JepaStudioError) and not isinstance(e, RayError):
            return type(e)(str(e))
        stack += [getattr(e, "cause", None), e.__cause__, e.__context__]
    if isinstance(error, RayError) and not isinstance(error, RayTaskError):
        return UsageError(f"the Ray run stopped: {type(error).__name__}: {_first_line(error)} "
                          "(Ray's logs: /tmp/ray/session_latest/logs)")
    return error


class ShardJoiner:
    """A Ray actor (no CPU reserved, a few joins at once) that runs :func:`~.shards.assemble_shards`."""

    def join(self, shards: list[str], out: str, frames: list[int]) -> int:
        return assemble_shards(shards, out, frames)


class _Tracker:
    """The driver's view: which ranges of which video are in, joining shards, reporting rows."""

    def __init__(self, ray: Any, jobs: Sequence[Job], settings: ExtractSettings, out_dir: Path, report: Report,
                 progress: DatasetProgress, clip_frames: int, joiner: Any) -> None:
        self.ray, self.jobs, self.settings, self.out_dir, self.clip_frames = ray, jobs, settings, out_dir, clip_frames
        self.joiner = joiner
        self.report, self.progress = report, progress
        self.done: dict[int, set[int]] = {i: set() for i in range(len(jobs))}
        self.seconds = [0.0] * len(jobs)
        self.finished: set[int] = set()
        self.assembling: dict[Any, tuple[int, float]] = {}

    def fail(self, i: int, error: str) -> None:
        if i not in self.finished:
            self.finished.add(i)
            job = self.jobs[i]
            self.report(job, base_row(job.item, self.settings, job.stat, "failed", error))

    def succeed(self, i: int, seconds: float) -> None:
        from ..encoders.features_io import read_header

        job = self.jobs[i]
        self.finished.add(i)
        self.report(job, file_row(job.item, self.settings, read_header(job.output), self.out_dir, "done", seconds))

    def add(self, row: dict[str, Any]) -> None:
        if row["status"] == "fatal":  # the encoder cannot run at all: stop with its error
            raise rebuild_error(str(row["error"]))
        i = int(row["job"])
        self.progress.frames(int(row["frames"]))
        self.seconds[i] += float(row["seconds"])
        if i in self.finished:
            return
        if row["status"] == "failed":
            self.fail(i, str(row["error"]))
            return
        self.done[i].add(int(row["range"]))
        ranges = int(row["ranges"])
        if len(self.done[i]) < ranges:
            return
        if ranges == 1:
            self.succeed(i, self.seconds[i])
            return
        job = self.jobs[i]
        start, stop, step = (int(v) for v in str(row["selection"]).split(":"))
        parts = clip_ranges(range(start, stop, step), self.clip_frames)
        shards = [str(shard_path(self.out_dir, job.item.name, part)) for part in parts]
        self.finished.add(i)
        self.assembling[self.joiner.join.remote(shards, str(job.output), [start, stop, step])] = (i, self.seconds[i])
        while len(self.assembling) > MAX_ASSEMBLING:
            self.collect(block=True)

    def collect(self, block: bool) -> None:
        """Report the shard joins that have finished (at least one if ``block``)."""
        if not self.assembling:
            return
        ready, _ = self.ray.wait(list(self.assembling), num_returns=1 if block else len(self.assembling),
                                 timeout=None if block else 0)
        for ref in ready:
            i, seconds = self.assembling.pop(ref)
            try:
                self.ray.get(ref)
            except Exception as error:  # noqa: BLE001 - reported in the manifest
                self.finished.discard(i)
                self.fail(i, error_text(clean_ray_error(error)))
            else:
                self.succeed(i, seconds)

    def finish(self) -> None:
        while self.assembling:
            self.collect(block=True)
        for i in range(len(self.jobs)):
            self.fail(i, "the run ended before this video was complete")


def run_ray(jobs: Sequence[Job], settings: ExtractSettings, out_dir: Path, report: Report, progress: DatasetProgress,
            *, address: str | None = None, actors: int | None = None, clip_frames: int | None = None) -> None:
    """Extract ``jobs`` on Ray (see the module docstring); ``report(job, manifest_row)`` as each ends.

    Parameters
    ----------
    address: a Ray cluster to join (default ``$RAY_ADDRESS``, else a local Ray is started,
        unless this process already runs one).
    actors: encoder actors (default: one per GPU, else one).
    clip_frames: frames per clip range (a multiple of the window; default 4 windows).
    """
    import torch

    window = settings.encoder.window or 16  # every encoder's default window
    clip = int(clip_frames or 4 * window)
    if clip < 1 or clip % window:
        raise UsageError(f"--clip-frames must be a positive multiple of the {window}-frame window, not {clip}")
    if actors is not None and actors < 1:
        raise UsageError(f"--actors must be at least 1, not {actors}")
    ray = import_ray()
    start_ray(address)
    quiet_ray_data()
    res = plan_resources(ray.cluster_resources(), settings, actors)
    items = [dict(job=i, source=str(j.item.source), name=j.item.name, output=str(j.output), size=j.stat[0],
                  mtime_ns=j.stat[1]) for i, j in enumerate(jobs)]
    common = dict(settings=settings, out_dir=str(out_dir), clip_frames=clip)
    ds = ray.data.from_items(items, override_num_blocks=max(1, min(len(items), 64)))
    ds = ds.map_batches(ClipReader, batch_size=1, fn_constructor_kwargs=common, num_cpus=1,
                        compute=ray.data.ActorPoolStrategy(min_size=1, max_size=res.decoders))
    threads = torch.get_num_threads()
    ds = ds.map_batches(ClipEncoder, batch_size=1,
                        fn_constructor_kwargs={**common, "use_gpu": res.use_gpu, "threads": threads},
                        num_cpus=res.encode_cpus, num_gpus=1 if res.use_gpu else None,
                        compute=ray.data.ActorPoolStrategy(size=res.actors))
    # one long-lived process joins the shards of every long video: started now, its imports
    # overlap the encoders' start
    joiner = ray.remote(num_cpus=0, max_concurrency=MAX_ASSEMBLING)(ShardJoiner).remote()
    tracker = _Tracker(ray, jobs, settings, out_dir, report, progress, clip, joiner)
    try:
        with drop_ray_log_lines():
            for row in ds.iter_rows():
                tracker.add(row)
                tracker.collect(block=False)
            tracker.finish()
    except KeyboardInterrupt:
        raise
    except Exception as error:  # noqa: BLE001 - Ray wraps what the workers raised
        cleaned = clean_ray_error(error)
        if cleaned is error:
            raise
        raise cleaned from None
