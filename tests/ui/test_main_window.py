"""The studio window, driven offscreen with pytest-qt."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent

from jepa_studio.analysis.pca import fit_pca
from jepa_studio.encoders import load_encoder
from jepa_studio.render.colormap import apply_colormap
from jepa_studio.ui.shell.bridge import EngineBridge
from jepa_studio.video import open_video

TIMEOUT = 15000


RESOLUTION = 64  # encoders see a 64-pixel short side: tiny token grids, fast tests


def open_and_wait(qtbot, window, path: Path) -> None:
    window.session.set_resolution(RESOLUTION)
    window.open_path(path)
    qtbot.waitUntil(lambda: window.session.video is not None and window.session.video.path == path, timeout=TIMEOUT)


def panes_ready(window, frame: int) -> bool:
    """Every encoder pane shows the current request's time step covering ``frame``."""
    for pane in window.feature("viewer").encoder_panes.values():
        last = pane.last
        if last is None or last.generation != window.feature("viewer")._view_generation or frame not in last.covered:
            return False
    return True


def test_open_scrub_and_panes_show_the_right_frames_features(qtbot, make_window, videos, screenshot) -> None:
    window = make_window()
    assert window.session.encoders == ("pixels", "pixels-tubelet")
    open_and_wait(qtbot, window, videos["first"])
    window.session.set_clip(frames_per_clip=8, stride=1)
    window.session.set_playhead(13)
    qtbot.waitUntil(lambda: panes_ready(window, 13), timeout=TIMEOUT)
    qtbot.waitUntil(lambda: window.frame_pane.frame_item.image is not None, timeout=TIMEOUT)

    with open_video(videos["first"]) as video:
        np.testing.assert_array_equal(window.frame_pane.frame_item.image, video[13])
        frames = video.clip(8, 8, 1)
    for name, step in (("pixels", 5), ("pixels-tubelet", 2)):
        feats = load_encoder(name, resolution=RESOLUTION).encode(frames, list(range(8, 16)))
        expected = fit_pca(feats, 3).to_rgb(feats)[step]
        pane = window.feature("viewer").encoder_panes[name]
        np.testing.assert_array_equal(pane.map_item.image, expected)
        rect = pane.map_item.mapRectToParent(pane.map_item.boundingRect())
        assert (rect.width(), rect.height()) == (128, 72)  # the map covers the whole frame
    assert "frames 12–13" in window.feature("viewer").encoder_panes["pixels-tubelet"].subtitle
    assert window.timeline.label().startswith("frame 13 / 23")
    screenshot(window, "window_pca")


def test_keyboard_scrubbing_and_playback(qtbot, make_window, videos) -> None:
    window = make_window()
    open_and_wait(qtbot, window, videos["first"])
    window.session.set_clip(frames_per_clip=4, stride=1)
    qtbot.keyClick(window, Qt.Key.Key_Right)
    qtbot.keyClick(window, Qt.Key.Key_Right)
    assert window.session.playhead == 2
    qtbot.keyClick(window, Qt.Key.Key_Right, Qt.KeyboardModifier.ShiftModifier)
    assert window.session.playhead == 6
    qtbot.keyClick(window, Qt.Key.Key_Left)
    assert window.session.playhead == 5
    qtbot.keyClick(window, Qt.Key.Key_End)
    assert window.session.playhead == 23
    qtbot.keyClick(window, Qt.Key.Key_Home)
    assert window.session.playhead == 0
    # a scrub on the timeline widget
    timeline = window.timeline
    qtbot.mouseClick(timeline, Qt.MouseButton.LeftButton, pos=QPoint(int(timeline.x_of(17)), 34))
    assert window.session.playhead == 17
    # play at 4x and stop
    window.speed.setCurrentIndex(window.speed.findData(4.0))
    qtbot.keyClick(window, Qt.Key.Key_Space)
    assert window.playing
    qtbot.waitUntil(lambda: window.session.playhead != 17, timeout=TIMEOUT)
    qtbot.keyClick(window, Qt.Key.Key_Space)
    assert not window.playing


