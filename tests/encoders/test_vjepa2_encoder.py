"""V-JEPA 2: token layout, RoPE grid, tubelets, windows, against transformers' own forward."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from jepa_studio.encoders.preprocess import Preprocessing, preprocess_frames
from jepa_studio.encoders.registry import load_encoder
from jepa_studio.encoders.vjepa2 import VJepa2Encoder, _grid_position_ids, rope_grid


def wrap(model: torch.nn.Module, short_side: int, window: int = 16) -> VJepa2Encoder:
    prep = Preprocessing(mode="full", short_side=short_side, interpolation="bilinear")
    return VJepa2Encoder(model, name="vjepa2", checkpoint="tiny", pretrained=False, device=torch.device("cpu"),
                         dtype=torch.float32, preprocessing=prep, trained_preprocessing=prep, window=window)


def test_token_grid_is_time_row_column(tiny_model, frames) -> None:
    # With no transformer layers each token depends only on its own tubelet, so it can be
    # computed by hand from the Conv3d patch embedding and the final LayerNorm.
    model = tiny_model("vjepa2", num_hidden_layers=0)
    enc = wrap(model, short_side=32)
    clip = frames(4, 32, 48)  # full frame, no resize: 2 x 3 patches, 2 tubelets
    feats = enc.encode(clip)
    assert feats.tokens.shape == (2, 2, 3, 32)
    x, _ = preprocess_frames(clip, 16, enc.preprocessing)  # [T, 3, H, W]
    conv = model.encoder.embeddings.patch_embeddings.proj
    norm = model.encoder.layernorm
    for t in range(2):
        for r in range(2):
            for c in range(3):
                tube = x[2 * t : 2 * t + 2, :, 16 * r : 16 * r + 16, 16 * c : 16 * c + 16].permute(1, 0, 2, 3)
                emb = (conv.weight * tube).sum(dim=(1, 2, 3, 4)) + conv.bias
                ref = F.layer_norm(emb, (32,), norm.weight, norm.bias, norm.eps)
                torch.testing.assert_close(feats.tokens[t, r, c], ref, atol=1e-5, rtol=1e-5)


def test_matches_transformers_forward_on_square_crop_size_input(tiny_model, frames) -> None:
    model = tiny_model("vjepa2")
    enc = wrap(model, short_side=32)
    clip = frames(4, 32, 32, seed=1)
    feats = enc.encode(clip)
    x, _ = preprocess_frames(clip, 16, enc.preprocessing)
    with torch.no_grad():
        ref = model.get_vision_features(x[None])  # [1, 2 * 2 * 2, D] time, row, column
    torch.testing.assert_close(feats.tokens, ref.reshape(2, 2, 2, 32), atol=1e-5, rtol=1e-5)


def test_rope_grid_on_non_square_input(tiny_model, frames) -> None:
    # crop_size 32: transformers assumes a 2 x 2 grid per tubelet. Large weights make
    # attention (hence the output) sensitive to the positions.
    model = tiny_model("vjepa2", initializer_range=0.5)
    enc = wrap(model, short_side=16)
    # One tubelet of 1 x 2 patches: transformers' flat-index arithmetic is still right
    # (rows of 2 tokens, one tubelet), so its own forward is a reference.
    one = frames(2, 16, 32, seed=2)
    x, _ = preprocess_frames(one, 16, enc.preprocessing)
    with torch.no_grad():
        ref = model.get_vision_features(x[None]).reshape(1, 1, 2, 32)
    torch.testing.assert_close(enc.encode(one).tokens, ref, atol=1e-5, rtol=1e-5)
    # Two tubelets of 1 x 2 patches: transformers puts both tubelets in time step 0 (it
    # expects 4 tokens per tubelet), so its output differs from the correct one.
    two = frames(4, 16, 32, seed=3)
    x, _ = preprocess_frames(two, 16, enc.preprocessing)
    with torch.no_grad():
        wrong = model.get_vision_features(x[None]).reshape(2, 1, 2, 32)
    ours = enc.encode(two).tokens
    assert (ours - wrong).abs().max() > 1e-2
    # ... and ours equals encoding each tubelet's positions as their own (t, r, c):
    module = next(m for m in model.modules() if hasattr(m, "_jepa_grid"))
    module._jepa_grid = (1, 2)
    t, r, c = _grid_position_ids(module, torch.zeros(1, 4, 32))
    module._jepa_grid = None
    assert t.tolist() == [0, 0, 1, 1] and r.tolist() == [0, 0, 0, 0] and c.tolist() == [0, 1, 0, 1]


def test_rope_grid_positions_and_restore(tiny_model) -> None:
    model = tiny_model("vjepa2")
    module = next(m for m in model.modules() if type(m).__name__ == "VJEPA2RopeAttention")
    with rope_grid(model, 3, 5):
        t, r, c = module.get_position_ids(torch.zeros(1, 2 * 3 * 5, 32))
        tt, rr, cc = torch.meshgrid(torch.arange(2), torch.arange(3), torch.arange(5), indexing="ij")
        assert torch.equal(t, tt.flatten()) and torch.equal(r, rr.flatten()) and torch.equal(c, cc.flatten())
        masks = torch.tensor([[0, 7, 29]])  # position ids of kept tokens (the predictor's case)
        t, r, c = module.get_position_ids(torch.zeros(1, 3, 32), masks=masks)
        first = [v.reshape(-1, v.shape[-1])[0].tolist() for v in (t, r, c)]  # one row of ids per sequence
        assert first == [[0, 0, 1], [0, 1, 2], [0, 2, 4]]
    assert module._jepa_grid is None
    # Outside the block the module behaves as transformers wrote it (square 2 x 2 grid).
    t, r, c = module.get_position_ids(torch.zeros(1, 8, 32))
    assert t.tolist() == [0, 0, 0, 0, 1, 1, 1, 1] and c.tolist() == [0, 1, 0, 1] * 2


def test_tubelets_cover_frame_pairs_and_odd_ends(tiny_model, frames) -> None:
    enc = wrap(tiny_model("vjepa2"), short_side=32)
    clip = frames(5, 32, 32, seed=4)
    feats = enc.encode(clip, frame_indices=[10, 12, 14, 16, 18])
    assert feats.frame_indices == ((10, 12), (14, 16), (18,))
    assert feats.tubelet_size == 2 and feats.patch_size == 16 and feats.input_size == (32, 32)
    assert feats.time_step_of_frame(16) == 1 and feats.time_step_of_frame(18) == 2
    # The odd last frame is encoded as a tubelet of itself repeated.
    padded = enc.encode(np.concatenate([clip, clip[4:5]]))
    assert padded.frame_indices == ((0, 1), (2, 3), (4, 5))
    torch.testing.assert_close(feats.tokens, padded.tokens, atol=1e-5, rtol=1e-5)


def test_windows_are_independent_passes(tiny_model, frames) -> None:
    model = tiny_model("vjepa2")
    clip = frames(8, 32, 32, seed=5)
    windowed = wrap(model, 32, window=4).encode(clip)
    parts = [wrap(model, 32, window=4).encode(clip[:4]).tokens, wrap(model, 32, window=4).encode(clip[4:]).tokens]
    torch.testing.assert_close(windowed.tokens, torch.cat(parts), atol=1e-6, rtol=1e-6)
    assert windowed.frame_indices == ((0, 1), (2, 3), (4, 5), (6, 7))
    # One pass over all 8 frames lets attention span them all: different tokens.
    whole = wrap(model, 32, window=8).encode(clip)
    assert whole.tokens.shape == windowed.tokens.shape
    assert not torch.allclose(whole.tokens, windowed.tokens, atol=1e-4)
    with pytest.raises(ValueError, match="multiple of 2"):
        wrap(model, 32, window=3)


def test_loaded_full_frame_default_and_crop_mode(save_tiny, frames) -> None:
    enc = load_encoder(str(save_tiny("vjepa2")), device="cpu")
    assert enc.device.type == "cpu" and enc.dtype == torch.float32
    assert enc.preprocessing.mode == "full" and enc.preprocessing.short_side == 32
    feats = enc.encode(frames(4, 40, 80))  # full frame keeps the 1:2 aspect: 2 x 4 patches
    assert feats.tokens.shape == (2, 2, 4, 32) and feats.crop_box == (0, 0, 80, 40)
    assert hasattr(enc.model, "predictor")  # masked prediction needs the whole model
    crop = load_encoder(str(save_tiny("vjepa2", name="again")), device="cpu", preprocessing="crop")
    # the checkpoint's own processor: short side to int(32 * 256 / 224) = 36, centre crop 32
    assert crop.preprocessing.mode == "crop" and crop.preprocessing.short_side == 36
    assert crop.preprocessing.crop_size == 32
    assert crop.encode(frames(2, 40, 80)).tokens.shape == (1, 2, 2, 32)
