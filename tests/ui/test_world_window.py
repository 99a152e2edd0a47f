"""World models in the studio window, driven offscreen with pytest-qt: train from the dock (loss
plot, checkpoint, reconstruction pane equal to the decoder run directly, rollout panes lined up
with the real future frames), cancel and resume, the comparison panel, a GUI thread that never
waits for training."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
import torch
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QScrollArea

from jepa_studio.encoders import load_encoder
from jepa_studio.engine.world import WorldProgress
from jepa_studio.video import open_video
from jepa_studio.world.checkpoints import load_world

TIMEOUT = 60000
RES = 32
TINY = dict(width=16, depth=1, heads=2, decoder_hidden=8, batch_size=4, val_every=5, checkpoint_every=10)


@pytest.fixture(autouse=True)
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def open_window(qtbot, make_window, video: Path, encoders=("pixels", "pixels-tubelet")):
    window = make_window()
    window.session.set_encoders(encoders)
    window.session.set_resolution(RES)
    window.session.set_clip(frames_per_clip=4, stride=1)
    window.open_path(video)
    qtbot.waitUntil(lambda: window.session.video is not None, timeout=TIMEOUT)
    qtbot.waitUntil(lambda: window.frame_pane.frame_item.image is not None, timeout=TIMEOUT)
    ctrl = window.feature("world")
    ctrl.overrides = dict(TINY)
    ctrl.panel.resolution.setValue(RES)  # the world models' own resolution (the CLI's default is 64)
    p = ctrl.panel
    p.history.setValue(2)
    p.horizon.setValue(3)
    p.frameskip.setValue(2)
    p.seed.setValue(0)
    return window, ctrl


def set_steps(p, n: int) -> None:
    p.decoder_steps.setValue(n)
    p.transition_steps.setValue(n)


def test_train_from_the_dock_panes_match_the_direct_computation(qtbot, make_window, videos, screenshot) -> None:
    window, ctrl = open_window(qtbot, make_window, videos["first"])
    p = ctrl.panel
    assert p.stop.value() == 24  # the whole video by default
    set_steps(p, 30)
    window.dock_world = ctrl.dock
    ctrl.dock.show()
    ctrl.dock.raise_()

    gaps: list[float] = []
    last = [time.perf_counter()]

    def beat() -> None:
        now = time.perf_counter()
        gaps.append(now - last[0])
        last[0] = now

    heartbeat = QTimer()
    heartbeat.setInterval(10)
    heartbeat.timeout.connect(beat)
    heartbeat.start()
    run = ctrl.train()
    assert run is not None and not p.train.isEnabled() and p.cancel.isEnabled()
    qtbot.waitUntil(lambda: not ctrl.world.training and p.train.isEnabled(), timeout=TIMEOUT)
    heartbeat.stop()
    assert ctrl.world.last_thread == "jepa-studio-gpu"  # trained off the GUI thread
    # the GUI thread kept handling events while the model trained (how long its longest stall
    # is, a matter of the machine's load, is measured by benchmarks/bench_gui.py, not here)
    assert len(gaps) > 10

    # the loss plot has every training step and the held-out points, for both parts
    for name in ("pixels", "pixels-tubelet"):
        world = ctrl.world.worlds[name].world
        for part in ("decoder", "transition"):
            xs, ys = ctrl.plot_points(name, part)
            assert len(xs) == 30 and xs[-1] == 30
            np.testing.assert_allclose(ys, world.state[part].losses, rtol=1e-6)
            vx, _ = ctrl.plot_points(name, part, "val")
            assert list(vx) == [s for s, _ in world.state[part].val_losses] and len(vx) == 6
    # checkpoints written under the app's data folder, loadable
    root = ctrl.checkpoint_root()
    assert str(root).startswith(str(ctrl.data_folder()))
    saved = load_world(root / "pixels")
    assert saved.state["transition"].step == 30 and saved.state["decoder"].step == 30

    # the reconstruction pane: the decoder on the features of the clip, computed directly
    window.session.set_playhead(9)
    recon = ctrl.recon_panes["pixels-tubelet"]
    qtbot.waitUntil(lambda: recon.image is not None and ctrl.reconstructions.get("pixels-tubelet") is not None
                    and ctrl.reconstructions["pixels-tubelet"].frame == 9, timeout=TIMEOUT)
    frames = list(window.session.clip_frames())
    with open_video(videos["first"]) as video:
        clip = video.clip(frames[0], len(frames), 1)
        real = {f: video[f] for f in range(24)}
    feats = load_encoder("pixels-tubelet", resolution=RES).encode(clip, frames)
    t = feats.time_step_of_frame(9)
    world = ctrl.world.worlds["pixels-tubelet"].world
    expected = world.decode_tokens(feats.tokens[t : t + 1])[list(feats.frame_indices[t]).index(9)]
    assert recon.image.shape == expected.shape
    assert np.abs(recon.image.astype(int) - expected.astype(int)).max() <= 1
    assert recon.rect == (0.0, 0.0, 128.0, 72.0)  # over the whole frame (full-frame crop)

    # rollout panes: context ends at the playhead's step, predictions 2, 4, 6 frames later
    qtbot.waitUntil(lambda: all(ctrl.rollouts.get(n) is not None and ctrl.rollouts[n].predicted is not None
                                for n in ("pixels", "pixels-tubelet")), timeout=TIMEOUT)
    assert ctrl.rollouts["pixels"].frames == (11, 13, 15)
    assert ctrl.rollouts["pixels"].context == (7, 9)
    assert ctrl.rollouts["pixels-tubelet"].frames == (11, 13, 15)  # last frame of tubelets (10,11), (12,13), (14,15)
    assert ctrl.rollouts["pixels-tubelet"].context == (6, 7, 8, 9)
    p.rollout_step.setValue(2)
    assert "frame 13" in ctrl.real_pane.subtitle
    np.testing.assert_array_equal(ctrl.real_pane.image, real[13])
    pane = ctrl.rollout_panes["pixels"]
    assert "frame 13" in pane.subtitle and "step 2/3" in pane.subtitle
    np.testing.assert_array_equal(pane.image, ctrl.rollouts["pixels"].predicted[1])
    assert ctrl.real_pane in window.grid.panes and pane in window.grid.panes and recon in window.grid.panes
    qtbot.wait(50)
    screenshot(window, "world_trained")
    body = p.findChild(QScrollArea).widget()
    body.resize(320, body.sizeHint().height())
    screenshot(body, "world_dock")


def test_cancel_keeps_a_loadable_checkpoint_and_resume_continues(qtbot, make_window, videos) -> None:
    window, ctrl = open_window(qtbot, make_window, videos["first"], ("pixels",))
    p = ctrl.panel
    set_steps(p, 3000)

    def on_message(message) -> None:
        if isinstance(message, WorldProgress) and message.part == "decoder" and message.step >= 20:
            ctrl.cancel()

    window.bridge.delivered.connect(on_message)
    ctrl.train()
    qtbot.waitUntil(lambda: not ctrl.world.training and p.train.isEnabled(), timeout=TIMEOUT)
    window.bridge.delivered.disconnect(on_message)
    assert "cancelled" in p.status.text()
    saved = load_world(ctrl.checkpoint_root() / "pixels")
    k = saved.state["decoder"].step
    assert 20 <= k < 3000 and saved.state["transition"].step == 0
    assert len(saved.state["decoder"].losses) == k

    set_steps(p, k + 15)
    ctrl.train(resume=True)
    qtbot.waitUntil(lambda: not ctrl.world.training and p.train.isEnabled(), timeout=TIMEOUT)
    world = ctrl.world.worlds["pixels"].world
    assert world.state["decoder"].step == k + 15  # continued, not restarted
    assert world.state["decoder"].losses[:k] == saved.state["decoder"].losses
    assert world.state["transition"].step == k + 15
    xs, _ = ctrl.plot_points("pixels", "decoder")
    assert len(xs) == k + 15


def test_comparison_panel_shows_the_result(qtbot, make_window, videos, tmp_path, screenshot) -> None:
    from jepa_studio.world.report import TABLE_COLUMNS

    window, ctrl = open_window(qtbot, make_window, videos["first"], ("pixels", "pixels-tubelet"))
    p = ctrl.panel
    assert p.latents.currentData() == "causal"  # the CLI's default
    p.latents.setCurrentIndex(p.latents.findData("window"))
    assert ctrl.state.options.latents == "window"  # the widgets drive the Qt-free options...
    ctrl.state.options.update(latents="causal")
    assert p.latents.currentData() == "causal"  # ...and show them
    p.source.setCurrentIndex(p.source.findData("pendulum"))
    assert ctrl.state.options.source == "pendulum"
    p.episodes.setValue(2)
    p.episode_frames.setValue(24)
    set_steps(p, 6)
    p.horizon.setValue(2)
    ctrl.overrides["val_fraction"] = 0.4
    assert ctrl.run_comparison() is not None
    assert ctrl.compare_dock.isVisible()
    qtbot.waitUntil(lambda: ctrl.result is not None and ctrl.compare_panel.run.isEnabled(), timeout=TIMEOUT)
    result = ctrl.result
    assert [e.info.name for e in result.encoders] == ["pixels", "pixels-tubelet"] and result.has_actions
    table = ctrl.compare_panel.table
    rows = result.table()
    assert table.rowCount() == len(rows) == 4
    for r, entry in enumerate(rows):
        for c, (_, key) in enumerate(TABLE_COLUMNS):
            assert table.item(r, c).data(0x0100) == entry[key]  # Qt.UserRole: the raw value
    assert table.item(0, 3).text() == f"{rows[0]['cosine_model']:.3f}"
    curves = ctrl.compare_panel.plots["psnr"].plotItem.listDataItems()
    assert len(curves) == 8  # model, copy, constant velocity, ceiling per encoder
    ys = curves[0].getData()[1]
    np.testing.assert_allclose(ys, [r.psnr_model for r in result.encoders[0].rows])
    qtbot.wait(50)
    screenshot(window, "world_comparison_table")
    ctrl.compare_panel.tabs.setCurrentIndex(1)
    window.grid.fit((128, 72))
    qtbot.wait(200)
    screenshot(window, "world_comparison")
    # the summary tab: the text jepa-studio compare prints (verdicts in words, temporal probes)
    summary = ctrl.compare_panel.summary.toPlainText()
    for e in result.encoders:
        assert e.verdict() in summary
    assert "probe R² (held out)" in summary and "causal latents" in summary
    out = tmp_path / "report"
    ctrl.write_report(out)
    qtbot.waitUntil(lambda: (out / "report.json").is_file() and (out / "rollouts.png").is_file(), timeout=TIMEOUT)
    assert (out / "table.md").read_text().count("\n") > 4




def test_masked_prediction_decoded_by_a_layer_norm_decoder(qtbot, make_window, videos, tiny_vjepa2, screenshot) -> None:
    name = str(tiny_vjepa2)
    window, ctrl = open_window(qtbot, make_window, videos["first"], (name,))
    window.session.set_resolution(64)
    p = ctrl.panel
    p.resolution.setValue(64)  # decoded masked predictions need the panes' token grid
    set_steps(p, 3)
    p.stop.setValue(12)
    p.target.setCurrentIndex(p.target.findData("layer_norm"))
    assert ctrl.train() is not None, window.message_bar.text()
    qtbot.waitUntil(lambda: not ctrl.world.training and p.train.isEnabled(), timeout=TIMEOUT)
    assert ctrl.last_error == "", ctrl.last_error
    entry = ctrl.world.masked_decoder(name)
    assert entry is not None and "random weights" in entry.label
    masking = window.feature("masking")
    masking.apply_preset("centre")
    qtbot.waitUntil(lambda: ctrl.masked is not None and ctrl.masked_pane in window.grid.panes
                    and masking.view is not None and ctrl.masked_pane.image is not None, timeout=TIMEOUT)
    view = masking.view
    direct = entry.world.decode_tokens(view.variants[0].tokens.float())  # frames 0..3 of the clip
    np.testing.assert_array_equal(ctrl.masked_pane.image, direct[1])  # playhead 0: tubelet (0, 1), shows 1
    assert "random weights" in ctrl.masked_pane.title
    qtbot.wait(50)
    screenshot(window, "world_masked_decoded")
    masking.set_mode(False)
    assert ctrl.masked_pane not in window.grid.panes


def test_no_stale_world_state(qtbot, make_window, videos) -> None:
    """Panes show only trained parts; the dock's bar stops when a comparison ends; another
    video unloads the models trained on the previous one and takes its whole frame range."""
    window, ctrl = open_window(qtbot, make_window, videos["first"], ("pixels",))
    p = ctrl.panel
    assert not p.cancel.isEnabled() and not ctrl.compare_panel.cancel.isEnabled()  # nothing runs yet
    p.decoder_steps.setValue(3)
    p.transition_steps.setValue(0)  # a decoder, but no trained transition model
    assert ctrl.train() is not None
    qtbot.waitUntil(lambda: not ctrl.world.training and p.train.isEnabled(), timeout=TIMEOUT)
    qtbot.waitUntil(lambda: ctrl.recon_panes.get("pixels") in window.grid.panes, timeout=TIMEOUT)
    assert ctrl.world.worlds["pixels"].world.state["transition"].step == 0
    assert not any(pane in window.grid.panes for pane in ctrl.rollout_panes.values())
    assert ctrl.real_pane not in window.grid.panes

    p.source.setCurrentIndex(p.source.findData("pendulum"))
    p.episodes.setValue(2)
    p.episode_frames.setValue(24)
    p.decoder_steps.setValue(1)
    p.transition_steps.setValue(1)
    ctrl.overrides["val_fraction"] = 0.4
    assert ctrl.run_comparison() is not None
    qtbot.waitUntil(lambda: p.train.isEnabled(), timeout=TIMEOUT)
    assert ctrl.result is not None, ctrl.last_error
    assert p.progress.maximum() == 1 and "comparing" not in p.progress.format()  # not a moving bar
    assert "comparison" in p.status.text()

    window.open_path(videos["second"])
    qtbot.waitUntil(lambda: window.session.video is not None and window.session.video.path == videos["second"],
                    timeout=TIMEOUT)
    assert "pixels" not in ctrl.world.worlds  # trained on the other video's frames
    assert ctrl.recon_panes["pixels"] not in window.grid.panes
    assert "unloaded" in p.status.text()
    assert (ctrl.state.options.start, ctrl.state.options.stop) == (0, window.session.n_frames) == (0, 16)
