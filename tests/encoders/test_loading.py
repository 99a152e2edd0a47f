"""Naming and loading encoders: registry, hub ids, folders, random weights, and every error path.

No network: the hub download function is replaced by one raising huggingface_hub's real
exception types, and offline mode (HF_HUB_OFFLINE=1, set in tests/conftest.py) is real.
"""

from __future__ import annotations

import json

import numpy as np

import httpx2
import pytest
import torch
from huggingface_hub import errors as hub_errors

from jepa_studio.encoders import loading
from jepa_studio.encoders.loading import config_class, download_checkpoint, model_class
from jepa_studio.encoders.registry import CHECKPOINTS, CheckpointInfo, list_encoders, load_encoder
from jepa_studio.errors import EncoderError, UsageError


def _response(status: int) -> httpx2.Response:
    return httpx2.Response(status, request=httpx2.Request("GET", "https://huggingface.co/api/models/x"))


def _raise(error: Exception):
    def fake(*args, **kwargs):
        raise error

    return fake


def test_registry_lists_every_family_with_sizes() -> None:
    names = list_encoders()
    assert names[:2] == ["pixels", "pixels-tubelet"]
    for name in ("vjepa2-vitl", "vjepa2-vith", "vjepa2-vitg", "vjepa2-vitg-384", "dinov2-small", "dinov2-giant",
                 "dinov2-reg-base", "dinov3-vits16", "dinov3-vits16plus", "dinov3-vith16plus", "dinov3-vit7b16",
                 "dinov3-vitl16-sat"):
        assert name in names
    assert CHECKPOINTS["vjepa2-vitl"].hub_id == "facebook/vjepa2-vitl-fpc64-256"
    assert CHECKPOINTS["vjepa2-vitg-384"].hub_id == "facebook/vjepa2-vitg-fpc64-384"
    assert CHECKPOINTS["dinov2-reg-small"].hub_id == "facebook/dinov2-with-registers-small"
    assert CHECKPOINTS["dinov3-vitb16"].hub_id == "facebook/dinov3-vitb16-pretrain-lvd1689m"
    assert all(i.gated for i in CHECKPOINTS.values() if i.family == "dinov3")
    assert not any(i.gated for i in CHECKPOINTS.values() if i.family != "dinov3")
    for info in CHECKPOINTS.values():
        assert info.memory_gb_fp32 > info.memory_gb_fp16 > info.params_m * 2e6 / 2**30
        assert info.preprocessing.mode == "full" and info.trained_preprocessing.mode == "crop"


@pytest.mark.parametrize("name", list(CHECKPOINTS))
def test_registry_hyper_parameters_give_the_listed_size(name: str) -> None:
    # Build the real architecture on the meta device (no memory) and count parameters.
    info: CheckpointInfo = CHECKPOINTS[name]
    config = config_class(info.family)(**info.hyper)
    with torch.device("meta"):
        model = model_class(info.family)(config)
    count = sum(p.numel() for p in model.parameters()) / 1e6
    assert abs(count / info.params_m - 1) < 0.02
    assert config.patch_size == info.patch_size


def test_folder_labels_follow_the_random_init_marker(save_tiny) -> None:
    marked = load_encoder(str(save_tiny("vjepa2", marker=True, name="marked")), device="cpu")
    plain = load_encoder(str(save_tiny("vjepa2", marker=False, name="plain")), device="cpu")
    assert marked.pretrained is False and plain.pretrained is True
    frames = torch.zeros(2, 32, 32, 3, dtype=torch.uint8).numpy()
    assert marked.encode(frames).label.endswith("[random weights]")
    assert "random" not in plain.encode(frames).label
    # Same weights either way: the marker changes the label only.
    torch.testing.assert_close(marked.encode(frames).tokens, plain.encode(frames).tokens)


