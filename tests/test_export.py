"""Comparison exports, through the Python API and the `jepa-studio export` command."""

import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from jepa_studio.cli import main
from jepa_studio.encoders import Preprocessing
from jepa_studio.encoders.pixels import PixelEncoder
from jepa_studio.errors import UsageError
from jepa_studio.export import PcaView, comparison_image, export_comparison
from jepa_studio.render.grid import cell_size_for
from jepa_studio.video import open_video, write_video

W, H, N = 96, 64, 12


def _frame(i: int) -> np.ndarray:
    """Left part red, right part blue; the boundary moves 4 px per frame."""
    f = np.zeros((H, W, 3), np.uint8)
    edge = 32 + 4 * i
    f[:, :edge] = (220, 30, 30)
    f[:, edge:] = (30, 30, 220)
    return f


@pytest.fixture(scope="module")
def video_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("export") / "two_colours.mp4"
    write_video(path, (_frame(i) for i in range(N)), fps=10, crf=10)
    return path


def _encoders():
    prep = Preprocessing(short_side=H)  # no resize: 4 x 6 tokens of 16 px
    return [PixelEncoder(1, preprocessing=prep), PixelEncoder(2, preprocessing=prep)]


def test_comparison_image_rows_cells_and_maps(video_path):
    frames = [0, 2, 4, 6]
    with open_video(video_path) as video:
        image = comparison_image(video, _encoders(), frames, PcaView(), cell_width=96)
    ch, cw = cell_size_for((H, W), 96)
    assert (ch, cw) == (64, 96)
    # three rows (sources, pixels, pixels-tubelet) of four cells, plus labels
    assert image.dtype == np.uint8 and image.shape[1] > 4 * cw and image.shape[0] > 3 * ch
    red_rows = np.flatnonzero((np.abs(image[:, :, 0].astype(int) - 220) < 20).any(1))
    assert len(red_rows) >= ch  # the source frames' red pixels are drawn
    # the pixels encoder's map of frame 0 separates the red and the blue tokens
    with open_video(video_path) as video:
        feats = _encoders()[0].encode(video.clip(0, 1), [0])
    rgb = PcaView().rgb(feats)[0]  # [4, 6, 3]
    left, right = rgb[:, 0], rgb[:, -1]
    assert (left == left[0]).all() and (right == right[0]).all()  # uniform regions, uniform colour
    assert np.abs(left[0].astype(int) - right[0].astype(int)).sum() > 100  # and different colours


def test_tubelet_rows_show_the_same_map_for_both_frames_of_a_tubelet(video_path):
    with open_video(video_path) as video:
        feats = _encoders()[1].encode(video.clip(0, 4), [0, 1, 2, 3])
    assert feats.frame_indices == ((0, 1), (2, 3))
    assert feats.time_step_of_frame(1) == feats.time_step_of_frame(0) == 0


def test_export_png_and_mp4(video_path, tmp_path):
    with open_video(video_path) as video:
        png = export_comparison(video, _encoders(), [0, 4, 8], tmp_path / "grid.png")
        mp4 = export_comparison(video, _encoders(), range(0, 10), tmp_path / "clip.mp4")
    assert Image.open(png).size[0] > 3 * 96
    with open_video(mp4) as out:
        assert len(out) == 10  # one output frame per input frame
        assert out.size[0] > 3 * 64  # source and two maps side by side
    assert not list(tmp_path.glob(".*partial*"))  # no temporary files left behind


def test_export_refuses_bad_requests_and_leaves_nothing(video_path, tmp_path):
    with open_video(video_path) as video:
        with pytest.raises(UsageError, match="cannot export"):
            export_comparison(video, _encoders(), [0], tmp_path / "grid.bmp")
        with pytest.raises(UsageError, match="outside the video"):
            export_comparison(video, _encoders(), [0, N + 5], tmp_path / "grid.png")
        with pytest.raises(UsageError, match="basis"):
            PcaView(basis="session-wide")
    assert list(tmp_path.iterdir()) == []