def test_click_a_patch_shows_similarity_in_every_pane(qtbot, make_window, videos, screenshot) -> None:
    window = make_window()
    open_and_wait(qtbot, window, videos["first"])
    window.session.set_clip(frames_per_clip=4, stride=1)
    window.session.set_playhead(5)
    qtbot.waitUntil(lambda: panes_ready(window, 5), timeout=TIMEOUT)
    # click in the pixels pane at source pixel (36, 40): on the moving square
    pane = window.feature("viewer").encoder_panes["pixels"]
    scene_point = pane.view_box.mapViewToScene(QPointF(36.5, 40.5))
    widget_point = window.grid.mapFromScene(scene_point)
    qtbot.mouseClick(window.grid.viewport(), Qt.MouseButton.LeftButton, pos=widget_point)
    qtbot.waitUntil(lambda: window.session.view.map_kind == "similarity", timeout=TIMEOUT)
    x, y, frame = window.session.view.query
    assert abs(x - 36.5) < 1.0 and abs(y - 40.5) < 1.0 and frame == 5
    qtbot.waitUntil(lambda: panes_ready(window, 5), timeout=TIMEOUT)

    with open_video(videos["first"]) as video:
        feats = load_encoder("pixels", resolution=RESOLUTION).encode(video.clip(4, 4, 1), [4, 5, 6, 7])
    _, h, w, _ = feats.tokens.shape
    q = feats.tokens[1, int(y / 72 * h), int(x / 128 * w)]
    sim = torch.nn.functional.cosine_similarity(feats.tokens[1], q.expand_as(feats.tokens[1]), dim=-1)
    expected = apply_colormap(sim.numpy(), vmin=-1.0, vmax=1.0, name="coolwarm")
    np.testing.assert_array_equal(pane.map_item.image, expected)
    assert window.feature("viewer").encoder_panes["pixels-tubelet"].map_item.image is not None
    assert len(pane.marker.data) == 1
    window.session.update_view(overlay=True, overlay_opacity=0.5)
    assert pane.frame_item.isVisible() and pane.map_item.opacity() == 0.5
    screenshot(window, "window_similarity_overlay")


def test_ctrl_e_exports_the_view_as_it_is_on_screen(qtbot, make_window, videos, tmp_path: Path) -> None:
    """Frame 15 on screen (tubelet 14-15 of the clip 8-15): the export holds exactly the panes as
    shown, with the maps of that clip and that tubelet, masked panes included, and a video of the clip."""
    from jepa_studio.render.view import compose_view

    window = make_window()
    open_and_wait(qtbot, window, videos["first"])
    window.session.set_clip(frames_per_clip=8, stride=1)
    window.session.set_playhead(15)
    qtbot.waitUntil(lambda: panes_ready(window, 15), timeout=TIMEOUT)
    viewer = window.feature("viewer")
    out = tmp_path / "view.png"
    viewer.ask_export_path = lambda: out  # only the file dialog is replaced
    cells = [pane.snapshot() for pane in window.grid.panes]
    qtbot.keyClick(window, Qt.Key.Key_E, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: window.last_export == out, timeout=TIMEOUT)
    image = np.asarray(Image.open(out).convert("RGB"))
    expected = compose_view(cells, window.session.video.size, window.grid.columns, 320, viewer.exporter.title())
    np.testing.assert_array_equal(image, expected)
    # the maps exported are those of the clip on screen, computed directly
    with open_video(videos["first"]) as video:
        clip = video.clip(8, 8, 1)
    by_title = {c.title: c for c in cells}
    for name, covered in (("pixels", "frame 15"), ("pixels-tubelet", "frames 14–15")):
        feats = load_encoder(name, resolution=RESOLUTION).encode(clip, list(range(8, 16)))
        direct = fit_pca(feats, 3).to_rgb(feats)[feats.time_step_of_frame(15)]
        np.testing.assert_array_equal(by_title[name].image, direct)
        assert by_title[name].subtitle.startswith(covered)
    # masked panes are part of the view when mask mode shows them
    masking = window.feature("masking")
    masking.apply_preset("centre")
    qtbot.waitUntil(lambda: masking.view is not None and masking.panes["error"].image is not None, timeout=TIMEOUT)
    out2 = tmp_path / "masked_view.png"
    viewer.export_view(out2)
    qtbot.waitUntil(lambda: window.last_export == out2, timeout=TIMEOUT)
    shown = [pane.snapshot() for pane in window.grid.panes]
    assert any(c.title.startswith("recovery") for c in shown)
    expected = compose_view(shown, window.session.video.size, window.grid.columns, 320, viewer.exporter.title())
    np.testing.assert_array_equal(np.asarray(Image.open(out2).convert("RGB")), expected)
    # a video export steps through the clip window
    out3 = tmp_path / "view.mp4"
    viewer.export_view(out3)
    qtbot.waitUntil(lambda: window.last_export == out3, timeout=TIMEOUT)
    with open_video(out3) as written:
        assert len(written) == 8