def test_random_weights_from_a_folder_config_and_resaving_keeps_the_label(save_tiny, tmp_path) -> None:
    folder = save_tiny("dinov2", marker=False)
    trained = load_encoder(str(folder), device="cpu")
    rand = load_encoder(str(folder), device="cpu", random_weights=True)
    assert trained.pretrained and not rand.pretrained
    assert not torch.equal(trained.model.embeddings.cls_token, rand.model.embeddings.cls_token)
    rand.model.save_pretrained(tmp_path / "resaved")
    assert json.loads((tmp_path / "resaved" / "config.json").read_text())["jepa_studio_random_init"] is True
    assert load_encoder(str(tmp_path / "resaved"), device="cpu").pretrained is False


def test_random_weights_by_registry_name_need_no_hub(monkeypatch, tiny_model) -> None:
    from jepa_studio.encoders import registry

    tiny = CheckpointInfo(
        name="vjepa2-tiny", family="vjepa2", hub_id="facebook/vjepa2-tiny", params_m=0.1, patch_size=16,
        tubelet_size=2, gated=False, memory_gb_fp16=1.0, memory_gb_fp32=1.0,
        preprocessing=CHECKPOINTS["vjepa2-vitl"].preprocessing,
        trained_preprocessing=CHECKPOINTS["vjepa2-vitl"].trained_preprocessing,
        hyper=dict(hidden_size=32, num_hidden_layers=1, num_attention_heads=2, crop_size=32, frames_per_clip=4,
                   pred_hidden_size=32, pred_num_hidden_layers=1, pred_num_attention_heads=2),
    )
    monkeypatch.setitem(registry.CHECKPOINTS, "vjepa2-tiny", tiny)
    monkeypatch.setattr(loading, "snapshot_download", _raise(AssertionError("the hub must not be asked")))
    enc = load_encoder("vjepa2-tiny", device="cpu", random_weights=True)
    assert enc.name == "vjepa2-tiny" and enc.checkpoint == "facebook/vjepa2-tiny" and not enc.pretrained
    assert enc.model.config.hidden_size == 32
    feats = enc.encode(torch.zeros(2, 32, 64, 3, dtype=torch.uint8).numpy())
    assert feats.label == "vjepa2-tiny (facebook/vjepa2-tiny) [random weights]"
    assert feats.tokens.shape == (1, 16, 32, 32)  # full frame at vitl's 256 px short side


def test_registry_name_and_hub_id_load_from_the_hub_cache(monkeypatch, save_tiny) -> None:
    folder = save_tiny("dinov3", marker=False)
    asked: list[str] = []

    def fake(repo_id, **kwargs):
        asked.append(repo_id)
        assert "*.safetensors" in kwargs["allow_patterns"] and not any(".bin" in p for p in kwargs["allow_patterns"])
        return str(folder)

    monkeypatch.setattr(loading, "snapshot_download", fake)
    by_name = load_encoder("dinov3-vits16", device="cpu")
    by_id = load_encoder("facebook/dinov3-vits16-pretrain-lvd1689m", device="cpu")
    other = load_encoder("someone/some-dinov3", device="cpu")
    assert asked == ["facebook/dinov3-vits16-pretrain-lvd1689m"] * 2 + ["someone/some-dinov3"]
    assert by_name.name == by_id.name == "dinov3-vits16"
    assert by_name.checkpoint == by_id.checkpoint == "facebook/dinov3-vits16-pretrain-lvd1689m"
    assert by_name.pretrained and by_name.preprocessing == CHECKPOINTS["dinov3-vits16"].preprocessing
    assert other.name == "dinov3" and other.checkpoint == "someone/some-dinov3"


def test_processor_config_in_a_folder_sets_mean_std_and_sizes(save_tiny) -> None:
    folder = save_tiny("dinov3")
    (folder / "preprocessor_config.json").write_text(json.dumps({
        "image_processor_type": "DINOv3ViTImageProcessorFast", "image_mean": [0.430, 0.411, 0.296],
        "image_std": [0.213, 0.156, 0.143], "resample": 2, "size": {"height": 224, "width": 224}}))
    enc = load_encoder(str(folder), device="cpu", preprocessing="crop", resolution=112)
    assert enc.trained_preprocessing.mean == (0.430, 0.411, 0.296)
    assert enc.trained_preprocessing.crop_size == 224 and enc.trained_preprocessing.interpolation == "bilinear"
    assert enc.preprocessing.crop_size == 112 and enc.preprocessing.short_side == 112


