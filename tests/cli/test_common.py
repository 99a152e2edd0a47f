"""Frame ranges and encoder lists as the CLI reads them."""

import argparse

import numpy as np
import pytest

from jepa_studio.cli.common import attach_dash_values, parse_encoder_list
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


# --------------------------------------------------- ranges counted from the end


def _subcommands_with_frames() -> dict[str, argparse.ArgumentParser]:
    from jepa_studio.cli import build_parser

    parser = build_parser()
    (subparsers,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    found = {name: sub for name, sub in subparsers.choices.items() if "--frames" in sub._option_string_actions}
    assert {"export", "extract", "mask", "compare"} <= set(found)
    return found


def _required_words(sub: argparse.ArgumentParser) -> list[str]:
    """Words that satisfy ``sub``'s required arguments (dummy values: nothing runs)."""
    words: list[str] = []
    for action in sub._actions:
        if action.required:
            words += ["x"] if not action.option_strings else [action.option_strings[0], "x"]
    for group in sub._mutually_exclusive_groups:
        if group.required:
            option = group._group_actions[0]
            words += [option.option_strings[0]] + ([] if option.nargs == 0 else ["x"])
    return words


@pytest.mark.parametrize("text, expected", [("-16:", range(84, 100)), ("-20:-4", range(80, 96)), ("-8::2", range(92, 100, 2)), ("-3", range(97, 98))])
def test_every_frames_option_takes_a_range_from_the_end(text, expected):
    from jepa_studio.cli import build_parser

    for name, sub in _subcommands_with_frames().items():
        for argv in ([name, *_required_words(sub), "--frames", text], [name, "--frames", text, *_required_words(sub)]):
            args = build_parser().parse_args(argv)
            assert args.frames == text, (name, argv)
            assert parse_frame_range(args.frames, 100) == expected


def test_only_frame_ranges_are_joined_to_their_option():
    assert attach_dash_values(["--frames", "-16:", "--out", "-x"]) == ["--frames=-16:", "--out", "-x"]
    assert attach_dash_values(["--frames", "--out", "x"]) == ["--frames", "--out", "x"]
    assert attach_dash_values(["--out", "-16:"]) == ["--out", "-16:"]


def test_extract_of_the_last_frames_from_the_command_line(tmp_path, capsys):
    from jepa_studio.cli import main
    from jepa_studio.encoders.features_io import load_features
    from jepa_studio.video import write_video

    video = tmp_path / "grey.mp4"
    write_video(video, [np.full((32, 32, 3), 10 * i, np.uint8) for i in range(12)], fps=12)
    out = tmp_path / "last.safetensors"
    assert main(["extract", str(video), "--encoder", "pixels", "--frames", "-4:", "--out", str(out)]) == 0
    assert capsys.readouterr().err.count("error") == 0
    feats = load_features(out)
    assert feats.frame_indices == ((8,), (9,), (10,), (11,))
    # each step's pixels are the grey level of its own frame
    np.testing.assert_allclose(feats.tokens.mean(dim=(1, 2, 3)).numpy(), [10 * i / 255 for i in range(8, 12)], atol=0.02)