def test_cli_export_writes_the_image(video_path, tmp_path, capsys):
    out = tmp_path / "cli.png"
    assert main(["export", str(video_path), "--encoders", "pixels,pixels-tubelet", "--frames", "0:8:2", "--out", str(out)]) == 0
    assert Image.open(out).mode == "RGB"
    assert capsys.readouterr().out.strip() == str(out)


@pytest.mark.parametrize(
    "args, message",
    [
        (["--frames", "0:8:0"], "STEP must be positive"),
        (["--encoders", "nonsense"], "unknown encoder"),
        (["--components", "1,2"], "three components"),
    ],
)
def test_cli_export_errors_are_one_line(video_path, tmp_path, capsys, args, message):
    code = main(["export", str(video_path), "--out", str(tmp_path / "x.png"), *args])
    err = capsys.readouterr().err.strip()
    assert code == 2 and message in err and "\n" not in err and err.startswith("jepa-studio: error:")


def test_cli_bad_file_from_a_real_process(tmp_path):
    bad = tmp_path / "notes.mp4"
    bad.write_text("not a video")
    proc = subprocess.run(
        [sys.executable, "-m", "jepa_studio", "export", str(bad), "--out", str(tmp_path / "x.png")],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert proc.stderr.strip().count("\n") == 0 and "notes.mp4" in proc.stderr


def test_video_export_honours_the_per_frame_basis(video_path):
    from jepa_studio.export import comparison_video_frames

    with open_video(video_path) as video:
        clip_basis = list(comparison_video_frames(video, _encoders()[:1], range(6), PcaView(basis="clip"), cell_width=96, window=4))
        frame_basis = list(comparison_video_frames(video, _encoders()[:1], range(6), PcaView(basis="frame"), cell_width=96, window=4))
        feats = _encoders()[0].encode(video.clip(0, 4), range(4))
    assert len(frame_basis) == len(clip_basis) == 6
    assert any(not np.array_equal(a, b) for a, b in zip(clip_basis, frame_basis))
    # each frame's map is its own time step's PCA: a uniform two-colour split at the moving edge
    expected = PcaView(basis="frame").rgb(feats)
    assert expected.shape[0] == 4


def test_layer_sweep_draws_one_row_per_layer(video_path, tmp_path) -> None:
    """``--layers 0,1,last``: the rows equal those of the same encoder loaded at each layer."""
    from jepa_studio.encoders import load_encoder
    from tests.tiny_models import save_tiny_model

    folder = save_tiny_model("dinov2", tmp_path / "tiny-dinov2")
    out = tmp_path / "sweep.png"
    code = main(["export", str(video_path), "--encoders", f"pixels,{folder}", "--layers", "0,1,last",
                 "--frames", "0:4", "--out", str(out)])
    assert code == 0
    sweep = np.asarray(Image.open(out).convert("RGB"))
    with open_video(video_path) as video:
        one_each = [load_encoder("pixels")] + [load_encoder(str(folder), layer=layer) for layer in (0, 1, "last")]
        expected = comparison_image(video, one_each, [0, 1, 2, 3])
    np.testing.assert_array_equal(sweep, expected)
    assert main(["export", str(video_path), "--encoders", "pixels", "--layers", "middle", "--out", str(tmp_path / "x.png")]) == 2
    assert main(["export", str(video_path), "--encoders", "pixels", "--layers", "4", "--out", str(tmp_path / "x.mp4")]) == 2


def test_an_image_of_too_many_frames_is_refused_before_anything_is_decoded(video_path, tmp_path, capsys) -> None:
    from jepa_studio.export import comparison
    from jepa_studio.video import open_video as real_open

    class Long:  # a long video whose frames must never be read
        def __init__(self, video):
            self.video = video
            self.path, self.fps = video.path, video.fps

        def __len__(self) -> int:
            return 100_000

        def __getitem__(self, i):
            raise AssertionError("a frame was decoded")

    with real_open(video_path) as video:
        with pytest.raises(UsageError, match="at most 64 columns"):
            comparison.comparison_image(Long(video), _encoders(), range(0, 100_000))
    code = main(["export", str(video_path), "--frames", "0:12", "--out", str(tmp_path / "ok.png")])
    assert code == 0
