"""Frame times from a source's timestamps: labels, export pacing, durations."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from jepa_studio.video.timing import frame_label, frame_time, frame_times, is_variable_rate, span_seconds, video_timing

STAMPS = np.array([0.0, 0.04, 0.08, 0.12, 0.62, 1.12, 1.62])  # 25 fps, then 2 fps


def test_times_come_from_timestamps_and_fall_back_to_the_rate() -> None:
    vfr = SimpleNamespace(fps=25.0, timestamps=STAMPS)
    np.testing.assert_array_equal(frame_times(vfr, [0, 3, 6]), [0.0, 0.12, 1.62])
    assert frame_time(vfr, 5) == 1.12 and frame_label(vfr, 5) == "frame 5  1.12s"  # not 5 / 25 = 0.20
    cfr = SimpleNamespace(fps=20.0)
    np.testing.assert_allclose(frame_times(cfr, [0, 3, 6]), [0.0, 0.15, 0.3])
    assert frame_time(SimpleNamespace(fps=0.0), 48) == 2.0  # unknown rate: 24 fps


def test_export_timing_keeps_the_source_pace() -> None:
    vfr = SimpleNamespace(fps=25.0, timestamps=STAMPS)
    rate, times = video_timing(vfr, [2, 4, 6])
    assert rate == 12.5  # nominal: 25 fps over a step of 2
    np.testing.assert_array_equal(times, [0.08, 0.62, 1.62])
    assert span_seconds(vfr, [2, 4, 6]) == pytest.approx(1.62 - 0.08 + 1.0)  # the last lasts as the gap before
    assert video_timing(vfr, [3]) == (25.0, None)  # one frame: nothing to pace
    assert video_timing(SimpleNamespace(fps=10.0), [0, 5]) == (2.0, None)
    assert span_seconds(SimpleNamespace(fps=10.0), [0, 5, 10]) == pytest.approx(1.5)
    damaged = SimpleNamespace(fps=25.0, timestamps=np.array([0.0, 0.04, 0.04, 0.12]))
    assert video_timing(damaged, [0, 1, 2, 3]) == (25.0, None)  # repeated timestamps: nominal rate


def test_variable_rate_is_a_spread_of_the_gaps() -> None:
    assert is_variable_rate(STAMPS)
    assert not is_variable_rate(np.arange(30) / 30 + np.tile([0, 1e-3], 15))  # jitter of 3% of a gap
    assert not is_variable_rate(None) and not is_variable_rate([0.0, 1.0])
