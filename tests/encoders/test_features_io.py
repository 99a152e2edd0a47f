"""Features files: safetensors round trip, streaming in chunks, metadata, bad files."""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import load_file

from jepa_studio.encoders.base import PatchFeatures
from jepa_studio.encoders.features_io import FeatureWriter, feature_metadata, load_features, read_metadata, save_features
from jepa_studio.errors import UsageError


def make(steps: int, k: int, cls: bool, dtype=torch.float32, first: int = 0) -> PatchFeatures:
    g = torch.Generator().manual_seed(steps * 10 + k)
    frames = list(range(first, first + steps * k - (1 if k == 2 else 0)))
    groups = tuple(tuple(frames[i : i + k]) for i in range(0, len(frames), k))
    return PatchFeatures(
        tokens=torch.randn(steps, 3, 5, 8, generator=g).to(dtype), frame_indices=groups, encoder="vjepa2-vitl",
        checkpoint="facebook/vjepa2-vitl-fpc64-256", pretrained=False, patch_size=16, tubelet_size=k,
        input_size=(48, 80), crop_box=(0, 0, 640, 384), cls=torch.randn(steps, 8, generator=g).to(dtype) if cls else None,
    )


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.bfloat16])
@pytest.mark.parametrize("k,cls", [(2, False), (1, True)])
def test_round_trip(tmp_path, dtype, k, cls) -> None:
    feats = make(4, k, cls, dtype)
    path = tmp_path / "f.safetensors"
    save_features(path, feats, video="/data/clip.mp4")
    back = load_features(path)
    assert torch.equal(back.tokens, feats.tokens) and back.tokens.dtype == dtype
    assert back.frame_indices == feats.frame_indices
    assert (back.cls is None) == (not cls) and (not cls or torch.equal(back.cls, feats.cls))
    for field in ("encoder", "checkpoint", "pretrained", "patch_size", "tubelet_size", "input_size", "crop_box"):
        assert getattr(back, field) == getattr(feats, field)
    assert read_metadata(path)["video"] == "/data/clip.mp4"
    # an independent reader sees a plain safetensors file
    raw = load_file(str(path))
    assert torch.equal(raw["tokens"], feats.tokens)
    if k == 2:
        assert raw["frame_indices"].tolist()[-1] == [6, -1]  # the odd end covers one frame


def test_streamed_chunks_equal_one_save(tmp_path) -> None:
    a, b = make(2, 2, False), make(3, 2, False, first=4)
    path = tmp_path / "s.safetensors"
    meta = feature_metadata(a, frames=[0, 9, 1])
    with FeatureWriter(path, steps=5, grid=(3, 5), dim=8, tubelet_size=2, has_cls=False, metadata=meta) as w:
        w.write(a)
        assert not path.exists()  # written under a temporary name until complete
        w.write(b)
    back = load_features(path)
    assert torch.equal(back.tokens, torch.cat([a.tokens, b.tokens]))
    assert back.frame_indices == a.frame_indices + b.frame_indices
    assert read_metadata(path)["frames"] == [0, 9, 1]


def test_incomplete_or_failed_writes_leave_no_file(tmp_path) -> None:
    path = tmp_path / "x.safetensors"
    with pytest.raises(ValueError, match="only 2 of 5"):
        with FeatureWriter(path, steps=5, grid=(3, 5), dim=8, tubelet_size=2, has_cls=False, metadata={}) as w:
            w.write(make(2, 2, False))
    with pytest.raises(RuntimeError):
        with FeatureWriter(path, steps=2, grid=(3, 5), dim=8, tubelet_size=2, has_cls=False, metadata={}) as w:
            raise RuntimeError("encoder failed")
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(ValueError, match="grid"):
        with FeatureWriter(path, steps=2, grid=(4, 5), dim=8, tubelet_size=2, has_cls=False, metadata={}) as w:
            w.write(make(2, 2, False))


def test_not_a_features_file(tmp_path) -> None:
    (tmp_path / "a.safetensors").write_bytes(b"nonsense")
    with pytest.raises(UsageError, match="not a readable safetensors file"):
        load_features(tmp_path / "a.safetensors")
    from safetensors.torch import save_file

    save_file({"w": torch.zeros(2)}, str(tmp_path / "b.safetensors"))
    with pytest.raises(UsageError, match="not a JEPA Studio features file"):
        load_features(tmp_path / "b.safetensors")


def test_damaged_metadata_is_a_usage_error(tmp_path):
    import json as _json

    from safetensors.torch import save_file

    from jepa_studio.encoders.features_io import FORMAT, load_features
    from jepa_studio.errors import UsageError

    bad_json = tmp_path / "bad_json.safetensors"
    save_file({"tokens": torch.zeros(1, 1, 1, 2)}, str(bad_json), metadata={"format": FORMAT, "jepa_studio": "{nope"})
    missing = tmp_path / "missing.safetensors"
    save_file({"tokens": torch.zeros(1, 1, 1, 2)}, str(missing), metadata={"format": FORMAT, "jepa_studio": _json.dumps({"encoder": "x"})})
    for path in (bad_json, missing):
        with pytest.raises(UsageError, match=path.name):
            load_features(path)
