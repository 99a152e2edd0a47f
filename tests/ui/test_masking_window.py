"""Masking in the studio window, driven offscreen with pytest-qt: paint with real mouse
events, masked-prediction panes equal the analysis run directly, undo and redo, presets,
mask files and the session, export equal to the CLI function, and a GUI thread that never
waits for the model."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QPointF, Qt

from jepa_studio.analysis.inpaint import inpaint_prediction
from jepa_studio.export.masked import MaskSettings, mask_comparison_image
from jepa_studio.analysis.masked_prediction import encoder_masked_prediction
from jepa_studio.analysis.pca import fit_pca
from jepa_studio.encoders import load_encoder
from jepa_studio.render.colormap import apply_colormap
from jepa_studio.state.mask import MaskDocument
from jepa_studio.video import open_video

TIMEOUT = 20000
RES = 64
LEFT = Qt.MouseButton.LeftButton
CTRL = Qt.KeyboardModifier.ControlModifier
SHIFT = Qt.KeyboardModifier.ShiftModifier




def open_window(qtbot, make_window, video: Path, encoders: tuple[str, ...], frames_per_clip: int = 4):
    window = make_window()
    window.session.set_encoders(encoders)
    window.session.set_resolution(RES)
    window.session.set_clip(frames_per_clip=frames_per_clip, stride=1)
    window.open_path(video)
    qtbot.waitUntil(lambda: window.session.video is not None and window.feature("masking").document.size == (72, 128), timeout=TIMEOUT)
    qtbot.waitUntil(lambda: window.frame_pane.frame_item.image is not None, timeout=TIMEOUT)
    return window, window.feature("masking")


def result_ready(controller, with_variants: bool = True) -> bool:
    """The latest request (none pending) is answered and shown."""
    view = controller.view
    return (
        not controller._timer.isActive()
        and view is not None
        and view.request == controller.state.latest
        and bool(view.variants) == with_variants
    )


def widget_point(window, x: float, y: float):
    """The grid viewport's pixel over source pixel (x, y) of the frame pane."""
    scene = window.frame_pane.view_box.mapViewToScene(QPointF(x, y))
    return window.grid.mapFromScene(scene)


def drag(qtbot, window, points) -> None:
    viewport = window.grid.viewport()
    qtbot.mousePress(viewport, LEFT, pos=widget_point(window, *points[0]))
    for p in points[1:]:
        qtbot.mouseMove(viewport, widget_point(window, *p))
    qtbot.mouseRelease(viewport, LEFT, pos=widget_point(window, *points[-1]))


def test_painting_shows_masked_panes_equal_to_the_direct_computation(qtbot, make_window, videos, tiny_vjepa2, screenshot) -> None:
    name = str(tiny_vjepa2)
    window, masking = open_window(qtbot, make_window, videos["first"], (name,))
    assert masking.encoder == name
    qtbot.keyClick(window, Qt.Key.Key_M)
    assert masking.mode and masking.painter.enabled
    window.grid.fit((128, 72))
    qtbot.wait(50)
    before = masking.state.latest
    drag(qtbot, window, [(40, 24), (60, 30), (80, 40), (96, 44)])
    assert not masking.document.empty and masking.document.can_undo
    # one stroke, however many moves: one request, sent when the stroke ended
    qtbot.waitUntil(lambda: masking.state.latest == before + 1, timeout=TIMEOUT)
    qtbot.waitUntil(lambda: result_ready(masking), timeout=TIMEOUT)
    assert masking.state.latest == before + 1
    assert masking.masking.last_thread == "jepa-studio-gpu"  # computed off the GUI thread

    with open_video(videos["first"]) as video:
        clip = video.clip(0, 4, 1)
    direct = encoder_masked_prediction(load_encoder(name, resolution=RES), clip, masking.document.to_pixel_mask(), [0, 1, 2, 3])
    view = masking.view
    true, leaky = view.variants
    assert true.n_hidden == direct.true.n_hidden > 0
    assert true.mean_cosine == pytest.approx(direct.true.mean_cosine, abs=1e-5)
    assert leaky.leaky and leaky.mean_cosine == pytest.approx(direct.leaky.mean_cosine, abs=1e-5)
    # the panes show the playhead's time step (0) of those results
    panes = masking.panes
    t_hidden = direct.true.hidden[0].numpy()
    expected_error = apply_colormap(direct.true.cosine[0].numpy(), vmin=0.0, vmax=1.0, name="viridis")
    shown = panes["error"].image
    assert np.abs(shown[t_hidden].astype(int) - expected_error[t_hidden].astype(int)).max() <= 1
    assert (shown[~t_hidden] == (58, 60, 64)).all()
    pca = fit_pca(direct.true.target, 3)
    assert np.abs(panes["predicted"].image.astype(int) - pca.to_rgb(direct.true.combined[0]).astype(int)).max() <= 1
    assert f"cos {direct.true.mean_cosine:.3f}" in panes["error"].score_text  # written on the pane
    assert "LEAKY" in panes["leaky_error"].score_text and "LEAKY" in panes["leaky_predicted"].title
    assert [p.key for p in window.grid.panes][-5:] == [p.key for p in masking._shown]
    assert masking.painter._grid_item.isVisible()  # the token grid while painting
    screenshot(window, "window_masking_vjepa2")

    # scrubbing inside the clip shows another step at once, without a new request
    latest = masking.state.latest
    window.session.set_playhead(3)
    assert masking.state.latest == latest and "frames 2–3" in panes["full"].subtitle


