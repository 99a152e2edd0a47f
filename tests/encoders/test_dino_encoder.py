"""DINOv2, DINOv2 with registers, DINOv3: patch grid, CLS and register offsets, batching."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from jepa_studio.encoders.dino import DinoEncoder
from jepa_studio.encoders.preprocess import Preprocessing, preprocess_frames
from jepa_studio.encoders.registry import load_encoder

PATCH = {"dinov2": 14, "dinov2-reg": 14, "dinov3": 16}
PREFIX = {"dinov2": 1, "dinov2-reg": 5, "dinov3": 5}  # CLS (+ 4 registers)


def wrap(model: torch.nn.Module, short_side: int, batch_size: int = 16) -> DinoEncoder:
    prep = Preprocessing(mode="full", short_side=short_side)
    return DinoEncoder(model, name="dino", checkpoint="tiny", pretrained=False, device=torch.device("cpu"),
                       dtype=torch.float32, preprocessing=prep, trained_preprocessing=prep, batch_size=batch_size)


@pytest.mark.parametrize("family", ["dinov2", "dinov2-reg", "dinov3"])
def test_patch_tokens_follow_their_patch(family, tiny_model, frames) -> None:
    # With no transformer layers a patch token depends on its own patch only: changing
    # the pixels of patch (row 1, column 2) of a 2 x 3 grid must change that token alone.
    # A wrong CLS / register offset or row/column order would move the change elsewhere.
    p = PATCH[family]
    enc = wrap(tiny_model(family, num_hidden_layers=0), short_side=2 * p)
    clip = frames(1, 2 * p, 3 * p)
    base = enc.encode(clip)
    assert base.tokens.shape == (1, 2, 3, 32)
    changed = clip.copy()
    changed[0, p : 2 * p, 2 * p : 3 * p] = 255 - changed[0, p : 2 * p, 2 * p : 3 * p]
    diff = (enc.encode(changed).tokens - base.tokens).abs().amax(dim=-1)[0]
    assert diff[1, 2] > 1e-2
    diff[1, 2] = 0
    assert diff.max() < 1e-5
    # The CLS token does not see the patches either (no layers): unchanged.
    torch.testing.assert_close(enc.encode(changed).cls, base.cls)


@pytest.mark.parametrize("family", ["dinov2", "dinov2-reg", "dinov3"])
def test_matches_transformers_forward_non_square(family, tiny_model, frames) -> None:
    p = PATCH[family]
    model = tiny_model(family)
    enc = wrap(model, short_side=2 * p, batch_size=2)
    clip = frames(3, 2 * p, 4 * p, seed=1)  # 2 x 4 grid, 3 frames in batches of 2
    feats = enc.encode(clip, frame_indices=[5, 9, 13])
    x, _ = preprocess_frames(clip, p, enc.preprocessing)
    with torch.no_grad():
        hidden = model(pixel_values=x).last_hidden_state
    assert hidden.shape[1] == PREFIX[family] + 8
    torch.testing.assert_close(feats.tokens, hidden[:, PREFIX[family] :].reshape(3, 2, 4, 32), atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(feats.cls, hidden[:, 0], atol=1e-5, rtol=1e-5)
    assert feats.frame_indices == ((5,), (9,), (13,))
    assert feats.tubelet_size == 1 and feats.patch_size == p and feats.input_size == (2 * p, 4 * p)


def test_batch_size_does_not_change_tokens(tiny_model, frames) -> None:
    model = tiny_model("dinov2")
    clip = frames(5, 28, 42, seed=2)
    one = wrap(model, 28, batch_size=1).encode(clip)
    five = wrap(model, 28, batch_size=5).encode(clip)
    torch.testing.assert_close(one.tokens, five.tokens, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(one.cls, five.cls, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("family,name", [("dinov2", "dinov2"), ("dinov2-reg", "dinov2-reg"), ("dinov3", "dinov3")])
def test_loaded_from_folder(family, name, save_tiny, frames) -> None:
    folder = save_tiny(family)
    enc = load_encoder(str(folder), device="cpu", window=2)
    assert enc.name == name and enc.checkpoint == str(folder) and enc.batch_size == 2
    assert enc.num_prefix == PREFIX[family]
    feats = enc.encode(frames(3, 60, 90))
    p = PATCH[family]
    # full frame at the default short side (224 for DINO), aspect 2:3 kept, multiples of p
    assert feats.input_size[0] == round(224 / p) * p and feats.input_size[1] == round(336 / p) * p
    assert feats.cls is not None and feats.cls.shape == (3, 32)
    assert "[random weights]" in feats.label  # the folder carries the random-init marker


def test_dinov3_sat_checkpoints_use_their_own_normalisation() -> None:
    from jepa_studio.encoders.registry import CHECKPOINTS, SAT493M_MEAN, SAT493M_STD

    sat = CHECKPOINTS["dinov3-vitl16-sat"]
    assert sat.hub_id == "facebook/dinov3-vitl16-pretrain-sat493m"
    assert sat.preprocessing.mean == SAT493M_MEAN and sat.trained_preprocessing.std == SAT493M_STD
    assert CHECKPOINTS["dinov3-vitl16"].preprocessing.mean == (0.485, 0.456, 0.406)
    x = np.full((1, 32, 32, 3), 128, np.uint8)
    a, _ = preprocess_frames(x, 16, sat.preprocessing)
    expected = (128 / 255 - SAT493M_MEAN[0]) / SAT493M_STD[0]
    assert abs(float(a[0, 0, 0, 0]) - expected) < 1e-5
