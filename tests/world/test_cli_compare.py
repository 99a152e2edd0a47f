"""``jepa-studio compare``: writes its files after every encoder; bad arguments, damaged
checkpoints and frame ranges too large for memory end in one clear line; Ctrl+C saves."""

from __future__ import annotations

import json
import signal

import numpy as np
import pytest

import jepa_studio.cli as cli

TINY = ["--steps", "3", "--decoder-steps", "3", "--horizon", "2", "--history", "2", "--episodes", "2",
        "--episode-frames", "24", "--resolution", "32", "--device", "cpu"]


@pytest.fixture(autouse=True)
def compare_command(monkeypatch):
    if "compare" not in cli.COMMANDS:
        monkeypatch.setattr(cli, "COMMANDS", (*cli.COMMANDS, "compare"))


def _one_line_error(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert err and err[-1].startswith("jepa-studio: error:"), err
    return err[-1]


def test_compare_pendulum_writes_files_after_each_encoder(tmp_path, capsys, monkeypatch):
    import jepa_studio.world.report as report

    written = []
    original = report.write_report
    monkeypatch.setattr(report, "write_report", lambda r, out: written.append(len(r.encoders)) or original(r, out))
    out = tmp_path / "cmp"
    rc = cli.main(["compare", "--pendulum", "--encoders", "pixels,pixels-tubelet", "--out", str(out), *TINY])
    captured = capsys.readouterr()
    assert rc == 0, captured.err
    assert written == [1, 2, 2]  # after each encoder, then the final report
    for name in ("report.json", "table.md", "rollouts.png", "plots/psnr.png", "plots/probes.png",
                 "checkpoints/pixels/config.json", "checkpoints/pixels-tubelet/config.json"):
        assert (out / name).is_file(), name
    report_json = json.loads((out / "report.json").read_text())
    assert report_json["settings"]["transition_steps"] == 3 and report_json["actions"] is True
    assert report_json["settings"]["latents"] == "causal"
    assert "PSNR model" in captured.out and "probe R²" in captured.out and "ω (mean)" in captured.out
    assert "jepa-studio: about " in captured.err  # the time estimate comes first


def test_ctrl_c_saves_the_checkpoint_and_the_report(tmp_path, capsys, monkeypatch):
    """The first Ctrl+C stops training after the current step, saves it, writes the report."""
    import jepa_studio.cli.compare as command
    from jepa_studio.world.checkpoints import load_world

    def bars():
        def update(stage, step, total, loss):
            if stage == "pixels: transition" and step == 2:
                signal.raise_signal(signal.SIGINT)

        return update, lambda: None

    monkeypatch.setattr(command, "_stage_bars", bars)
    out = tmp_path / "cmp"
    rc = cli.main(["compare", "--pendulum", "--encoders", "pixels", "--out", str(out), *TINY])
    assert rc == command.INTERRUPTED
    saved = load_world(out / "checkpoints" / "pixels")
    assert saved.state["decoder"].step == 3 and saved.state["transition"].step == 2
    assert json.loads((out / "report.json").read_text())["cancelled"] is True
    assert "continue with --resume" in capsys.readouterr().err
    assert signal.getsignal(signal.SIGINT) is not None  # the previous handler is back
    capsys.readouterr()
    rc = cli.main(["compare", "--pendulum", "--encoders", "pixels", "--out", str(out), "--resume", *TINY])
    assert rc == 0 and load_world(out / "checkpoints" / "pixels").state["transition"].step == 3
    assert "pixels: resuming" in capsys.readouterr().err  # says what it resumes, from which step


def test_resume_says_why_it_starts_over(tmp_path, capsys):
    out = tmp_path / "cmp"
    assert cli.main(["compare", "--pendulum", "--encoders", "pixels", "--out", str(out), *TINY]) == 0
    capsys.readouterr()
    assert cli.main(["compare", "--pendulum", "--encoders", "pixels", "--out", str(out), "--resume",
                     "--seed", "1", *TINY]) == 0
    err = capsys.readouterr().err
    assert "not resuming" in err and "seed (0 vs 1)" in err and "training from scratch" in err
    assert cli.main(["compare", "--pendulum", "--encoders", "pixels", "--out", str(tmp_path / "new"), "--resume",
                     *TINY]) == 0
    assert "no checkpoint to resume" in capsys.readouterr().err


def test_a_damaged_checkpoint_ends_resume_in_one_line(tmp_path, capsys):
    out = tmp_path / "cmp"
    assert cli.main(["compare", "--pendulum", "--encoders", "pixels", "--out", str(out), *TINY]) == 0
    config = out / "checkpoints" / "pixels" / "config.json"
    from safetensors.torch import load_file, save_file

    weights = config.parent / "weights.safetensors"
    data = json.loads(config.read_text())
    del data["latent_variance"]
    save_file(load_file(str(weights)), str(weights), metadata={"format": "jepa-studio-world-model", "config": json.dumps(data)})
    capsys.readouterr()
    rc = cli.main(["compare", "--pendulum", "--encoders", "pixels", "--out", str(out), "--resume", *TINY])
    assert rc == 2 and "latent_variance is missing" in _one_line_error(capsys)


def test_a_frame_range_too_large_for_memory_is_refused_before_decoding(tmp_path, capsys, monkeypatch):
    import jepa_studio.world.compare as compare
    from jepa_studio.video import reader
    from jepa_studio.video.writer import write_video

    path = write_video(tmp_path / "long.mp4", np.zeros((40, 48, 64, 3), np.uint8), 10.0)
    monkeypatch.setattr(compare, "FRAME_BUDGET_BYTES", 30 * 48 * 64 * 3)
    decoded = []
    monkeypatch.setattr(reader.Video, "clip", lambda *a, **k: decoded.append(a) or 1 / 0)
    rc = cli.main(["compare", str(path), "--frames", "0:100000", "--encoders", "pixels", "--out", str(tmp_path / "o")])
    line = _one_line_error(capsys)
    assert rc == 2 and "40 frames of 64x48" in line and "at most 30" in line and not decoded


def test_the_sample_video_gets_position_probes(tmp_path, capsys):
    from jepa_studio.resources import sample_video_path

    out = tmp_path / "cmp"
    rc = cli.main(["compare", str(sample_video_path()), "--frames", "0:40", "--encoders", "pixels", "--out", str(out),
                   "--steps", "2", "--decoder-steps", "2", "--horizon", "1", "--history", "2", "--resolution", "32"])
    captured = capsys.readouterr()
    assert rc == 0, captured.err
    assert "position (mean)" in captured.out and "velocity (tokens)" in captured.out
    data = json.loads((out / "report.json").read_text())
    assert data["plan"]["fps"] == 24.0 and data["encoders"][0]["probes"]["held_out"].startswith("fitted on 6 of 8 blocks")


@pytest.mark.parametrize(
    "argv, message",
    [
        (["compare", "--encoders", "pixels"], "either a VIDEO or --pendulum"),
        (["compare", "clip.mp4", "--pendulum"], "either a VIDEO or --pendulum"),
        (["compare", "--pendulum", "--horizon", "0"], "horizon must be at least 1"),
        (["compare", "--pendulum", "--encoders", "no-such-encoder"], "no-such-encoder"),
        (["compare", "--pendulum", "--frameskip", "3", "--encoders", "pixels-tubelet"], "multiple of"),
        (["compare", "--pendulum", "--steps", "-1"], "--steps must not be negative"),
    ],
)
def test_bad_arguments_fail_with_one_line(tmp_path, capsys, argv, message):
    rc = cli.main([*argv, "--out", str(tmp_path / "o"), "--episodes", "1", "--episode-frames", "16"])
    err = capsys.readouterr().err.strip()
    assert rc == 2
    assert len(err.splitlines()) == 1 and err.startswith("jepa-studio: error:") and message in err


def test_missing_video_fails_with_one_line(tmp_path, capsys):
    rc = cli.main(["compare", str(tmp_path / "missing.mp4"), "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and len(err.splitlines()) == 1 and "missing.mp4" in err