def test_undo_redo_presets_and_brush_keys(qtbot, make_window, videos) -> None:
    window, masking = open_window(qtbot, make_window, videos["first"], ("pixels",), frames_per_clip=8)
    masking.set_mode(True)
    window.grid.fit((128, 72))
    qtbot.wait(50)
    drag(qtbot, window, [(20, 20), (50, 30)])
    painted = masking.document.pixels.copy()
    qtbot.waitUntil(lambda: result_ready(masking), timeout=TIMEOUT)
    first = masking.view
    window.activateWindow()
    qtbot.keyClick(window, Qt.Key.Key_Z, CTRL)
    assert masking.document.empty
    qtbot.waitUntil(lambda: result_ready(masking, with_variants=False), timeout=TIMEOUT)
    assert "paint" in masking.panes["predicted"].note_item.toPlainText()
    computed = masking.masking.compute_count
    qtbot.keyClick(window, Qt.Key.Key_Z, CTRL | SHIFT)
    np.testing.assert_array_equal(masking.document.pixels, painted)
    # the redone mask was computed before: it comes from the cache, not the model
    qtbot.waitUntil(lambda: result_ready(masking), timeout=TIMEOUT)
    assert masking.masking.compute_count == computed
    assert masking.view.variants[0].mean_cosine == first.variants[0].mean_cosine

    size = masking.document.brush_size
    qtbot.keyClick(window, Qt.Key.Key_BracketRight)
    assert masking.document.brush_size > size
    assert masking.panel.brush.value() == round(masking.document.brush_size)

    # the future preset from the Mask menu: the last k steps, whole frames, one undo step
    masking.panel.future_steps.setValue(2)
    action = next(a for a in masking.menu.actions() if a.menu() is not None).menu().actions()[2]
    assert action.text() == "Future steps"
    action.trigger()
    assert masking.document.frames == frozenset({6, 7}) and masking.document.pixels.all()
    qtbot.waitUntil(lambda: result_ready(masking), timeout=TIMEOUT)
    assert masking.view.hidden[:6].sum() == 0 and masking.view.hidden[6:].all()
    with open_video(videos["first"]) as video:
        clip = video.clip(0, 8, 1)
    direct = inpaint_prediction(load_encoder("pixels", resolution=RES), clip, masking.document.to_pixel_mask(), list(range(8)), "blur")
    assert masking.view.variants[0].mean_cosine == pytest.approx(direct.mean_cosine, abs=1e-6)
    # the steps list follows the mask
    items = [masking.panel.steps.item(i) for i in range(masking.panel.steps.count())]
    assert [i.checkState() == Qt.CheckState.Checked for i in items] == [False] * 6 + [True] * 2
    masking.document.undo()
    np.testing.assert_array_equal(masking.document.pixels, painted)


def test_save_load_and_the_mask_kept_with_the_session(qtbot, make_window, videos, tmp_path, settings_file) -> None:
    window, masking = open_window(qtbot, make_window, videos["first"], ("pixels",))
    masking.document.rectangle(10, 10, 60, 40)
    masking.document.set_frames({2, 3})
    saved = masking.document.pixels.copy()
    path = tmp_path / "mine.png"
    masking.ask_save_mask_path = lambda: path
    masking.save_action.trigger()
    assert path.exists()
    masking.document.clear()
    masking.ask_open_mask_path = lambda: path
    masking.load_action.trigger()
    np.testing.assert_array_equal(masking.document.pixels, saved)
    assert masking.document.frames == frozenset({2, 3}) and masking.mode
    # a mask of another size is refused with a clear message, and the mask stays
    wrong = tmp_path / "wrong.png"
    MaskDocument(10, 12).save_png(wrong)
    masking.load_mask(wrong)
    assert "12x10" in window.message_bar.text() and "128x72" in window.message_bar.text()
    np.testing.assert_array_equal(masking.document.pixels, saved)

    window.close()  # the session keeps the mask beside the settings
    again = make_window()
    again.session.set_resolution(RES)
    again.open_path(videos["first"])
    qtbot.waitUntil(lambda: again.feature("masking").document.size == (72, 128), timeout=TIMEOUT)
    np.testing.assert_array_equal(again.feature("masking").document.pixels, saved)
    assert again.feature("masking").document.frames == frozenset({2, 3})
    assert again.feature("masking").mode  # mask mode was on when the window closed
    assert again.feature("masking").autosave_path().parent == settings_file.parent / "jepa-studio-masks"


