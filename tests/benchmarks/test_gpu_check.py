"""benchmarks/gpu_check.py: its --quick run on the CPU, and what it says without CUDA."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest
import torch

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "gpu_check.py"


@pytest.fixture(scope="module")
def gpu_check():
    spec = importlib.util.spec_from_file_location("gpu_check", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules["gpu_check"] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    yield module
    del sys.modules["gpu_check"]


def test_quick_run_passes_every_check_on_the_cpu(gpu_check, capsys, tmp_path):
    assert gpu_check.main(["--quick", "--json", str(tmp_path / "results.json")]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    checks = [line.split()[:2] for line in lines[1:-1]]
    assert [name for _, name in checks] == ["bf16", "bf16", "leak", "oom", "extract", "masking"]
    assert all(status == "PASS" for status, name in checks if name != "oom")
    assert checks[3] == ["SKIP", "oom"]  # provoking an out-of-memory error needs CUDA
    assert "leaky variant changes by" in lines[3] and "max change of true-masking predictions 0 " in lines[3]
    assert lines[-1].startswith("6 of 6 checks passed")
    assert (tmp_path / "results.json").read_text().count('"status"') == 6


def test_the_leak_check_fails_on_a_leak(gpu_check, monkeypatch, tmp_path):
    """Predictions made by the leaky variant (the context saw the hidden pixels) fail the check."""
    original = gpu_check.run_masked_prediction

    def leaky_as_true(encoder, frames, mask, include_leaky):
        _, leaky, cosine = original(encoder, frames, mask, include_leaky=True)
        return leaky, leaky, cosine

    vjepa2, _ = gpu_check.load_encoders(gpu_check.QUICK, tmp_path)
    clip = gpu_check.moving_frames(4, 64, 64)
    assert gpu_check.check_leak(vjepa2, clip).status == "PASS"
    monkeypatch.setattr(gpu_check, "run_masked_prediction", leaky_as_true)
    assert gpu_check.check_leak(vjepa2, clip).status == "FAIL"


def test_without_cuda_it_says_so_and_checks_nothing(gpu_check, monkeypatch, capsys):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert gpu_check.main([]) == 2
    out = capsys.readouterr().out
    assert out.startswith("gpu_check: no CUDA device:") and "--quick" in out and out.count("\n") == 1
