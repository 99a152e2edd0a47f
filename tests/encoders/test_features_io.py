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


def _write(path, tensors, meta):
    import json as _json

    from safetensors.torch import save_file

    from jepa_studio.encoders.features_io import FORMAT

    text = meta if isinstance(meta, str) else _json.dumps(meta)
    save_file({k: v.contiguous() for k, v in tensors.items()}, str(path), metadata={"format": FORMAT, "jepa_studio": text})
    return path


def _good() -> tuple[dict, dict]:
    feats = make(2, 1, True)
    meta = {**feature_metadata(feats), "version": 1}
    tensors = {"tokens": feats.tokens, "cls": feats.cls, "frame_indices": torch.tensor([[0], [1]])}
    return tensors, meta


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda t, m: ("[" * 100000 + "]" * 100000, t), "nested too deeply"),
        (lambda t, m: ('["a", "list"]', t), "a JSON list, not an object"),
        (lambda t, m: ('"text"', t), "a JSON str, not an object"),
        (lambda t, m: ({**m, "extra": {"a": {"b": 1}}}, t), "'extra' is nested"),
        (lambda t, m: ({**m, "extra": [[1]]}, t), "'extra' is nested"),
        (lambda t, m: ({**m, "patch_size": 0}, t), "'patch_size' must be a positive whole number"),
        (lambda t, m: ({**m, "tubelet_size": True}, t), "'tubelet_size' must be a positive whole number"),
        (lambda t, m: ({**m, "pretrained": "yes"}, t), "'pretrained' must be true or false"),
        (lambda t, m: ({**m, "input_size": [48]}, t), "'input_size' must be"),
        (lambda t, m: ({k: v for k, v in m.items() if k != "encoder"}, t), "lacks encoder"),
        (lambda t, m: (m, {**t, "tokens": t["tokens"].to(torch.int32)}), "stored as I32"),
        (lambda t, m: (m, {**t, "tokens": t["tokens"].to(torch.float64)}), "stored as F64"),
        (lambda t, m: (m, {**t, "tokens": t["tokens"][:, :2]}), "does not match input_size"),
        (lambda t, m: (m, {**t, "tokens": t["tokens"][0]}), "not \\[T', h, w, D\\]"),
        (lambda t, m: (m, {**t, "cls": t["cls"][:1]}), "cls is F32 \\[1, 8\\], expected F32 \\[2, 8\\]"),
        (lambda t, m: (m, {**t, "frame_indices": torch.tensor([[0, 1], [2, 3]])}), "frame_indices is I64"),
        (lambda t, m: (m, {k: v for k, v in t.items() if k != "frame_indices"}), "no tokens or frame_indices"),
    ],
)
def test_damaged_or_hostile_files_are_one_clear_error(tmp_path, change, message) -> None:
    tensors, meta = _good()
    meta, tensors = change(tensors, meta)
    path = _write(tmp_path / "evil.safetensors", tensors, meta)
    with pytest.raises(UsageError, match=message) as info:
        load_features(path)
    assert "evil.safetensors" in str(info.value)


def test_the_unchanged_file_loads(tmp_path) -> None:
    tensors, meta = _good()
    back = load_features(_write(tmp_path / "ok.safetensors", tensors, meta))
    assert torch.equal(back.tokens, tensors["tokens"]) and back.frame_indices == ((0,), (1,))


def test_non_finite_features_name_the_encoder(tmp_path) -> None:
    from jepa_studio.encoders.features_io import check_finite

    feats = make(3, 2, False)
    check_finite(feats)  # finite: nothing to say
    bad = feats.tokens.clone()
    bad[1, 0, 0, :3] = float("nan")
    bad[2, 1, 1, 0] = float("inf")
    from dataclasses import replace

    broken = replace(feats, tokens=bad)
    with pytest.raises(UsageError, match=r"vjepa2-vitl \(facebook/vjepa2-vitl-fpc64-256\) \[random weights\] produced "
                                         r"non-finite features for frames 0-5: 3 NaN and 1 infinite values"):
        check_finite(broken, "for frames 0-5")
    with pytest.raises(UsageError, match="try float32"):
        check_finite(replace(broken, tokens=bad.to(torch.bfloat16)))
    path = tmp_path / "nan.safetensors"
    save_features(path, broken)
    with pytest.raises(UsageError, match=r"non-finite features \(in nan.safetensors\)"):
        load_features(path)
