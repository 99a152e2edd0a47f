"""Races and resource bounds of the engine, made deterministic with Event-gated fakes.

Each test is the regression test of one review finding: a video opened while a view is
computed, a cancel while world-model work waits in the queue, progress that must end, one
encoder instance per name, a stale playhead after another video opened, frame and feature
caches that hold only what they count, checkpoints and sidecars that are never half
written, and session PCA bases keyed by resolution.
"""

from __future__ import annotations

import json
import pathlib
import shutil
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from jepa_studio.encoders import load_encoder
from jepa_studio.engine import (
    ErrorReport,
    FrameReady,
    PaneError,
    PaneImage,
    StudioEngine,
    VideoOpened,
    make_request,
)
from jepa_studio import maps
from jepa_studio.engine.messages import Progress
from jepa_studio.engine.world import (
    CompareDone,
    DataSpec,
    WorldEngine,
    WorldRunDone,
    WorldSettings,
    read_sidecar,
    write_sidecar,
)
from engine_helpers import TIMEOUT, Inbox, moving_square_frames

from jepa_studio.state import ClipWindow, ViewSettings
from jepa_studio.video import open_video, write_video






class Gate:
    """``wait()`` on a worker blocks until the test calls ``open()``; ``entered`` says it got there."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self._open = threading.Event()

    def wait(self, _token: Any = None) -> None:
        self.entered.set()
        assert self._open.wait(TIMEOUT)

    def open(self) -> None:
        self._open.set()


def gated_loader(gate: Gate, calls: list | None = None):
    """An encoder loader that blocks in ``gate`` before loading (a slow model load)."""

    def load(name: str, device=None, **kwargs):
        if calls is not None:
            calls.append((name, device, kwargs.get("resolution")))
        gate.wait()
        return load_encoder(name, device=device, **kwargs)

    return load


def counting_loader(calls: list):
    def load(name: str, device=None, **kwargs):
        calls.append((name, device, kwargs.get("resolution")))
        return load_encoder(name, device=device, **kwargs)

    return load


def last_progress_is_finished(inbox: Inbox) -> bool:
    last = inbox.of(Progress)[-1]
    return last.total > 0 and last.done >= last.total


@pytest.fixture(scope="module")
def other_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """12 frames that differ everywhere from the square video (another colour, flipped)."""
    frames = 255 - moving_square_frames(12)[:, ::-1]
    path = tmp_path_factory.mktemp("videos") / "other.mp4"
    write_video(path, np.ascontiguousarray(frames), 10.0)
    return path


def open_and_wait(engine: StudioEngine, inbox: Inbox, path: Path) -> VideoOpened:
    count = len(inbox.of(VideoOpened))
    engine.open_video(path)
    return inbox.wait_for(VideoOpened, count + 1)[-1]


# ---------------------------------------------------------------- 1. video switch during a view


def test_video_opened_during_a_view_never_files_the_old_video_under_the_new_key(small_video, other_video) -> None:
    inbox = Inbox()
    gate = Gate()
    engine = StudioEngine(inbox, encoder_loader=gated_loader(gate), prefetch=False)
    try:
        open_and_wait(engine, inbox, small_video)
        old_request = make_request(engine.video_key, 0, ClipWindow(8, 1), 20, ("pixels",), ViewSettings())
        old_generation, _ = engine.request_view(old_request)
        assert gate.entered.wait(TIMEOUT)  # the GPU lane is loading the encoder for the old video
        opened = open_and_wait(engine, inbox, other_video)  # the io lane swaps the video meanwhile
        assert opened.video_key == engine.video_key != old_request.video_key
        gate.open()
        assert engine.wait_idle(TIMEOUT)

        # the old view stopped: nothing of it reached a pane, and nothing under the new key
        assert not [m for m in inbox.of(PaneImage) if m.generation == old_generation]
        with open_video(other_video) as video:
            truth = video.clip(0, 8, 1)
        for f in range(8):
            cached = engine.cached_frame(f)
            assert cached is None or np.array_equal(cached, truth[f])
        token = type("Token", (), {"cancelled": False, "check": lambda self: None})()
        feats = engine.clip_features(token, "pixels", range(8))
        expected = load_encoder("pixels").encode(truth, list(range(8)))
        assert torch.equal(feats.tokens, expected.tokens)
        assert last_progress_is_finished(inbox)
    finally:
        gate.open()
        engine.close()


def test_a_task_reads_the_video_it_started_on_and_caches_under_its_key(small_video, other_video) -> None:
    inbox = Inbox()
    engine = StudioEngine(inbox, prefetch=False)
    try:
        open_and_wait(engine, inbox, small_video)
        key_a = engine.video_key
        gate = Gate()
        out: dict[str, Any] = {}

        def job(token) -> None:  # a world-model or masking job: takes the source once
            src = engine.source()
            gate.wait()
            out["pixels"] = engine.clip_pixels(range(4), source=src)
            out["features"] = engine.clip_features(token, "pixels", range(4), source=src)

        engine.submit_gpu_task(job)
        assert gate.entered.wait(TIMEOUT)
        open_and_wait(engine, inbox, other_video)
        gate.open()
        assert engine.wait_idle(TIMEOUT)
        with open_video(small_video) as video:
            truth_a = video.clip(0, 4, 1)
        np.testing.assert_array_equal(out["pixels"], truth_a)
        assert torch.equal(out["features"].tokens, load_encoder("pixels").encode(truth_a, [0, 1, 2, 3]).tokens)
        # filed under the old video's key, not the new one's
        assert engine._frames.get((key_a, 0)) is not None
        assert engine.cached_frame(0) is None
    finally:
        engine.close()


# ---------------------------------------------------------------- 2. cancel with queued tasks


def test_cancel_while_training_waits_in_the_queue_ends_the_run(small_video) -> None:
    inbox = Inbox()
    engine = StudioEngine(inbox, prefetch=False)
    try:
        open_and_wait(engine, inbox, small_video)
        world = WorldEngine(engine, inbox)
        gate = Gate()
        engine.submit_gpu_task(gate.wait)  # an export or masked prediction runs
        assert gate.entered.wait(TIMEOUT)
        settings = WorldSettings.of(("pixels",), DataSpec("video", 0, 16, 1), decoder_steps=3, transition_steps=3, resolution=32,
                                 width=16, depth=1, heads=2, decoder_hidden=8, batch_size=4)
        run = world.train(settings, None)
        assert world.training
        engine.cancel()  # the user presses Cancel while the run waits in the queue
        gate.open()
        assert engine.wait_idle(TIMEOUT)
        done = inbox.wait_for(WorldRunDone)
        assert [(d.run, d.cancelled, d.error) for d in done] == [(run, True, "")]
        assert not world.training and world.shutdown(timeout=0.1)
        assert world.slice_count == 0  # it never trained
        assert last_progress_is_finished(inbox)

        # the same for a comparison: it reports that it was cancelled
        gate2 = Gate()
        engine.submit_gpu_task(gate2.wait)
        assert gate2.entered.wait(TIMEOUT)
        compare = world.compare(settings)
        engine.cancel()
        gate2.open()
        assert engine.wait_idle(TIMEOUT)
        result = inbox.wait_for(CompareDone)[-1]
        assert result.run == compare and result.error == "" and result.result.cancelled
        assert result.result.encoders == []
        assert not world.training
        world.train(settings, None)  # not "already training"
        assert world.wait_idle(60)
        assert inbox.of(WorldRunDone)[-1].cancelled is False
    finally:
        engine.close()


def test_cancel_still_closes_the_previous_video(small_video, other_video) -> None:
    closed: list[Path] = []

    def opener(path: Path):
        video = open_video(path)
        original = video.close

        def close() -> None:
            closed.append(Path(path))
            original()

        video.close = close
        return video

    inbox = Inbox()
    engine = StudioEngine(inbox, video_opener=opener, prefetch=False)
    try:
        open_and_wait(engine, inbox, small_video)
        gate = Gate()
        engine.submit_gpu_task(gate.wait)
        assert gate.entered.wait(TIMEOUT)
        open_and_wait(engine, inbox, other_video)  # the old video's close waits behind the gate
        engine.cancel()
        gate.open()
        assert engine.wait_idle(TIMEOUT) and engine.wait_idle(TIMEOUT)
        assert closed == [small_video]
    finally:
        engine.close()


def test_cancel_of_a_queued_export_reports_it_without_running_it(small_video) -> None:
    inbox = Inbox()
    engine = StudioEngine(inbox, prefetch=False)
    try:
        open_and_wait(engine, inbox, small_video)
        gate = Gate()
        ran: list[bool] = []
        engine.submit_gpu_task(gate.wait)
        assert gate.entered.wait(TIMEOUT)
        engine.run_task("exporting x.png", lambda progress, cancel: ran.append(True))
        engine.cancel()
        gate.open()
        assert engine.wait_idle(TIMEOUT)
        assert ran == []
        assert inbox.of(Progress)[-1] == Progress("exporting x.png", 1, 1, cancelled=True)
    finally:
        engine.close()


# ---------------------------------------------------------------- 3. a superseded view ends progress


class GatedEncoder:
    """A real encoder whose ``encode`` blocks in ``gate`` while ``armed``."""

    def __init__(self, inner: Any, gate: Gate) -> None:
        self._inner = inner
        self._gate = gate
        self.armed = False

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def encode(self, frames, frame_indices=None):
        if self.armed:
            self._gate.wait()
        return self._inner.encode(frames, frame_indices)


def test_a_superseded_view_ends_its_progress_when_the_new_one_is_cached(small_video) -> None:
    gate = Gate()
    encoders: list[GatedEncoder] = []

    def loader(name: str, device=None, **kwargs):
        encoders.append(GatedEncoder(load_encoder(name, device=device, **kwargs), gate))
        return encoders[-1]

    inbox = Inbox()
    engine = StudioEngine(inbox, encoder_loader=loader, prefetch=False)
    try:
        open_and_wait(engine, inbox, small_video)
        clip = ClipWindow(8, 1)
        cached = make_request(engine.video_key, 0, clip, 20, ("pixels",), ViewSettings())
        engine.request_view(cached)
        assert engine.wait_idle(TIMEOUT)
        encoders[0].armed = True
        engine.request_view(make_request(engine.video_key, 9, clip, 20, ("pixels",), ViewSettings()))
        assert gate.entered.wait(TIMEOUT)  # encoding clip 1: the status bar shows "encoding"
        assert inbox.of(Progress)[-1].text == "encoding pixels" and not last_progress_is_finished(inbox)
        _, ready = engine.request_view(cached)  # back to clip 0: answered from the cache
        assert set(ready) == {"pixels"}
        gate.open()
        assert engine.wait_idle(TIMEOUT)
        assert last_progress_is_finished(inbox)
    finally:
        gate.open()
        engine.close()


# ---------------------------------------------------------------- 4. loading progress ends


def test_loading_an_encoder_outside_a_view_ends_its_progress(small_video) -> None:
    inbox = Inbox()
    engine = StudioEngine(inbox, prefetch=False)
    try:
        open_and_wait(engine, inbox, small_video)
        engine.submit_gpu_task(lambda t: engine.clip_features(t, "pixels", range(4), "auto", 48))
        assert engine.wait_idle(TIMEOUT)
        loading = [m for m in inbox.of(Progress) if m.text == "loading pixels"]
        assert loading == [Progress("loading pixels", 0, 0), Progress("loading pixels", 1, 1)]
        assert last_progress_is_finished(inbox)

        # and when loading fails
        engine.submit_gpu_task(lambda t: engine.encoder("no-such-encoder"))
        assert engine.wait_idle(TIMEOUT)
        assert inbox.of(ErrorReport)[-1].kind == "encoder"
        assert [m for m in inbox.of(Progress) if m.text == "loading no-such-encoder"][-1].done == 1
        assert last_progress_is_finished(inbox)
    finally:
        engine.close()


# ---------------------------------------------------------------- 5. one encoder per name


def test_one_encoder_instance_per_name_keyed_on_the_resolved_device(small_video) -> None:
    calls: list = []
    inbox = Inbox()
    engine = StudioEngine(inbox, encoder_loader=counting_loader(calls), prefetch=False)
    try:
        open_and_wait(engine, inbox, small_video)
        clip = ClipWindow(4, 1)
        for resolution in (None, 32, 48):
            for device in ("auto", "cpu"):  # "auto" is the CPU here: the same instance
                engine.request_view(make_request(engine.video_key, 0, clip, 20, ("pixels",), ViewSettings(), device, resolution))
                assert engine.wait_idle(TIMEOUT)
        assert [c[2] for c in calls] == [None, 32, 48]
        assert engine.loaded_models() == ("pixels",)
        assert engine.encoder("pixels", "cpu", 48, load=False) is not None
        assert engine.encoder("pixels", "auto", 32, load=False) is None  # dropped, not piled up
        assert len(engine._models._items) == 1
    finally:
        engine.close()


# ---------------------------------------------------------------- 6. stale playhead


def test_requests_with_the_previous_videos_playhead_are_quietly_ignored(small_video, other_video) -> None:
    inbox = Inbox()
    engine = StudioEngine(inbox, prefetch=False)
    try:
        open_and_wait(engine, inbox, small_video)
        old_key = engine.video_key
        opened = open_and_wait(engine, inbox, other_video)
        assert opened.n_frames == 12
        # the GUI has not handled VideoOpened yet: it still asks with 20 frames, playhead 17
        assert engine.request_frame(17) is None
        engine.request_view(make_request(old_key, 17, ClipWindow(8, 1), 20, ("pixels",), ViewSettings()))
        engine.request_view(make_request(opened.video_key, 17, ClipWindow(8, 1), 20, ("pixels",), ViewSettings()))
        assert engine.wait_idle(TIMEOUT)
        assert inbox.of(ErrorReport) == [] and inbox.of(PaneError) == []
        assert inbox.of(PaneImage) == [] and [m.frame for m in inbox.of(FrameReady)] == []
        # then the GUI catches up with the key from VideoOpened
        generation, _ = engine.request_view(make_request(opened.video_key, 9, ClipWindow(8, 1), 12, ("pixels",), ViewSettings()))
        assert engine.request_frame(9) is None
        assert engine.wait_idle(TIMEOUT)
        assert [m.generation for m in inbox.of(PaneImage)] == [generation]
        assert [(m.video_key, m.frame) for m in inbox.of(FrameReady)] == [(opened.video_key, 9)]
    finally:
        engine.close()


# ---------------------------------------------------------------- 7. the frame cache owns its frames


def test_cached_frames_own_their_memory(small_video) -> None:
    inbox = Inbox()
    engine = StudioEngine(inbox, prefetch=False, frame_cache_size=6)
    try:
        open_and_wait(engine, inbox, small_video)
        engine.request_view(make_request(engine.video_key, 0, ClipWindow(8, 1), 20, ("pixels",), ViewSettings()))
        assert engine.wait_idle(TIMEOUT)  # the GPU lane decoded frames 0-7 as one clip
        engine.request_frame(12)  # the io lane decodes one frame
        assert engine.wait_idle(TIMEOUT)
        with open_video(small_video) as video:
            truth = video.clip(0, 20, 1)
        kept = [f for f in range(20) if engine.cached_frame(f) is not None]
        assert kept == [3, 4, 5, 6, 7, 12]  # the LRU's 6 most recent
        for f in kept:
            image = engine.cached_frame(f)
            # a view into the decoded clip would keep all 8 frames alive for one cache entry
            assert image.base is None and image.flags.owndata and not image.flags.writeable
            assert image.nbytes == 64 * 96 * 3
            np.testing.assert_array_equal(image, truth[f])
    finally:
        engine.close()


def test_frame_cache_is_bounded_by_bytes(small_video) -> None:
    """Frames of a big video fill a byte budget long before the entry count."""
    inbox = Inbox()
    frame_mb = 64 * 96 * 3 / 2**20
    engine = StudioEngine(inbox, prefetch=False, frame_cache_size=100, frame_cache_mb=4.5 * frame_mb)
    try:
        open_and_wait(engine, inbox, small_video)
        for f in range(10):
            engine.request_frame(f)
            assert engine.wait_idle(TIMEOUT)
        kept = [f for f in range(20) if engine.cached_frame(f) is not None]
        assert kept == [6, 7, 8, 9]  # 4 frames fit in 4.5 frames' bytes
    finally:
        engine.close()


# ---------------------------------------------------------------- 8. features cached on the CPU


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_feature_cache_keeps_cpu_tensors_and_consumers_get_the_device(small_video) -> None:
    inbox = Inbox()
    engine = StudioEngine(inbox, prefetch=False)
    try:
        open_and_wait(engine, inbox, small_video)
        engine.request_view(make_request(engine.video_key, 0, ClipWindow(4, 1), 20, ("pixels",), ViewSettings(), "cuda"))
        assert engine.wait_idle(TIMEOUT)
        cached = list(engine._features._items.values())
        assert cached and all(f.tokens.device.type == "cpu" for f, _ in cached)
        out: list = []
        engine.submit_gpu_task(lambda t: out.append(engine.clip_features(t, "pixels", range(4), "cuda")))
        assert engine.wait_idle(TIMEOUT)
        assert out[0].tokens.device.type == "cuda"
    finally:
        engine.close()


# ---------------------------------------------------------------- 9. checkpoints and sidecars


def _tiny_world(steps: int):
    from jepa_studio.world.model import WorldModel, prepare_sequence
    from jepa_studio.world.training import TrainSettings, train_decoder

    frames = moving_square_frames(8, 32, 32)
    feats = load_encoder("pixels-tubelet", resolution=32).encode(frames)
    world = WorldModel.create([feats], history=2, width=16, depth=1, heads=2, decoder_hidden=8)
    seq = prepare_sequence(world, feats, frames)
    train_decoder(world, [seq], TrainSettings(steps=steps, batch_size=2, seed=steps))
    return world


def test_a_save_interrupted_between_its_two_files_loads_one_consistent_checkpoint(tmp_path) -> None:
    from jepa_studio.world.checkpoints import load_world, save_world

    old, new = _tiny_world(2), _tiny_world(3)
    save_world(old, tmp_path / "ck")
    save_world(new, tmp_path / "new")
    # the new save got as far as replacing the weights, then the app was closed
    shutil.copy(tmp_path / "new" / "weights.safetensors", tmp_path / "ck" / "weights.safetensors")
    assert json.loads((tmp_path / "ck" / "config.json").read_text())["training"]["decoder"]["step"] == 2
    back = load_world(tmp_path / "ck")
    assert back.state["decoder"].step == 3 and back.state["decoder"].losses == new.state["decoder"].losses
    for a, b in zip(back.decoder.state_dict().values(), new.decoder.state_dict().values()):
        assert torch.equal(a, b)


def test_a_sidecar_write_that_fails_keeps_the_previous_sidecar(tmp_path, monkeypatch) -> None:
    settings = WorldSettings.of(("pixels",), DataSpec("video", 0, 16, 1), frameskip=2, horizon=4)
    write_sidecar(tmp_path, "pixels", settings)
    before = read_sidecar(tmp_path)
    assert before["encoder"] == "pixels" and before["horizon"] == 4

    original = pathlib.Path.write_text

    def half_then_fail(self, text, *args, **kwargs):  # the disk fills up mid-write
        original(self, text[: len(text) // 2], *args, **kwargs)
        raise OSError("No space left on device")

    monkeypatch.setattr(pathlib.Path, "write_text", half_then_fail)
    with pytest.raises(OSError):
        write_sidecar(tmp_path, "pixels", WorldSettings.of(("pixels",), horizon=7))
    monkeypatch.undo()
    assert read_sidecar(tmp_path) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["studio.json"]


# ---------------------------------------------------------------- minor: session bases


def test_session_bases_are_per_resolution_and_bounded(small_video, monkeypatch) -> None:
    from jepa_studio.engine import studio

    inbox = Inbox()
    engine = StudioEngine(inbox, prefetch=False)
    try:
        open_and_wait(engine, inbox, small_video)
        view = ViewSettings(basis="session")
        clip = ClipWindow(4, 1)
        engine.request_view(make_request(engine.video_key, 0, clip, 20, ("pixels",), view, "auto", 32))
        assert engine.wait_idle(TIMEOUT)
        generation, _ = engine.request_view(make_request(engine.video_key, 0, clip, 20, ("pixels",), view, "auto", 48))
        assert engine.wait_idle(TIMEOUT)
        pane = [m for m in inbox.of(PaneImage) if m.generation == generation][0]
        with open_video(small_video) as video:
            feats = load_encoder("pixels", resolution=48).encode(video.clip(0, 4, 1), [0, 1, 2, 3])
        expected = maps.get("pca").compute(feats, view, maps.ClipContext(feats)).images[0]  # fitted on this clip
        np.testing.assert_array_equal(pane.image, expected)

        for i in range(studio.BASIS_CACHE_SIZE + 4):  # many thresholds: the cache stays bounded
            v = ViewSettings(basis="session", foreground_threshold=i / 1000)
            engine.request_view(make_request(engine.video_key, 0, ClipWindow(1, 1), 20, ("pixels",), v, "auto", 32))
            assert engine.wait_idle(TIMEOUT)
        assert len(engine._bases) == studio.BASIS_CACHE_SIZE
    finally:
        engine.close()
