"""TAP-Vid scores computed by hand, and ground-truth files: reading, writing, validating."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from jepa_studio import read_truth, score_tracks
from jepa_studio.analysis.tap_metrics import (
    TrackTruth,
    scene_truth,
    scores_table,
    write_sample_truth,
    write_truth,
)
from jepa_studio.analysis.tracking import Tracks
from jepa_studio.errors import UsageError

ROOT = Path(__file__).resolve().parents[2]


def _tracks(xy: np.ndarray, frame_indices, queries, names) -> Tracks:
    n, t, _ = xy.shape
    return Tracks(
        xy=np.asarray(xy, np.float32), confidence=np.ones((n, t), np.float32), frame_indices=tuple(frame_indices),
        queries=np.asarray(queries, np.float64), query_steps=np.zeros(n, np.int64), names=tuple(names),
        label="test", pretrained=True, temperature=0.05, window=5, centred=True, crop_box=(0, 0, 512, 256),
        grid=(16, 32), patch_size=16,
    )


def test_delta_avg_by_hand() -> None:
    """512 x 256 frames: x errors count half at the 256 x 256 scale, y errors in full."""
    truth_xy = np.zeros((1, 6, 2))
    truth_xy[0, :, 0] = 100.0
    truth_xy[0, :, 1] = 50.0
    visible = np.array([[True, True, True, True, False, True]])
    truth = TrackTruth(("a",), np.arange(6), truth_xy, visible, np.ones_like(visible), (512, 256))
    # steps of two frames (a tubelet encoder): (0, 1), (2, 3), (4, 5)
    pred = np.array([[[100.0, 50.5], [106.0, 50.0], [100.0, 70.0]]])
    tracks = _tracks(pred, [(0, 1), (2, 3), (4, 5)], [[0, 100.0, 50.0]], ["a"])
    scores = score_tracks(tracks, truth)
    # scored pairs: frame 1 (step 0; frame 0 is the query's), frames 2 and 3 (step 1, one
    # position against both), frame 5 (step 2; frame 4 is hidden).
    # errors at 256 px scale: 0.5, 3, 3 (x: 6 px * 256 / 512), 20
    errors = [0.5, 3.0, 3.0, 20.0]
    expected_within = {d: sum(e < d for e in errors) / 4 for d in (1, 2, 4, 8, 16)}
    assert expected_within == {1: 0.25, 2: 0.25, 4: 0.75, 8: 0.75, 16: 0.75}
    assert scores.within == pytest.approx(expected_within)
    assert scores.delta_avg == pytest.approx((0.25 + 0.25 + 0.75 + 0.75 + 0.75) / 5)
    assert scores.median_epe == pytest.approx(3.0)
    assert scores.median_epe_px == pytest.approx(6.0)  # source errors 0.5, 6, 6, 20
    assert scores.n_evaluated == 4 and scores.n_points == 1
    # a point exactly on a threshold is not "within" it (TAP-Vid uses a strict <)
    on_edge = _tracks(np.array([[[100.0, 51.0], [100.0, 51.0], [100.0, 51.0]]]), [(0, 1), (2, 3), (4, 5)], [[0, 100, 50]], ["a"])
    assert score_tracks(on_edge, truth).within[1] == 0.0


def test_scores_need_names_the_truth_knows_and_a_frame_size() -> None:
    truth = TrackTruth(("a",), np.arange(2), np.zeros((1, 2, 2)), np.ones((1, 2), bool), np.ones((1, 2), bool))
    tracks = _tracks(np.zeros((1, 2, 2)), [(0,), (1,)], [[0, 0, 0]], ["b"])
    with pytest.raises(UsageError, match="'b'"):
        score_tracks(tracks, truth, (10, 10))
    with pytest.raises(UsageError, match="frame size"):
        score_tracks(_tracks(np.zeros((1, 2, 2)), [(0,), (1,)], [[0, 0, 0]], ["a"]), truth)
    nothing = score_tracks(_tracks(np.zeros((1, 1, 2)), [(0,)], [[0, 0, 0]], ["a"]), truth, (10, 10))
    assert nothing.n_evaluated == 0 and np.isnan(nothing.delta_avg)


def test_queries_start_where_each_point_is_first_visible() -> None:
    truth = TrackTruth.from_rows(
        [
            {"point": "a", "frame": 0, "x": None, "y": None, "visible": False},
            {"point": "a", "frame": 2, "x": 5, "y": 6, "visible": True},
            {"point": "b", "frame": 0, "x": 1, "y": 2, "visible": "1"},
            {"point": "c", "frame": 4, "x": 1, "y": 2, "visible": "yes"},
        ]
    )
    queries, names = truth.queries([0, 1, 2, 3])
    assert names == ("a", "b") and queries.tolist() == [[2, 5, 6], [0, 1, 2]]


@pytest.mark.parametrize("suffix", [".json", ".csv"])
def test_truth_files_round_trip(tmp_path: Path, suffix: str) -> None:
    rows = [
        {"point": "ball", "frame": 3, "x": 10.5, "y": 20.25, "visible": True},
        {"point": "ball", "frame": 4, "x": None, "y": None, "visible": False},
        {"point": "car", "frame": 3, "x": 1.0, "y": 2.0, "visible": True},
    ]
    truth = TrackTruth.from_rows(rows, (64, 48))
    path = write_truth(tmp_path / f"t{suffix}", truth)
    back = read_truth(path)
    assert back.names == ("ball", "car") and back.frames.tolist() == [3, 4]
    assert back.rows() == rows
    assert back.frame_size == ((64, 48) if suffix == ".json" else None)


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    "name, text, message",
    [
        ("t.csv", "point,frame,x,y\na,0,1,2\n", "lacks visible"),
        ("t.csv", "point,frame,x,y,visible\na,0,one,2,1\n", "row 1: x 'one' is not a number"),
        ("t.csv", "point,frame,x,y,visible\na,0,1,2,1\na,-1,1,2,1\n", "row 2: frame '-1' is not a frame index"),
        ("t.csv", "point,frame,x,y,visible\na,0,1,2,maybe\n", "visible 'maybe'"),
        ("t.csv", "point,frame,x,y,visible\na,0,,2,1\n", "visible at frame 0 but has no x, y"),
        ("t.csv", "point,frame,x,y,visible\na,0,1,2,1\na,0,3,4,1\n", "second row for frame 0"),
        ("t.csv", "point,frame,x,y,visible\n", "holds no rows"),
        ("t.json", "{not json", "not valid JSON"),
        ("t.json", '{"points": []}', 'a "rows" list'),
        ("t.json", '{"rows": [[1, 2]]}', "row 1: expected an object"),
        ("t.json", '{"rows": [{"point": "a", "frame": 1, "x": 1, "y": 1}]}', "missing visible"),
        ("t.json", '{"width": 10, "height": 10, "rows": [{"point": "a", "frame": 1, "x": 12, "y": 1, "visible": 1}]}',
         "outside the 10x10 frame"),
        ("t.json", '{"width": "wide", "height": 10, "rows": []}', "width and height"),
        ("t.txt", "", "use a .json or .csv file"),
    ],
)
def test_bad_truth_files_are_one_clear_error(tmp_path: Path, name: str, text: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        read_truth(_write(tmp_path, name, text))


def test_missing_and_oversized_truth_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(UsageError, match="no such tracks file"):
        read_truth(tmp_path / "absent.json")
    import jepa_studio.analysis.tap_metrics as tm

    monkeypatch.setattr(tm, "MAX_TRUTH_BYTES", 10)
    with pytest.raises(UsageError, match="at most"):
        read_truth(_write(tmp_path, "big.json", json.dumps({"rows": []})))


def test_bundled_sample_truth_is_what_the_generator_writes(tmp_path: Path) -> None:
    bundled = ROOT / "resources" / "sample_tracks.json"
    fresh = write_sample_truth(tmp_path / "sample_tracks.json")
    assert bundled.read_text() == fresh.read_text()
    truth = read_truth(bundled)
    assert truth.frame_size == (640, 360) and truth.frames.tolist() == list(range(240))
    assert truth.names == ("ball", "car", "bird", "bouncer", "pinwheel")


def test_scene_truth_follows_the_generator() -> None:
    from jepa_studio.video.synthetic import SampleScene

    truth = scene_truth(12, (160, 90))
    gt = SampleScene((160, 90)).ground_truth(12)
    assert np.array_equal(truth.xy, gt.xy) and np.array_equal(truth.visible, gt.visible)
    assert truth.frame_size == (160, 90) and truth.known.all()


def test_scores_table_lists_every_encoder() -> None:
    truth = TrackTruth(("a",), np.arange(3), np.zeros((1, 3, 2)), np.ones((1, 3), bool), np.ones((1, 3), bool), (256, 256))
    a = score_tracks(_tracks(np.zeros((1, 3, 2)), [(0,), (1,), (2,)], [[0, 0, 0]], ["a"]), truth)
    b = score_tracks(_tracks(np.full((1, 3, 2), 3.0), [(0,), (1,), (2,)], [[0, 0, 0]], ["a"]), truth)
    table = scores_table([a, b])
    lines = table.splitlines()
    assert lines[0].startswith("| encoder") and "delta_avg" in lines[0]
    assert "| 100.0 " in lines[2] and lines[3].count("| 0.0 ") == 3  # 3 px off in x and y: 4.2 px
    assert "delta_avg" in scores_table([a], markdown=False).splitlines()[0]