# ---- errors: every one an EncoderError saying what to do ----


def test_unknown_name_suggests_close_names() -> None:
    with pytest.raises(EncoderError, match=r"unknown encoder 'vjepa2-vitll'.*did you mean vjepa2-vitl"):
        load_encoder("vjepa2-vitll")
    with pytest.raises(EncoderError, match="list-encoders"):
        load_encoder("resnet")


def test_missing_folder_and_folder_without_a_model(tmp_path, save_tiny) -> None:
    with pytest.raises(EncoderError, match="no such folder"):
        load_encoder(str(tmp_path / "nope" / "model"))
    with pytest.raises(EncoderError, match="holds no model: there is no config.json"):
        load_encoder(str(tmp_path))
    (tmp_path / "file.txt").write_text("x")
    with pytest.raises(EncoderError, match="is a file, not a checkpoint folder"):
        load_encoder(str(tmp_path / "file.txt"))
    folder = save_tiny("dinov2")
    for weights in folder.glob("*.safetensors"):
        weights.unlink()
    with pytest.raises(EncoderError, match=r"config.json but no weights"):
        load_encoder(str(folder))
    (folder / "pytorch_model.bin").write_bytes(b"not read")
    with pytest.raises(EncoderError, match="only reads safetensors"):
        load_encoder(str(folder))
    # random weights need the config only
    assert load_encoder(str(folder), device="cpu", random_weights=True).pretrained is False


def test_unsupported_model_type_and_bad_config(tmp_path) -> None:
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "bert"}))
    with pytest.raises(EncoderError, match=r"'bert' model.*supported model types: vjepa2"):
        load_encoder(str(tmp_path))
    (tmp_path / "config.json").write_text("{broken")
    with pytest.raises(EncoderError, match="not a readable JSON"):
        load_encoder(str(tmp_path))


def test_corrupt_weights(save_tiny) -> None:
    folder = save_tiny("dinov2")
    (folder / "model.safetensors").write_bytes(b"garbage")
    with pytest.raises(EncoderError, match="could not build the dinov2 model"):
        load_encoder(str(folder), device="cpu")


def test_gated_without_token(monkeypatch) -> None:
    monkeypatch.setattr(loading, "snapshot_download",
                        _raise(hub_errors.GatedRepoError("Access to this model is restricted", response=_response(401))))
    with pytest.raises(EncoderError) as info:
        load_encoder("dinov3-vitl16")
    message = str(info.value)
    assert "gated" in message and "hf auth login" in message and "HF_TOKEN" in message
    assert "https://huggingface.co/facebook/dinov3-vitl16-pretrain-lvd1689m" in message and "local folder" in message


def test_not_found_and_http_errors(monkeypatch) -> None:
    monkeypatch.setattr(loading, "snapshot_download",
                        _raise(hub_errors.RepositoryNotFoundError("404", response=_response(404))))
    with pytest.raises(EncoderError, match=r"no model 'someone/missing' on the Hugging Face hub.*check the id"):
        load_encoder("someone/missing")
    monkeypatch.setattr(loading, "snapshot_download",
                        _raise(hub_errors.HfHubHTTPError("unauthorised", response=_response(403))))
    with pytest.raises(EncoderError, match=r"refused access.*HTTP 403.*hf auth login"):
        load_encoder("someone/private")
    monkeypatch.setattr(loading, "snapshot_download", _raise(OSError(28, "No space left on device")))
    with pytest.raises(EncoderError, match="free disk space"):
        load_encoder("someone/big")


