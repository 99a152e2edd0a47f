"""A variable-frame-rate video in the window: times, ticks and playback pace from its timestamps."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from jepa_studio.video import write_video

from conftest import scene_frames
from test_main_window import open_and_wait

# 10 frames 40 ms apart, then 10 frames 1 s apart: 10.36 s, where 20 frames at 25 fps are 0.76 s
STAMPS = np.concatenate([np.arange(10) * 0.04, 0.36 + np.arange(1, 11) * 1.0])


def test_times_and_playback_follow_the_frames_timestamps(qtbot, make_window, tmp_path: Path) -> None:
    path = write_video(tmp_path / "vfr.mp4", scene_frames(len(STAMPS)), fps=25.0, timestamps=STAMPS)
    window = make_window()
    open_and_wait(qtbot, window, path)
    video = window.session.video
    assert video.variable_rate
    np.testing.assert_allclose(video.timestamps, STAMPS, atol=1e-3)
    assert window.timeline.label() == "frame 0 / 19  ·  0:00.00 / 0:10.36"  # not 19 / fps
    window.session.set_playhead(12)
    assert window.timeline.label().startswith("frame 12 / 19  ·  0:03.36")
    assert window.frame_pane.subtitle == "frame 12 · 3.36 s"
    # playback shows each frame as long as the video does: 1 s here, 40 ms at the start
    window.session.set_playhead(3)
    window.toggle_play()
    assert window.playing
    assert window._play_timer.interval() == 40
    window.toggle_play()
    window.session.set_playhead(12)
    window.toggle_play()
    assert window._play_timer.interval() == 1000
    window.toggle_play()
