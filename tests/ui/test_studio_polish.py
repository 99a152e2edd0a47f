"""Polish of the studio window: elided pane titles, the wrapping pane grid, export of a range,
and what the status bar says after background tasks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image
from PySide6.QtCore import QRectF
from PySide6.QtWidgets import QDialogButtonBox

from jepa_studio.encoders import load_encoder
from jepa_studio.engine.messages import PaneImage
from jepa_studio.export import PcaView, export_comparison
from jepa_studio.ui.viewer.export_dialog import ExportRange, ExportRangeDialog, describe
from jepa_studio.engine.messages import TaskDone
from jepa_studio.state.session import VideoMeta
from jepa_studio.ui.shell.labels import short_label
from jepa_studio.ui.shell.panes import Pane, PaneGrid, choose_columns
from jepa_studio.ui.viewer.panes import EncoderPane
from jepa_studio.video import open_video

TIMEOUT = 15000
RESOLUTION = 64
LONG = "/home/someone/experiments/2024/vjepa2-ablations/run-0042/checkpoints/step-120000"


# -- titles -------------------------------------------------------------------------------
def test_short_label_keeps_the_weights_tag_and_drops_paths() -> None:
    assert short_label(f"vjepa2 ({LONG}) [random weights]") == "vjepa2 (step-120000) [random weights]"
    assert short_label("dinov2-small (facebook/dinov2-small)") == "dinov2-small"
    assert short_label("dinov2 (someorg/custom-dino)") == "dinov2 (custom-dino)"
    assert short_label("pixels") == "pixels"


def test_a_long_title_is_elided_in_the_middle_and_keeps_random_weights(qtbot) -> None:
    pane = EncoderPane(LONG)
    assert pane.title == "step-120000"  # the folder's basename, not the whole path
    label = f"vjepa2 ({LONG}) [random weights]"
    result = PaneImage(1, LONG, label, np.zeros((2, 3, 3), np.uint8), (0, 0, 48, 32), (4, 5), 2, 8, 2, (2, 3))
    pane.show_result(result)
    assert "random weights" in pane.title and LONG not in pane.title
    assert pane.title_item.toolTip().splitlines()[0] == label  # the full label, path included
    assert "frames 4–5" in pane.title_item.toolTip()

    full_width = pane.title_item._title_metrics.horizontalAdvance("vjepa2 (step-120000) [random weights]")
    title, subtitle = pane.title_item.shown(width=full_width + 5)
    assert title == "vjepa2 (step-120000) [random weights]"  # fits: nothing cut
    for width in (full_width * 0.8, full_width * 0.6):
        title, _ = pane.title_item.shown(width=width)
        assert "…" in title and title.endswith("[random weights]")
        assert title.startswith("vj")  # the middle goes, both ends stay
        assert pane.title_item._title_metrics.horizontalAdvance(title) <= width


def test_subtitles_elide_too_and_the_tooltip_has_both_lines(qtbot) -> None:
    pane = Pane("k", "context + predicted")
    note = "mask applied after a full encoder pass: the context saw the hidden region"
    pane.set_title('<span style="color:#f0a04b">LEAKY</span>: context + predicted', note)
    title, subtitle = pane.title_item.shown(width=120)
    assert "LEAKY" in title
    assert subtitle != note and "…" in subtitle and subtitle[0] == "m" and subtitle[-1] == "n"
    assert pane.title_item.toolTip() == f"LEAKY: context + predicted\n{note}"


# -- grid ---------------------------------------------------------------------------------
def test_choose_columns_by_hand() -> None:
    # one wide, short strip: everything in one row (height is what limits each pane)
    assert choose_columns(3, 3000, 400) == 3
    # a tall narrow area: one column. 4 rows: (1200 - 18)/4 - 36 = 259.5 high -> 461 wide,
    # 2 columns: 297 wide; so 1.
    assert choose_columns(4, 600, 1200) == 1
    # nine panes in a 16:9-ish area: 3 x 3 (frames 298 px wide, against 232 for 5 x 2)
    assert choose_columns(9, 1160, 610) == 3
    assert choose_columns(1, 800, 600) == 1 and choose_columns(0, 800, 600) == 1


def test_pane_grid_wraps_into_rows_follows_resizes_and_keeps_zoom_linked(qtbot) -> None:
    grid = PaneGrid()
    qtbot.addWidget(grid)
    grid.resize(1160, 650)
    grid.show()
    panes = [Pane(f"p{i}", f"pane {i}") for i in range(9)]
    grid.set_panes(panes)
    grid.fit((320, 180))
    qtbot.wait(20)
    assert grid.columns == 3
    rects = [p.view_box.geometry() for p in panes]
    assert all(r.height() > 100 and r.width() > 100 for r in rects)  # no collapsed rows
    assert len({round(r.y()) for r in rects}) == 3
    grid.resize(1600, 400)
    qtbot.waitUntil(lambda: grid.columns == 5, timeout=2000)
    panes[0].view_box.setRange(QRectF(10, 20, 64, 36), padding=0)
    qtbot.wait(20)
    lead = panes[0].view_box.viewRange()
    for pane in panes[1:]:
        np.testing.assert_allclose(pane.view_box.viewRange(), lead, atol=1.0)


# -- export of a range ---------------------------------------------------------------------
def test_export_range_goes_through_export_comparison(qtbot, make_window, videos, tmp_path: Path) -> None:
    window = make_window()
    window.session.set_resolution(RESOLUTION)
    window.open_path(videos["first"])
    qtbot.waitUntil(lambda: window.session.video is not None, timeout=TIMEOUT)
    window.session.set_clip(frames_per_clip=4, stride=2)
    window.session.set_playhead(10)
    out = tmp_path / "range.png"
    asked: list[ExportRange] = []

    def fake_dialog(defaults: ExportRange) -> ExportRange:
        asked.append(defaults)
        return ExportRange(2, 14, 4, out)

    window.feature("viewer").ask_export_range = fake_dialog  # only the dialog is replaced
    window.actions["viewer.export_range"].trigger()
    qtbot.waitUntil(lambda: window.last_export == out, timeout=TIMEOUT)
    clip = window.session.clip_frames()
    assert asked[0].frames == range(clip[0], clip[-1] + 1, 2)  # the clip window is the default
    assert asked[0].path.suffix == ".mp4"
    assert window.statusBar().currentMessage() == f"exported to {out}"
    reference = tmp_path / "reference.png"
    with open_video(videos["first"]) as video:
        encoders = [load_encoder(n, resolution=RESOLUTION) for n in ("pixels", "pixels-tubelet")]
        export_comparison(video, encoders, [2, 6, 10], reference, PcaView())
    np.testing.assert_array_equal(
        np.asarray(Image.open(out).convert("RGB")), np.asarray(Image.open(reference).convert("RGB"))
    )


def test_export_range_outside_the_video_says_so(qtbot, make_window, videos, tmp_path: Path) -> None:
    window = make_window()
    window.open_path(videos["first"])
    qtbot.waitUntil(lambda: window.session.video is not None, timeout=TIMEOUT)
    window.feature("viewer").ask_export_range = lambda d: ExportRange(500, 600, 1, tmp_path / "x.gif")
    assert window.feature("viewer").export_range() is None
    assert "select no frame" in window.message_bar.text() and "24 frames" in window.message_bar.text()
    assert not (tmp_path / "x.gif").exists()


def test_export_range_dialog_reads_its_fields(qtbot, tmp_path: Path) -> None:
    meta = VideoMeta(tmp_path / "v.mp4", 240, 24.0, (64, 48))
    dialog = ExportRangeDialog(ExportRange(0, 16, 1, tmp_path / "a.mp4"), meta)
    qtbot.addWidget(dialog)
    dialog.start.setValue(8)
    dialog.stop.setValue(40)
    dialog.step.setValue(4)
    dialog.path.setText(str(tmp_path / "clip"))
    assert dialog.choice() == ExportRange(8, 40, 4, tmp_path / "clip.mp4")
    assert dialog.hint.text() == "8 frames → a mp4 video, 1.3 s at 6 fps"  # 24 fps / step 4
    dialog.path.setText(str(tmp_path / "grid.txt"))
    export = dialog.buttons.button(QDialogButtonBox.StandardButton.Ok)
    assert not export.isEnabled() and dialog.hint.text().startswith("choose a .mp4")
    dialog.path.setText(str(tmp_path / "grid.gif"))
    assert export.isEnabled()
    assert describe(ExportRange(0, 32, 2, Path("g.png")), meta).startswith("16 frames → one image")
    # a variable frame rate: 10 frames 40 ms apart, then 10 frames 1 s apart
    stamps = np.concatenate([np.arange(10) * 0.04, 0.36 + np.arange(1, 11) * 1.0])
    vfr = VideoMeta(tmp_path / "vfr.mkv", 20, 25.0, (64, 48), stamps)
    assert describe(ExportRange(0, 20, 1, Path("v.mp4")), vfr) == (
        "20 frames → a mp4 video, 11.4 s at the video's own variable rate (~25 fps)"  # not 20 / 25 = 0.8 s
    )


def test_status_wording_after_background_tasks() -> None:
    path = Path("/tmp/out")
    assert TaskDone(1, "saving world models to out", path, "save").summary() == "saved checkpoint to /tmp/out"
    assert TaskDone(1, "writing the report to out", path, "report").summary() == "wrote report to /tmp/out"
    assert TaskDone(1, "exporting out.png", path, "export").summary() == "exported to /tmp/out"


def test_no_two_actions_share_a_shortcut(make_window) -> None:
    """Qt fires neither action of an ambiguous shortcut: every key must be unique."""
    from PySide6.QtGui import QAction

    window = make_window()
    seen: dict[str, str] = {}
    for action in window.findChildren(QAction):
        for key in action.shortcuts():
            text = key.toString()
            if not text:
                continue
            assert text not in seen or seen[text] == action.text(), f"{text}: {seen.get(text)!r} and {action.text()!r}"
            seen[text] = action.text()
    assert "Ctrl+E" in seen and "Ctrl+Shift+E" in seen and "Ctrl+Shift+R" in seen
    assert window.actions.clashes() == {}  # the one table of actions sees the same


def test_garbage_is_collected_on_the_gui_thread_only(make_window) -> None:
    """A worker thread that triggers Python's cyclic GC must not free Qt objects: with a
    window open, automatic collection is off and a GUI-thread timer collects instead."""
    import gc

    make_window()
    assert not gc.isenabled()