def test_export_from_the_window_equals_the_cli_function(qtbot, make_window, videos, tmp_path, screenshot) -> None:
    window, masking = open_window(qtbot, make_window, videos["first"], ("pixels",))
    masking.apply_preset("centre")
    masking.panel.fill.setCurrentIndex(masking.panel.fill.findData("mean"))
    qtbot.waitUntil(lambda: result_ready(masking), timeout=TIMEOUT)
    screenshot(window, "window_masking_pixels_inpaint")
    out = tmp_path / "masked.png"
    masking.ask_export_path = lambda: out
    masking.export_action.trigger()
    qtbot.waitUntil(lambda: window.last_export == out, timeout=TIMEOUT)
    with open_video(videos["first"]) as video:
        settings = MaskSettings(mask=masking.document.to_pixel_mask(), fill="mean")
        expected = mask_comparison_image(video, [load_encoder("pixels", resolution=RES)], [0, 1, 2, 3], settings)
    np.testing.assert_array_equal(np.asarray(Image.open(out).convert("RGB")), expected)
    # a video of the clip: one frame per source frame
    movie = tmp_path / "masked.mp4"
    masking.export(movie)
    qtbot.waitUntil(lambda: window.last_export == movie, timeout=TIMEOUT)
    with open_video(movie) as video:
        assert len(video) == 4


def test_the_gui_thread_never_waits_for_the_model(qtbot, make_window, videos) -> None:
    window, masking = open_window(qtbot, make_window, videos["first"], ("pixels",))
    masking.set_mode(True)
    window.grid.fit((128, 72))
    qtbot.wait(50)
    qtbot.waitUntil(lambda: window.engine._gpu.idle(), timeout=TIMEOUT)
    gate = threading.Event()
    window.engine.submit_gpu_task(lambda token: gate.wait(20))  # the GPU worker is busy
    try:
        drag(qtbot, window, [(20, 20), (40, 20)])
        qtbot.waitUntil(lambda: masking.panel.busy.isVisible(), timeout=TIMEOUT)
        first = masking.state.latest
        # the window still paints, undoes and scrubs while the worker is held
        drag(qtbot, window, [(80, 50), (100, 50)])
        assert masking.document.pixels[50, 90] and masking.painter.overlay_item.image[50, 90, 3] > 0
        qtbot.waitUntil(lambda: masking.state.latest == first + 1, timeout=TIMEOUT)
        window.session.set_playhead(2)
        assert masking.view is None or not masking.view.variants
    finally:
        gate.set()
    qtbot.waitUntil(lambda: result_ready(masking), timeout=TIMEOUT)
    assert masking.view.request == first + 1  # the stale request was dropped, the latest shown
    assert masking.view.variants[0].n_hidden > 0 and masking.panel.busy.isHidden()


def test_errors_show_in_the_window(qtbot, make_window, videos) -> None:
    window, masking = open_window(qtbot, make_window, videos["first"], ("no-such-encoder-xyz",))
    masking.apply_preset("centre")
    qtbot.waitUntil(lambda: "failed" in window.message_bar.text(), timeout=TIMEOUT)
    assert "no-such-encoder-xyz" in window.message_bar.text()
    assert masking.last_error and masking.panel.busy.isHidden()


def test_pca_component_spin_boxes_are_one_based(qtbot, make_window) -> None:
    window = make_window()
    spins = window.feature("viewer").controls.channels
    assert [s.value() for s in spins] == [1, 2, 3] and spins[0].minimum() == 1
    spins[0].setValue(4)
    assert window.session.view.channels == (3, 1, 2)


def test_cancel_stops_a_waiting_prediction(qtbot, make_window, videos) -> None:
    window, masking = open_window(qtbot, make_window, videos["first"], ("pixels",))
    qtbot.waitUntil(lambda: window.engine._gpu.idle(), timeout=TIMEOUT)
    gate = threading.Event()
    window.engine.submit_gpu_task(lambda token: gate.wait(20))
    try:
        masking.apply_preset("centre")
        qtbot.waitUntil(lambda: masking.panel.busy.isVisible(), timeout=TIMEOUT)
        window.cancel_work()  # what the status bar's Cancel button does
        qtbot.waitUntil(lambda: masking.panel.busy.isHidden(), timeout=TIMEOUT)
        assert "cancelled" in masking.panel.status.text()
    finally:
        gate.set()
    qtbot.waitUntil(lambda: window.engine._gpu.idle(), timeout=TIMEOUT)
    assert masking.masking.compute_count == 0  # the queued prediction never ran
    masking.panel.threshold.setValue(0.5)  # any change computes again
    qtbot.waitUntil(lambda: result_ready(masking), timeout=TIMEOUT)
