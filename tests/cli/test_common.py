"""Frame ranges and encoder lists as the CLI reads them."""

import pytest

from jepa_studio.cli.common import parse_encoder_list
from jepa_studio.video.ranges import parse_frame_range
from jepa_studio.errors import UsageError


@pytest.mark.parametrize(
    "text, n, expected",
    [("0:10:2", 100, range(0, 10, 2)), ("::50", 120, range(0, 120, 50)), ("90:", 100, range(90, 100)),
     ("-5:", 100, range(95, 100)), ("7", 100, range(7, 8)), ("-1", 100, range(99, 100)), ("0:500:100", 250, range(0, 250, 100))],
)
def test_frame_ranges_follow_slice_rules(text, n, expected):
    assert parse_frame_range(text, n) == expected


@pytest.mark.parametrize("text", ["a:b", "0:10:0", "1:2:3:4", "50:60", "0:10:-1"])
def test_bad_frame_ranges_are_usage_errors(text):
    with pytest.raises(UsageError):
        parse_frame_range(text, 40)


def test_encoder_lists():
    assert parse_encoder_list(" pixels, pixels-tubelet,,pixels ") == ["pixels", "pixels-tubelet"]
    with pytest.raises(UsageError):
        parse_encoder_list(" , ")


def test_argparse_errors_are_one_line(capsys):
    from jepa_studio.cli import main

    with pytest.raises(SystemExit) as exit_info:
        main(["export", "--out", "x.png"])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2
    assert err.count("\n") == 1 and "required: video" in err and "usage:" not in err