def test_offline_and_not_cached_for_real(tmp_path) -> None:
    # HF_HUB_OFFLINE=1 (tests/conftest.py) and an empty cache: the real snapshot_download fails.
    assert loading.hub_offline()
    with pytest.raises(EncoderError) as info:
        download_checkpoint("facebook/vjepa2-vitl-fpc64-256", cache_dir=tmp_path)
    message = str(info.value)
    assert "not in the Hugging Face cache" in message and "HF_HUB_OFFLINE" in message
    assert "connect to the internet" in message and "local folder" in message


def test_offline_through_load_encoder(monkeypatch, tmp_path) -> None:
    real = loading.snapshot_download
    monkeypatch.setattr(loading, "snapshot_download", lambda repo, **kw: real(repo, **{**kw, "cache_dir": tmp_path}))
    with pytest.raises(EncoderError, match="offline mode is on"):
        load_encoder("vjepa2-vitl", device="cpu")


def test_hub_unreachable_while_online(monkeypatch) -> None:
    monkeypatch.setattr(loading, "hub_offline", lambda: False)
    monkeypatch.setattr(loading, "snapshot_download", _raise(hub_errors.LocalEntryNotFoundError("no connection")))
    with pytest.raises(EncoderError, match=r"could not be reached: check the internet connection"):
        load_encoder("dinov2-small")


def test_cached_snapshot_is_used_offline(monkeypatch, tmp_path, save_tiny) -> None:
    # A model in the HF cache loads while offline: put a snapshot where the hub cache keeps it.
    folder = save_tiny("dinov2", marker=False)
    repo = tmp_path / "cache" / "models--facebook--dinov2-small"
    snap = repo / "snapshots" / ("0" * 40)
    snap.mkdir(parents=True)
    for f in folder.iterdir():
        (snap / f.name).write_bytes(f.read_bytes())
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("0" * 40)
    real = loading.snapshot_download
    monkeypatch.setattr(loading, "snapshot_download",
                        lambda repo_id, **kw: real(repo_id, **{**kw, "cache_dir": tmp_path / "cache"}))
    enc = load_encoder("dinov2-small", device="cpu")
    assert enc.pretrained and enc.checkpoint == "facebook/dinov2-small" and enc.name == "dinov2-small"


def test_pixel_encoders_still_load() -> None:
    enc = load_encoder("pixels-tubelet", resolution=32)
    assert enc.name == "pixels-tubelet" and enc.device.type == "cpu" and enc.preprocessing.short_side == 32


def test_bad_window(save_tiny) -> None:
    with pytest.raises(EncoderError, match="positive even number of frames, not 3"):
        load_encoder(str(save_tiny("vjepa2")), device="cpu", window=3)


def _drop_tensors(folder, prefix: str) -> None:
    from safetensors.torch import load_file, save_file

    path = next(folder.glob("*.safetensors"))
    tensors = {k: v for k, v in load_file(str(path)).items() if not k.startswith(prefix)}
    save_file(tensors, str(path), metadata={"format": "pt"})


def test_vjepa2_folder_without_predictor_encodes_but_refuses_masked_prediction(save_tiny, frames):
    from jepa_studio.analysis.masked_prediction import encoder_masked_prediction
    from jepa_studio.analysis.masking import PixelMask

    folder = save_tiny("vjepa2", marker=False)
    _drop_tensors(folder, "predictor.")
    encoder = load_encoder(str(folder), resolution=32)
    clip = frames(4, 32, 32)
    assert encoder.encode(clip).tokens.shape[:3] == (2, 2, 2)
    with pytest.raises(UsageError, match="no predictor weights"):
        encoder_masked_prediction(encoder, clip, PixelMask(np.ones((32, 32), bool)))


def test_folder_with_missing_encoder_weights_is_refused(save_tiny):
    folder = save_tiny("dinov2", marker=False)
    _drop_tensors(folder, "encoder.layer.1.")
    with pytest.raises(EncoderError, match="lacks .* weights"):
        load_encoder(str(folder))
