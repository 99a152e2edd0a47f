"""Device and precision choice (CUDA / MPS availability mocked) and the out-of-memory guard."""

from __future__ import annotations

import pytest
import torch

from jepa_studio.encoders import device as dev
from jepa_studio.errors import EncoderError, OutOfMemoryError


@pytest.fixture
def machine(monkeypatch):
    """``machine(cuda=..., mps=..., bf16=...)`` fakes what this computer has."""

    def set_up(cuda: bool = False, mps: bool = False, bf16: bool = True, count: int = 1) -> None:
        monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
        monkeypatch.setattr(torch.cuda, "device_count", lambda: count if cuda else 0)
        monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: bf16)
        monkeypatch.setattr(dev, "_mps_available", lambda: mps)

    return set_up


def test_auto_prefers_cuda_then_mps_then_cpu(machine) -> None:
    machine(cuda=True, mps=True)
    assert dev.pick_device() == torch.device("cuda") and dev.pick_device("auto").type == "cuda"
    machine(cuda=False, mps=True)
    assert dev.pick_device() == torch.device("mps")
    machine(cuda=False, mps=False)
    assert dev.pick_device() == torch.device("cpu")


def test_explicit_device_overrides_and_is_checked(machine) -> None:
    machine(cuda=True, count=2)
    assert dev.pick_device("cpu") == torch.device("cpu")
    assert dev.pick_device("cuda:1") == torch.device("cuda:1")
    with pytest.raises(EncoderError, match="no cuda:2; this machine has 2"):
        dev.pick_device("cuda:2")
    machine(cuda=False)
    with pytest.raises(EncoderError, match="CUDA was asked for but is not available.*--device cpu"):
        dev.pick_device("cuda")
    with pytest.raises(EncoderError, match="MPS"):
        dev.pick_device("mps")
    with pytest.raises(EncoderError, match="unknown device 'gpu9'"):
        dev.pick_device("gpu9")


def test_precision_per_device(machine) -> None:
    machine(cuda=True, bf16=True)
    assert dev.pick_dtype("cuda") == torch.bfloat16
    machine(cuda=True, bf16=False)
    assert dev.pick_dtype("cuda") == torch.float16
    assert dev.pick_dtype("mps") == torch.float16
    assert dev.pick_dtype("cpu") == torch.float32
    assert dev.pick_dtype("cpu", "fp16") == torch.float16
    assert dev.pick_dtype("cuda", torch.float32) == torch.float32
    with pytest.raises(EncoderError, match="unknown precision 'int3'"):
        dev.pick_dtype("cpu", "int3")


def test_oom_becomes_a_user_error_with_advice(monkeypatch) -> None:
    freed: list[object] = []
    monkeypatch.setattr(dev, "empty_cache", lambda device=None: freed.append(device))
    with pytest.raises(OutOfMemoryError) as info:
        with dev.oom_guard("encoding frames 0-63 with vjepa2-vitl", "cpu"):
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
    message = str(info.value)
    assert message.startswith("out of memory on cpu while encoding frames 0-63 with vjepa2-vitl")
    for advice in ("shorter clip", "lower resolution", "smaller model"):
        assert advice in message
    assert freed == ["cpu"]
    # MPS reports a plain RuntimeError
    with pytest.raises(OutOfMemoryError):
        with dev.oom_guard():
            raise RuntimeError("MPS backend out of memory (MPS allocated: 9 GB)")
    assert len(freed) == 2


def test_oom_guard_lets_other_errors_through_and_work_continues() -> None:
    with pytest.raises(ValueError, match="bad shape"):
        with dev.oom_guard():
            raise ValueError("bad shape")
    with dev.oom_guard():
        value = torch.ones(3).sum().item()
    assert value == 3.0
