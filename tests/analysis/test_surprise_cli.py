"""``jepa-studio surprise``: the CSV, plot, maps and peaks it writes, and its one-line errors."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from safetensors import safe_open

import jepa_studio.cli as cli
from jepa_studio.video import write_video
from jepa_studio.video.sample import render_sample_scene


@pytest.fixture(scope="module")
def cut_video(tmp_path_factory) -> Path:
    """An mp4 of 32 frames of the sample scene at 160 x 96, cut to another garden at frame 16."""
    before = render_sample_scene(16, (160, 96), seed=0)
    after = render_sample_scene(56, (160, 96), seed=2)[40:]
    return write_video(tmp_path_factory.mktemp("surprise") / "cut.mp4", list(np.concatenate([before, after])), 24.0)


def test_surprise_writes_the_curve_plot_maps_and_peaks(cut_video: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "out"
    rc = cli.main(["surprise", str(cut_video), "--encoder", "pixels-tubelet", "--out", str(out), "--device", "cpu"])
    captured = capsys.readouterr()
    assert rc == 0, captured.err
    for name in ("surprise.csv", "surprise.png", "surprise_maps.safetensors", "peaks.png"):
        assert (out / name).is_file(), name
    rows = list(csv.DictReader((out / "surprise.csv").open()))
    assert len(rows) == 16 and rows[8]["frames"] == "16 17" and rows[0]["surprise_cosine"] == ""
    assert rows[0]["encoder"] == "pixels-tubelet" and rows[0]["method"] == "copy"
    values = [float(r["surprise_cosine"]) for r in rows[1:]]
    assert int(np.argmax(values)) + 1 == 8  # the cut
    assert float(rows[8]["seconds"]) == pytest.approx(16 / 24, abs=1e-3)
    with safe_open(str(out / "surprise_maps.safetensors"), "pt") as f:
        maps = f.get_tensor("surprise")
        meta = f.metadata()
    assert tuple(maps.shape)[0] == 16 and meta["method"] == "copy"
    assert json.loads(meta["frame_indices"])[8] == [16, 17]
    assert "copy the last step" in captured.out and "peak at frame 16 (0.67s)" in captured.out


@pytest.mark.parametrize(
    "args, message",
    [
        (["--encoder", "pixels", "--method", "predictor"], "has no predictor"),
        (["--encoder", "pixels,pixels-tubelet"], "--encoder takes one encoder"),
        (["--encoder", "pixels", "--k", "0"], "at least 1"),
        (["--encoder", "pixels", "--frames", "0:1"], "needs at least 2"),
    ],
)
def test_user_errors_are_one_line(cut_video: Path, tmp_path: Path, capsys, args, message) -> None:
    rc = cli.main(["surprise", str(cut_video), "--out", str(tmp_path / "o"), *args])
    err = capsys.readouterr().err
    assert rc == 2 and message in err and err.count("\n") == 1
