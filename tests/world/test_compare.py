"""The comparison end to end on a tiny pendulum run, and its report files."""

from __future__ import annotations

import json
import math
import threading

import numpy as np
import pytest
from PIL import Image

from jepa_studio.errors import UsageError
from jepa_studio.world.compare import CompareSettings, compare_encoders
from jepa_studio.world.report import format_table, line_chart, Series, write_report

TINY = dict(
    history=2, horizon=2, frameskip=2, decoder_steps=6, transition_steps=6, batch_size=4,
    short_side=32, width=16, depth=1, heads=2, decoder_hidden=8, max_windows=6,
)


@pytest.fixture(scope="module")
def result(episodes):
    import torch

    torch.set_num_threads(1)
    stages = []
    res = compare_encoders(
        episodes, ["pixels", "pixels-tubelet"], CompareSettings(**TINY),
        progress=lambda stage, s, t, l: stages.append(stage), source="pendulum test",
    )
    res.stages = stages
    return res


def test_every_table_entry_is_finite_with_baselines(result):
    assert [e.info.name for e in result.encoders] == ["pixels", "pixels-tubelet"]
    assert result.has_actions and not result.cancelled
    for e in result.encoders:
        assert [r.horizon for r in e.rows] == [1, 2]
        assert [r.frames_ahead for r in e.rows] == [2, 4]
        for r in e.rows:
            for key, value in r.__dict__.items():
                assert math.isfinite(value), key
            assert r.psnr_copy > 0 and 0 < r.ssim_copy <= 1 and r.psnr_ceiling > 0
        assert len(e.decoder_losses) == 6 and len(e.transition_losses) == 6
        assert e.weights_note == "no weights (pixel baseline)"
    assert "pixels-tubelet: transition" in result.stages


def test_deterministic(result, episodes):
    import torch

    torch.set_num_threads(1)
    again = compare_encoders(episodes, ["pixels"], CompareSettings(**TINY))
    assert again.encoders[0].rows == result.encoders[0].rows


def test_report_files(result, tmp_path):
    paths = write_report(result, tmp_path)
    data = json.loads(paths["json"].read_text())
    assert data["encoders"][1]["random_weights"] is False and len(data["encoders"][1]["horizons"]) == 2
    table = paths["table"].read_text()
    assert table.count("| pixels") == 4 and "nothing moves" in table
    for key in ("plot_psnr", "plot_ssim", "plot_cosine", "plot_nmse", "plot_loss_transition", "rollouts"):
        img = np.asarray(Image.open(paths[key]))
        assert img.ndim == 3 and img.shape[0] > 100 and img.std() > 10
    assert "PSNR model" in format_table(result, markdown=False)


def test_line_chart_draws_lines_in_their_colours():
    img = line_chart([Series("a", [0, 1, 2], [0, 1, 4], (255, 0, 0)), Series("b", [0, 2], [1, 1], (0, 0, 255), "dashed")], "t", "x", "y")
    red = np.all(img == (255, 0, 0), axis=-1).sum()
    blue = np.all(img == (0, 0, 255), axis=-1).sum()
    assert red > 200 and blue > 100


def test_bad_settings_and_cancel(episodes):
    with pytest.raises(UsageError, match="multiple of pixels-tubelet"):
        compare_encoders(episodes, ["pixels-tubelet"], CompareSettings(**{**TINY, "frameskip": 3}))
    with pytest.raises(UsageError, match="horizon must be at least 1"):
        CompareSettings(horizon=0)
    with pytest.raises(UsageError, match="too few for a rollout"):
        compare_encoders(episodes, ["pixels"], CompareSettings(**{**TINY, "horizon": 12}))
    cancel = threading.Event()
    cancel.set()
    res = compare_encoders(episodes, ["pixels"], CompareSettings(**TINY), cancel=cancel)
    assert res.cancelled and res.encoders == []