def test_drop_a_file_opens_it(qtbot, make_window, videos) -> None:
    window = make_window()
    open_and_wait(qtbot, window, videos["first"])
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(videos["second"]))])
    event = QDropEvent(QPointF(200, 200), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    window.dropEvent(event)
    qtbot.waitUntil(lambda: window.session.video.path == videos["second"], timeout=TIMEOUT)
    assert window.session.video.size == (96, 64) and window.session.n_frames == 16
    assert window.app_settings.recent_files()[:2] == [videos["second"].resolve(), videos["first"].resolve()]


def test_bad_file_shows_a_message_and_keeps_the_video(qtbot, make_window, videos, screenshot, tmp_path: Path) -> None:
    window = make_window()
    open_and_wait(qtbot, window, videos["first"])
    window.session.set_playhead(7)
    qtbot.waitUntil(lambda: panes_ready(window, 7), timeout=TIMEOUT)
    bad = tmp_path / "holiday.mp4"
    bad.write_bytes(b"\x00not a video" * 50)
    window.open_path(bad)
    qtbot.waitUntil(lambda: "holiday.mp4" in window.message_bar.text(), timeout=TIMEOUT)
    assert window.session.video.path == videos["first"] and window.session.playhead == 7
    window.session.set_playhead(8)  # the previous video still works
    qtbot.waitUntil(lambda: panes_ready(window, 8), timeout=TIMEOUT)
    screenshot(window, "window_bad_file")


def test_unknown_encoder_fails_in_its_pane_only(qtbot, make_window, videos) -> None:
    window = make_window()
    open_and_wait(qtbot, window, videos["first"])
    window.session.add_encoder("not-a-real-encoder")
    pane = window.feature("viewer").encoder_panes["not-a-real-encoder"]
    qtbot.waitUntil(lambda: "not-a-real-encoder" in pane.note_item.textItem.toPlainText(), timeout=TIMEOUT)
    assert panes_ready(window, 0) is False  # that pane has no image
    assert all(window.feature("viewer").encoder_panes[n].last is not None for n in ("pixels", "pixels-tubelet"))


def test_settings_persist_between_runs(qtbot, make_window, videos) -> None:
    window = make_window()
    open_and_wait(qtbot, window, videos["first"])
    window.session.set_encoders(["pixels"])
    window.session.set_device("cpu")
    window.feature("viewer").dock.hide()
    window.close()
    again = make_window(resize=False)
    assert again.session.encoders == ("pixels",)
    assert again.session.device == "cpu"
    assert again.session.resolution == RESOLUTION
    assert again.app_settings.recent_files()[0] == videos["first"].resolve()
    assert not again.app_settings.first_run()
    # window layout: the dock the user closed stays closed (the offscreen screen is
    # 800x600, so restored sizes are clamped there and not compared)
    assert again.store.value("window/geometry") is not None
    assert not again.feature("viewer").dock.isVisible()


def test_thousands_of_signals_across_threads(qtbot) -> None:
    """PySide6 6.12.0 crashed after ~1000 emits; this is the regression guard."""
    bridge = EngineBridge()
    received: list[int] = []
    bridge.delivered.connect(lambda m: received.append(m))
    thread = threading.Thread(target=lambda: [bridge.deliver(i) for i in range(3000)])
    thread.start()
    thread.join()
    qtbot.waitUntil(lambda: len(received) == 3000, timeout=TIMEOUT)
    assert received == list(range(3000))
