"""Generic Hugging Face backbones through the family seam (ViT, DeiT, I-JEPA, SigLIP): tiny
random models saved to folders, loaded with load_encoder, checked against their own forward."""

from __future__ import annotations

import json

import pytest
import torch

from jepa_studio.encoders.registry import load_encoder
from jepa_studio.errors import EncoderError
from tests.tiny_models import TINY

#: tokens before the patch tokens: CLS (ViT), CLS + distillation (DeiT), none (I-JEPA, SigLIP)
PREFIX = {"vit": 1, "deit": 2, "ijepa": 0, "siglip": 0}


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.mark.parametrize("family", list(PREFIX))
def test_token_grid_equals_the_models_own_forward(family, save_tiny, tiny_model, frames) -> None:
    folder = save_tiny(family)
    enc = load_encoder(str(folder), device="cpu", resolution=32, window=2)
    assert enc.name == family and enc.num_prefix == PREFIX[family] and enc.tubelet_size == 1
    clip = frames(3, 40, 60, seed=1)  # full frame at short side 32: a 32 x 48 input, 2 x 3 patches
    feats = enc.encode(clip, [4, 5, 6])  # in batches of 2
    assert feats.tokens.shape == (3, 2, 3, 32) and feats.input_size == (32, 48) and feats.patch_size == 16
    assert feats.frame_indices == ((4,), (5,), (6,)) and "[random weights]" in feats.label
    # the same seeded weights, built here: its forward (position table interpolated to 2 x 3)
    reference = tiny_model(family)
    with torch.no_grad():
        out = reference(pixel_values=enc.prepare(clip).pixels, interpolate_pos_encoding=True).last_hidden_state
    p = PREFIX[family]
    assert out.shape[1] == p + 2 * 3
    torch.testing.assert_close(feats.tokens, out[:, p:].reshape(3, 2, 3, 32), atol=1e-5, rtol=1e-5)
    if p:
        torch.testing.assert_close(feats.cls, out[:, 0], atol=1e-5, rtol=1e-5)
    else:
        assert feats.cls is None


@pytest.mark.parametrize("family", list(PREFIX))
def test_patch_tokens_follow_their_patch(family, save_tiny, frames) -> None:
    # No transformer blocks: a patch token depends on its own patch only, so changing patch
    # (row 1, column 2) of a 2 x 3 grid changes that token alone (a wrong offset or order would not).
    enc = load_encoder(str(save_tiny(family, num_hidden_layers=0)), device="cpu", resolution=32)
    clip = frames(1, 32, 48, seed=2)
    changed = clip.copy()
    changed[0, 16:32, 32:48] = 255 - changed[0, 16:32, 32:48]
    diff = (enc.encode(changed).tokens - enc.encode(clip).tokens).abs().amax(dim=-1)[0]
    assert diff[1, 2] > 1e-2
    diff[1, 2] = 0
    assert diff.max() < 1e-5


def test_full_siglip_checkpoint_reads_its_vision_tower(tmp_path, frames) -> None:
    import transformers

    torch.manual_seed(0)
    config = transformers.SiglipConfig(
        vision_config=TINY["siglip"],
        text_config=dict(hidden_size=32, intermediate_size=64, num_hidden_layers=1, num_attention_heads=2,
                         vocab_size=99, bos_token_id=1, eos_token_id=2, pad_token_id=0),
    )
    full = transformers.SiglipModel(config).eval()
    full.save_pretrained(tmp_path / "siglip2")
    enc = load_encoder(str(tmp_path / "siglip2"), device="cpu")
    assert enc.name == "siglip" and enc.pretrained and enc.weights_note == f"weights from {tmp_path / 'siglip2'}"
    # the vision config's 32 px images, SigLIP's processor: mean / std 0.5, bicubic
    assert enc.preprocessing.short_side == 32 and enc.trained_preprocessing.mean == (0.5, 0.5, 0.5)
    assert enc.trained_preprocessing.interpolation == "bicubic"
    clip = frames(2, 32, 64, seed=3)
    with torch.no_grad():
        out = full.vision_model(pixel_values=enc.prepare(clip).pixels, interpolate_pos_encoding=True).last_hidden_state
    torch.testing.assert_close(enc.encode(clip).tokens, out.reshape(2, 2, 4, 32), atol=1e-5, rtol=1e-5)
    # random weights from the same folder build the vision tower from its vision_config
    rand = load_encoder(str(tmp_path / "siglip2"), device="cpu", random_weights=True)
    assert not rand.pretrained and rand.model.config.hidden_size == 32


def test_processor_config_sets_vit_preprocessing(save_tiny) -> None:
    folder = save_tiny("vit")
    assert load_encoder(str(folder), device="cpu").trained_preprocessing.mean == (0.5, 0.5, 0.5)  # ViT's default
    (folder / "preprocessor_config.json").write_text(json.dumps({
        "image_processor_type": "ViTImageProcessor", "image_mean": [0.485, 0.456, 0.406],
        "image_std": [0.229, 0.224, 0.225], "resample": 3, "size": {"height": 64, "width": 64}}))
    enc = load_encoder(str(folder), device="cpu", preprocessing="crop")
    prep = enc.preprocessing
    assert prep.mode == "crop" and prep.crop_size == 64 and prep.short_side == 64
    assert prep.mean == (0.485, 0.456, 0.406) and prep.interpolation == "bicubic"


def _drop_tensors(folder, prefix: str) -> None:
    from safetensors.torch import load_file, save_file

    path = next(folder.glob("*.safetensors"))
    tensors = {k: v for k, v in load_file(str(path)).items() if not k.startswith(prefix)}
    save_file(tensors, str(path), metadata={"format": "pt"})


def test_vit_without_its_pooler_loads_and_other_gaps_are_refused(save_tiny, frames) -> None:
    folder = save_tiny("vit", marker=False)
    _drop_tensors(folder, "pooler.")  # as saved from ViTForImageClassification
    enc = load_encoder(str(folder), device="cpu", resolution=32)
    assert enc.model.pooler is None  # left out, not filled with random values
    assert enc.encode(frames(1, 32, 32)).tokens.shape == (1, 2, 2, 32)
    _drop_tensors(folder, "encoder.layer.1.")
    with pytest.raises(EncoderError, match="lacks .* weights"):
        load_encoder(str(folder), device="cpu")


def test_prefix_count_is_checked_against_the_forward(save_tiny, frames) -> None:
    # a config that claims 4 registers for a model that has none: the patches would be misplaced
    folder = save_tiny("dinov2")
    config = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**config, "num_register_tokens": 4}))
    enc = load_encoder(str(folder), device="cpu", resolution=28)
    assert enc.num_prefix == 5
    with pytest.raises(EncoderError, match=r"returned 5 tokens for a 2x2 patch grid, so 1 precede the patches, "
                                           r"but its config says 5"):
        enc.encode(frames(1, 28, 28))
