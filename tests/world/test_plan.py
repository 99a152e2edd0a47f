"""The shared step plan: evaluation windows predict held-out frames only, in source frames."""

from __future__ import annotations

import pytest

from jepa_studio.errors import UsageError
from jepa_studio.world.plan import make_plan


def _pairs(n_frames: int, start: int = 0) -> list[tuple[int, int]]:
    return [(start + i, start + i + 1) for i in range(0, n_frames, 2)]


def test_windows_predict_held_out_frames_after_their_context():
    steps = [_pairs(40), _pairs(40, start=100)]
    plan = make_plan(steps, group=2, frameskip=4, history=3, horizon=2, val_fraction=0.25, max_windows=100, fps=10.0)
    assert plan.skip == 2 and plan.splits == (15, 15)
    assert plan.frames_ahead(1) == (3, 4) and plan.frames_ahead(2) == (7, 8)
    assert {w.clip for w in plan.windows} == {0, 1}
    for w in plan.windows:
        offset = 100 * w.clip
        assert all(f >= offset + 30 for t in w.targets for f in t)  # held out: steps 15.. = frames 30..
        assert len(w.context) == 3 * 2 and w.context[-1] + 3 == w.targets[0][0]
        assert w.targets[1][0] - w.targets[0][0] == 4
    assert "frames c + 3-4 (0.40 s), 7-8 (0.80 s)" in plan.describe()
    assert plan.to_json()["windows"][0]["target_frames"] == [list(t) for t in plan.windows[0].targets]


def test_at_most_max_windows_evenly_spaced():
    plan = make_plan([_pairs(80)], 2, 2, 2, 2, 0.5, max_windows=5)
    assert len(plan.windows) == 5
    starts = [w.start for w in plan.windows]
    assert starts == sorted(starts) and starts[0] == 18 and starts[-1] == 36  # first and last held-out windows


def test_frameskip_must_hold_whole_steps_and_the_held_out_part_a_rollout():
    with pytest.raises(UsageError, match="frameskip 3 is not a multiple of the 2 frames"):
        make_plan([_pairs(40)], 2, 3, 2, 2, 0.25, 10)
    with pytest.raises(UsageError, match="too few for a rollout"):
        make_plan([_pairs(16)], 2, 2, 3, 6, 0.25, 10)


def test_check_rejects_other_steps():
    from jepa_studio.world.latents import LatentFeatures
    import torch

    plan = make_plan([_pairs(20)], 2, 2, 2, 1, 0.25, 10)
    feats = LatentFeatures(
        tokens=torch.zeros(10, 1, 1, 1), frame_indices=tuple(_pairs(20, start=1)), encoder="x", checkpoint="-",
        pretrained=True, patch_size=16, tubelet_size=2, input_size=(16, 16), crop_box=(0, 0, 16, 16),
    )
    with pytest.raises(ValueError, match="do not cover the plan's frames"):
        plan.check(feats, 0)
