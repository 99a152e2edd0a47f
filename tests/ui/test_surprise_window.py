"""The surprise timeline in the window: computed off the GUI thread, equal to surprise_curve run
directly, drawn under the timeline with the pixel control, a pane of the playhead's step, export."""

from __future__ import annotations

import numpy as np

from jepa_studio.analysis.surprise import surprise_curve
from jepa_studio.encoders import load_encoder
from jepa_studio.video import open_video

TIMEOUT = 30000
RES = 64


def test_surprise_curve_strip_pane_and_export(qtbot, make_window, videos, tmp_path, screenshot) -> None:
    window = make_window()
    window.session.set_resolution(RES)
    window.open_path(videos["first"])
    qtbot.waitUntil(lambda: window.session.video is not None, timeout=TIMEOUT)
    surprise = window.feature("surprise")
    surprise.state.options.update(encoder="pixels-tubelet", method="copy")
    assert surprise.export(tmp_path) == [] and "Compute" in window.message_bar.text()
    surprise.compute()
    qtbot.waitUntil(lambda: surprise.curve is not None, timeout=TIMEOUT)
    assert not window.message_bar.text()  # the error went away once a curve showed
    with open_video(videos["first"]) as video:
        direct = surprise_curve(load_encoder("pixels-tubelet", resolution=RES), video, range(len(video)), method="copy")
    np.testing.assert_allclose(surprise.curve.cosine, direct.cosine, equal_nan=True)
    xs, ys = surprise.strip.surprise_curve.getData()
    finite = np.isfinite(direct.cosine)
    np.testing.assert_allclose(ys, direct.cosine[finite])
    np.testing.assert_array_equal(xs, direct.frames[finite])
    peak = int(direct.frames[direct.peaks(1)[0]])
    surprise.strip.jumped.emit(peak)  # a click on the peak
    assert window.session.playhead == peak
    assert window.grid.pane("surprise") is surprise.pane and surprise.pane.image is not None
    screenshot(window, "window_surprise")
    written = surprise.export(tmp_path)
    assert [p.name for p in written] == ["surprise.csv", "surprise.png"]
    assert len(written[0].read_text().strip().splitlines()) == direct.n_steps + 1
    window.open_path(videos["second"])  # another video: the curve no longer applies
    qtbot.waitUntil(lambda: window.session.video.path == videos["second"], timeout=TIMEOUT)
    assert surprise.curve is None and window.grid.pane("surprise") is None
