"""Tracking in the window: the Track tool takes clicks, every encoder pane draws the tracks
that track_points computes directly, trails follow the playhead, undo takes a point back."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt

from jepa_studio.analysis.tracking import track_points
from jepa_studio.encoders import load_encoder
from jepa_studio.video import open_video

TIMEOUT = 20000
RES = 64


def test_clicked_point_is_tracked_in_every_encoder_pane(qtbot, make_window, videos, screenshot) -> None:
    window = make_window()
    window.session.set_resolution(RES)
    window.open_path(videos["first"])
    qtbot.waitUntil(lambda: window.session.video is not None, timeout=TIMEOUT)
    window.session.set_clip(frames_per_clip=8, stride=1)
    tracking = window.feature("tracking")
    qtbot.keyClick(window, Qt.Key.Key_T)
    assert tracking.state.mode and window.actions["tracking.mode"].isChecked()
    query = (0, 16.0, 36.0)  # on the yellow square of frame 0 (scene_frames: x = 4 + 4t .. +24)
    window.grid.clicked.emit(query[1], query[2], "frame")
    assert window.session.view.query is None  # the click went to the tool, not to the similarity map
    assert tracking.state.points == (query,)
    qtbot.waitUntil(lambda: set(tracking.tracks) == {"pixels", "pixels-tubelet"}, timeout=TIMEOUT)
    with open_video(videos["first"]) as video:
        clip = video.clip(0, 8, 1)
    for name in ("pixels", "pixels-tubelet"):
        feats = load_encoder(name, resolution=RES).encode(clip, list(range(8)))
        direct = track_points(feats, [list(query)])
        np.testing.assert_allclose(tracking.tracks[name].xy, direct.xy, atol=1e-5)
    window.session.set_playhead(6)
    qtbot.waitUntil(lambda: window.session.playhead == 6, timeout=TIMEOUT)
    pane = window.grid.pane("pixels")
    overlay = tracking._overlays[id(pane)]
    t = tracking.tracks["pixels"].step_of_frame(6)
    xs, ys = overlay.dots.getData()
    dot = np.array([xs[0], ys[0]])
    np.testing.assert_allclose(dot, tracking.tracks["pixels"].xy[0, t], atol=1e-4)
    assert abs(dot[0] - (16 + 4 * 6)) < 16  # the square moved 4 px a frame: within a patch
    screenshot(window, "window_tracking")
    tracking.state.undo()
    assert tracking.state.points == () and len(overlay.dots.getData()[0]) == 0
    qtbot.keyClick(window, Qt.Key.Key_T)  # the tool off: clicks show similarity again
    window.grid.clicked.emit(40.0, 30.0, "frame")
    assert window.session.view.map_kind == "similarity" and window.session.view.query is not None
