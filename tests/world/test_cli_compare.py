"""``jepa-studio compare``: writes its files; bad arguments end in one clear line."""

from __future__ import annotations

import json

import pytest

import jepa_studio.cli as cli


@pytest.fixture(autouse=True)
def compare_command(monkeypatch):
    if "compare" not in cli.COMMANDS:
        monkeypatch.setattr(cli, "COMMANDS", (*cli.COMMANDS, "compare"))


def test_compare_pendulum_writes_files(tmp_path, capsys):
    out = tmp_path / "cmp"
    rc = cli.main([
        "compare", "--pendulum", "--encoders", "pixels", "--out", str(out), "--steps", "3",
        "--horizon", "2", "--history", "2", "--episodes", "2", "--episode-frames", "24", "--resolution", "32",
        "--device", "cpu",
    ])
    captured = capsys.readouterr()
    assert rc == 0, captured.err
    for name in ("report.json", "table.md", "rollouts.png", "plots/psnr.png", "plots/ssim.png", "checkpoints/pixels/config.json"):
        assert (out / name).is_file(), name
    report = json.loads((out / "report.json").read_text())
    assert report["settings"]["transition_steps"] == 3 and report["actions"] is True
    assert "PSNR model" in captured.out and "pixels" in captured.out


@pytest.mark.parametrize(
    "argv, message",
    [
        (["compare", "--encoders", "pixels"], "either a VIDEO or --pendulum"),
        (["compare", "clip.mp4", "--pendulum"], "either a VIDEO or --pendulum"),
        (["compare", "--pendulum", "--horizon", "0"], "horizon must be at least 1"),
        (["compare", "--pendulum", "--encoders", "no-such-encoder"], "no-such-encoder"),
        (["compare", "--pendulum", "--frameskip", "3", "--encoders", "pixels-tubelet"], "multiple of"),
    ],
)
def test_bad_arguments_fail_with_one_line(tmp_path, capsys, argv, message):
    rc = cli.main([*argv, "--out", str(tmp_path / "o"), "--steps", "1", "--episodes", "1", "--episode-frames", "16"])
    err = capsys.readouterr().err.strip()
    assert rc == 2
    assert len(err.splitlines()) == 1 and err.startswith("jepa-studio: error:") and message in err


def test_missing_video_fails_with_one_line(tmp_path, capsys):
    rc = cli.main(["compare", str(tmp_path / "missing.mp4"), "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and len(err.splitlines()) == 1 and "missing.mp4" in err
