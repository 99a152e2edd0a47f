"""Studio window responsiveness, measured side by side in one run (offscreen Qt).

1. Scrub latency with a cached result: from ``session.set_playhead`` (what a key press or
   a timeline drag calls) to the frame pane and four encoder panes holding the new images
   and the pane grid repainted, on a 1280x720 video. Target: under one 60 Hz frame (16.7 ms).
2. The longest GUI-thread stall while encoders work in the background (a QTimer heartbeat
   every 5 ms while the user keeps scrubbing into clips that are not computed yet).
   Target: under 50 ms.
3. Playback at 1x of the bundled sample with the pixel baselines from a cold start: at every
   frame shown, how many time steps the encoder panes are behind the playhead (0: on the
   playhead's own step), beside the frame rate playback reached.
4. The longest GUI-thread stall while the World dock trains a world model (pixels, the
   sample's first 96 frames, 60 decoder and 60 transition steps) and the user scrubs: the
   training runs in slices on the GPU worker, so the heartbeat should not notice it.

Four panes: pixels, pixels-tubelet and two ViT encoders with random weights (dinov2-small,
dinov2-reg-small; no weights needed). Run: ``python benchmarks/bench_gui.py``.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
from PySide6.QtCore import QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from jepa_studio.encoders import load_encoder  # noqa: E402
from jepa_studio.engine import StudioEngine  # noqa: E402
from jepa_studio.state import MemorySettings  # noqa: E402
from jepa_studio.ui.shell.window import MainWindow  # noqa: E402
from jepa_studio.ui.shell.theme import apply_theme  # noqa: E402
from jepa_studio.video import write_video  # noqa: E402

ENCODERS = ("pixels", "pixels-tubelet", "dinov2-small", "dinov2-reg-small")
N_FRAMES, FPS, CLIP = 96, 24.0, 8
RESOLUTION = 112  # encoder input short side: keeps the CPU warm-up short; panes show 720p frames


def make_video(path: Path) -> None:
    rng = np.random.default_rng(0)
    background = rng.integers(0, 90, size=(720, 1280, 3), dtype=np.uint8)
    background[:, ::64] = 200
    frames = []
    for t in range(N_FRAMES):
        frame = background.copy()
        frame[200:400, 100 + 10 * t : 300 + 10 * t] = (240, 200, 40)
        frame[450:600, 1100 - 6 * t : 1250 - 6 * t] = (60, 120, 240)
        frames.append(frame)
    write_video(path, frames, FPS)


def loader(name: str, device=None, **kwargs):
    random = not name.startswith("pixels")
    return load_encoder(name, device=device, random_weights=random, **kwargs)


def wait(app: QApplication, condition, timeout: float = 600.0) -> None:
    end = time.perf_counter() + timeout
    while not condition():
        app.processEvents()
        time.sleep(0.002)
        if time.perf_counter() > end:
            raise TimeoutError("timed out")


def panes_show(window: MainWindow, frame: int) -> bool:
    return all(
        p.last is not None and p.last.generation == window.feature("viewer")._view_generation and frame in p.last.covered
        for p in window.feature("viewer").encoder_panes.values()
    )


def main() -> None:
    app = QApplication.instance() or QApplication([])
    apply_theme(app)
    tmp = Path(tempfile.mkdtemp())
    video = tmp / "bench_720p.mp4"
    make_video(video)
    window = MainWindow(settings=MemorySettings(), engine_factory=lambda d: StudioEngine(d, encoder_loader=loader))
    window.resize(1600, 900)
    window.show()
    window.session.set_encoders(ENCODERS)
    window.session.set_resolution(RESOLUTION)
    window.session.set_clip(CLIP, 1)
    window.open_path(video)
    wait(app, lambda: window.session.video is not None)

    # -- warm up: clips 0..2 computed (and prefetched) -------------------------------
    t = time.perf_counter()
    window.session.set_playhead(CLIP + 1)
    wait(app, lambda: panes_show(window, CLIP + 1) and window.engine.wait_idle(0.0))
    for f in range(0, 3 * CLIP):  # make sure every frame is decoded and cached
        window.session.set_playhead(f)
        wait(app, lambda: panes_show(window, f) and window.frame_pane.frame_item.image is not None)
    wait(app, lambda: window.engine.wait_idle(0.0))
    warm_s = time.perf_counter() - t

    # -- 1. scrub latency with cached results ------------------------------------------
    handed, painted = [], []
    frames = [f for _ in range(4) for f in range(0, 3 * CLIP)]
    for f in frames:
        t0 = time.perf_counter()
        window.session.set_playhead(f)
        t1 = time.perf_counter()
        if not panes_show(window, f):
            raise RuntimeError(f"frame {f} was not served from the cache")
        window.grid.viewport().repaint()
        window.timeline.repaint()
        t2 = time.perf_counter()
        handed.append((t1 - t0) * 1e3)
        painted.append((t2 - t0) * 1e3)
        app.processEvents()

    # -- 2. GUI stall while encoders run in the background -----------------------------
    ticks: list[float] = []
    heartbeat = QTimer()
    heartbeat.setInterval(5)
    heartbeat.timeout.connect(lambda: ticks.append(time.perf_counter()))
    heartbeat.start()
    scrubs = 0
    t_bg = time.perf_counter()
    target = N_FRAMES - 3  # far from the cached clips: decode, encode, PCA in the background
    computed_before = window.engine.encode_count
    window.session.set_playhead(target - 20)
    next_scrub = time.perf_counter()
    while time.perf_counter() - t_bg < 60:
        now = time.perf_counter()
        if now >= next_scrub and scrubs < 20:  # the user keeps scrubbing for a while
            window.session.step(1)
            scrubs += 1
            next_scrub = now + 0.05
        elif scrubs >= 20 and window.session.playhead != target:
            window.session.set_playhead(target)
        app.processEvents()
        time.sleep(0.001)
        if scrubs >= 20 and panes_show(window, target):
            break
    bg_s = time.perf_counter() - t_bg
    heartbeat.stop()
    gaps = np.diff(np.asarray(ticks)) * 1e3
    encodes = window.engine.encode_count - computed_before
    window.close()
    from jepa_studio.resources import sample_video_path

    lags, fps = playback_lag(app, sample_video_path())
    world_gaps, world_s, world_steps = world_training_stall(app, sample_video_path())

    print(f"JEPA Studio GUI benchmark: 1280x720 video, {len(ENCODERS)} encoder panes + frame pane, offscreen Qt")
    print(f"  machine load average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"  warm-up (load 4 encoders, compute + prefetch 3 clips of {CLIP} frames): {warm_s:.1f} s")
    print(f"  1. scrub -> cached images handed to all panes: median {statistics.median(handed):.2f} ms, "
          f"max {max(handed):.2f} ms  ({len(handed)} scrubs)")
    print(f"     scrub -> panes and timeline repainted:      median {statistics.median(painted):.2f} ms, "
          f"p95 {np.percentile(painted, 95):.2f} ms, max {max(painted):.2f} ms  (target < 16.7 ms: "
          f"{'met' if np.percentile(painted, 95) < 16.7 else 'NOT met'} at p95)")
    print(f"  2. encoders in background for {bg_s:.1f} s ({encodes} clip encodes, {scrubs} scrubs meanwhile):")
    print(f"     heartbeat every 5 ms: median gap {np.median(gaps):.1f} ms, p99 {np.percentile(gaps, 99):.1f} ms, "
          f"longest GUI stall {gaps.max():.1f} ms (target < 50 ms: {'met' if gaps.max() < 50 else 'NOT met'})")
    print(f"  ratio: longest stall / 60 Hz frame = {gaps.max() / 16.7:.2f}; "
          f"cached scrub p95 / 60 Hz frame = {np.percentile(painted, 95) / 16.7:.2f}")
    lag = np.asarray(lags)
    print(f"  3. 1x playback of the sample (640x360, 240 frames at 24 fps), pixels + pixels-tubelet, clips of "
          f"16 frames, cold start: {fps:.1f} frames/s; panes behind the playhead: median {np.median(lag):.0f}, max {lag.max():.0f} time steps; "
          f"on the playhead's own step at {np.mean(lag == 0):.0%} of the frames shown")
    print(f"  4. a world model training from the World dock for {world_s:.1f} s ({world_steps} optimiser steps), "
          f"scrubbing meanwhile: heartbeat median gap {np.median(world_gaps):.1f} ms, "
          f"longest GUI stall {world_gaps.max():.1f} ms (target < 50 ms: {'met' if world_gaps.max() < 50 else 'NOT met'}); "
          f"ratio to the stall of item 2: {world_gaps.max() / max(gaps.max(), 1e-9):.2f}")


def playback_lag(app: QApplication, video: Path) -> tuple[list[int], float]:
    """Play the whole video at 1x from a cold engine; per frame shown, how many time steps each
    encoder pane is behind (the worst pane), and the frame rate reached."""
    window = MainWindow(settings=MemorySettings(), engine_factory=lambda d: StudioEngine(d, encoder_loader=loader))
    window.resize(1600, 900)
    window.show()
    window.session.set_encoders(("pixels", "pixels-tubelet"))
    window.session.set_clip(16, 1)
    window.open_path(video)
    wait(app, lambda: window.session.video is not None)
    window.loop.setChecked(False)
    viewer = window.feature("viewer")
    lags: list[int] = []
    seen = -1
    start = time.perf_counter()
    window.toggle_play()
    while window.playing:
        app.processEvents()
        time.sleep(0.001)
        frame = window.session.playhead
        if frame == seen:
            continue
        seen = frame
        worst = 0
        for pane in viewer.encoder_panes.values():
            shown = pane.last.covered if pane.last is not None and pane.last.covered else None
            step = pane.last.tubelet_size if pane.last is not None else 1
            worst = max(worst, frame if shown is None else max(0, (frame - shown[-1] + step - 1) // step))
        lags.append(worst)
    fps = len(lags) / (time.perf_counter() - start)
    window.close()
    return lags, fps


def world_training_stall(app: QApplication, video: Path) -> tuple[np.ndarray, float, int]:
    """Heartbeat gaps (ms) on the GUI thread while the World dock trains and the user scrubs;
    the training's wall time and optimiser steps."""
    window = MainWindow(settings=MemorySettings(), engine_factory=lambda d: StudioEngine(d, encoder_loader=loader))
    window.resize(1600, 900)
    window.show()
    window.session.set_encoders(("pixels",))
    window.session.set_resolution(64)
    window.open_path(video)
    wait(app, lambda: window.session.video is not None)
    world = window.feature("world")
    world.state.options.update(stop=96, decoder_steps=60, transition_steps=60)
    ticks: list[float] = []
    heartbeat = QTimer()
    heartbeat.setInterval(5)
    heartbeat.timeout.connect(lambda: ticks.append(time.perf_counter()))
    heartbeat.start()
    start = time.perf_counter()
    world.train()
    next_scrub = start
    while world.world.training:
        now = time.perf_counter()
        if now >= next_scrub:  # the user scrubs while it trains
            window.session.set_playhead((window.session.playhead + 7) % 96)
            next_scrub = now + 0.1
        app.processEvents()
        time.sleep(0.001)
    seconds = time.perf_counter() - start
    heartbeat.stop()
    entry = world.world.worlds.get("pixels")
    steps = 0 if entry is None else sum(entry.world.state[p].step for p in ("decoder", "transition"))
    window.close()
    return np.diff(np.asarray(ticks)) * 1e3, seconds, steps


if __name__ == "__main__":
    main()
