"""``jepa-studio track``: files, the printed table, and one clear line for every user error."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import jepa_studio.cli as cli
from jepa_studio.analysis.tap_metrics import TrackTruth, write_truth
from jepa_studio.video import save_image
from tests.analysis.moving_scene import moving_object_clip

N_FRAMES = 8


@pytest.fixture(scope="module")
def scene(tmp_path_factory) -> tuple[Path, Path]:
    """A folder of 8 lossless frames of the moving object, and its truth (object centre and corner)."""
    root = tmp_path_factory.mktemp("track")
    frames, corners = moving_object_clip(n_frames=N_FRAMES)
    folder = root / "frames"
    folder.mkdir()
    for i, frame in enumerate(frames):
        save_image(folder / f"{i:03d}.png", frame)
    rows = [
        {"point": name, "frame": i, "x": float(c[0] + dx), "y": float(c[1] + dy), "visible": True}
        for name, (dx, dy) in (("centre", (32, 32)), ("corner", (16, 48)))
        for i, c in enumerate(corners)
    ]
    truth = write_truth(root / "truth.json", TrackTruth.from_rows(rows, (256, 192)))
    return folder, truth


def test_track_with_ground_truth_writes_every_file_and_prints_the_table(scene, tmp_path: Path, capsys) -> None:
    folder, truth = scene
    out = tmp_path / "out"
    rc = cli.main(["track", str(folder), "--tracks", str(truth), "--encoders", "pixels,pixels-tubelet",
                   "--out", str(out), "--video", "--device", "cpu"])
    captured = capsys.readouterr()
    assert rc == 0, captured.err
    for name in ("tracks.json", "trails.png", "trails.mp4", "table.md"):
        assert (out / name).is_file(), name
    report = json.loads((out / "tracks.json").read_text())
    assert [e["encoder"] for e in report["encoders"]] == ["pixels", "pixels-tubelet"]
    assert report["frames"] == list(range(N_FRAMES)) and report["width"] == 256
    tubelet = report["encoders"][1]
    assert len(tubelet["points"][0]["steps"]) == N_FRAMES // 2
    assert tubelet["points"][0]["steps"][1]["frames"] == [2, 3]
    for entry in report["encoders"]:
        assert entry["scores"]["evaluated"] == 2 * (N_FRAMES - 1)  # both points, every frame but the query's
        assert entry["scores"]["within"]["16"] > 0.9, entry["scores"]  # followed to within a patch
    lines = captured.out.splitlines()
    assert lines[0].startswith("encoder") and "delta_avg" in lines[0]
    assert lines[1].startswith("pixels ") and lines[2].startswith("pixels-tubelet")
    assert (out / "table.md").read_text().startswith("| encoder")


def test_track_clicked_points(scene, tmp_path: Path, capsys) -> None:
    folder, _ = scene
    out = tmp_path / "out"
    rc = cli.main(["track", str(folder), "--points", "72,82@0; 100,100@4", "--encoders", "pixels",
                   "--frames", "0:8:2", "--out", str(out)])
    captured = capsys.readouterr()
    assert rc == 0, captured.err
    report = json.loads((out / "tracks.json").read_text())
    points = report["encoders"][0]["points"]
    assert [p["name"] for p in points] == ["p1", "p2"] and points[1]["query"] == {"frame": 4, "x": 100.0, "y": 100.0}
    assert report["frames"] == [0, 2, 4, 6] and report["encoders"][0]["scores"] is None
    assert (out / "trails.png").is_file() and not (out / "table.md").exists() and not (out / "trails.mp4").exists()


@pytest.mark.parametrize(
    "args, message",
    [
        (["--points", "300,10@0"], "lies outside the 256x192 frame"),
        (["--points", "10,-1@0"], "lies outside the 256x192 frame"),
        (["--points", "10,10@99"], "frame 99 is outside the video"),
        (["--points", "10;10@0"], "write each point as x,y@frame"),
        (["--points", "10,10@3", "--frames", "0:8:2"], "frame 3 of --points is not among the tracked frames"),
        (["--points", "10,10@0", "--window", "4"], "odd number"),
        (["--points", "10,10@0", "--temperature", "0"], "must be positive"),
        (["--tracks", "missing.json"], "no such tracks file"),
    ],
)
def test_user_errors_are_one_line(scene, tmp_path: Path, capsys, args, message) -> None:
    folder, _ = scene
    rc = cli.main(["track", str(folder), "--encoders", "pixels", "--out", str(tmp_path / "o"), *args])
    err = capsys.readouterr().err
    assert rc == 2 and message in err and err.startswith("jepa-studio: error:") and err.count("\n") == 1


def test_a_truth_file_for_another_frame_size_is_refused(scene, tmp_path: Path, capsys) -> None:
    folder, _ = scene
    bad = write_truth(tmp_path / "t.json", TrackTruth.from_rows(
        [{"point": "a", "frame": 0, "x": 10, "y": 10, "visible": True}], (640, 360)))
    rc = cli.main(["track", str(folder), "--tracks", str(bad), "--encoders", "pixels", "--out", str(tmp_path / "o")])
    assert rc == 2 and "describes 640x360 frames but the video's are 256x192" in capsys.readouterr().err
    unseen = write_truth(tmp_path / "u.csv", TrackTruth.from_rows(
        [{"point": "a", "frame": 0, "x": None, "y": None, "visible": False}]))
    rc = cli.main(["track", str(folder), "--tracks", str(unseen), "--encoders", "pixels", "--out", str(tmp_path / "o")])
    assert rc == 2 and "no point of u.csv is visible" in capsys.readouterr().err
    assert not np.any([p.exists() for p in (tmp_path / "o").glob("*")])
