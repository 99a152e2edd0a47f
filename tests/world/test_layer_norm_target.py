"""The decoder option ``target="layer_norm"``: models read per-token layer-normed tokens (no
affine), as V-JEPA 2's predictor outputs, and the choice round-trips through checkpoints."""

from __future__ import annotations

import pytest
import torch

from jepa_studio.world.checkpoints import load_world, save_world
from jepa_studio.world.decoder import DecoderConfig, prepare_tokens
from jepa_studio.world.model import WorldModel, prepare_sequence
from jepa_studio.world.training import TrainSettings, train_decoder

from world_helpers import moving_square, pixel_encoder


def by_hand(x: torch.Tensor) -> torch.Tensor:
    mean = x.mean(-1, keepdim=True)
    var = ((x - mean) ** 2).mean(-1, keepdim=True)
    return (x - mean) / torch.sqrt(var + 1e-5)


def test_prepare_tokens_is_layer_norm_without_affine() -> None:
    x = torch.randn(2, 3, 4, 16) * 5 + 2
    torch.testing.assert_close(prepare_tokens(x, "layer_norm"), by_hand(x), rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(prepare_tokens(x, "raw"), x)
    with pytest.raises(ValueError):
        prepare_tokens(x, "cosine")
    with pytest.raises(ValueError):
        DecoderConfig(dim=4, grid=(2, 2), patch_size=8, tubelet_size=1, out_size=(16, 16), target="nope")


def test_layer_norm_world_model_trains_decodes_and_round_trips(tmp_path) -> None:
    frames = moving_square(12)
    feats = pixel_encoder().encode(frames)
    world = WorldModel.create([feats], history=2, width=16, depth=1, heads=2, decoder_hidden=16, target="layer_norm")
    assert world.target == "layer_norm"
    # stats are fitted on layer-normed training tokens (the first 9 of 12 steps)
    normed = by_hand(feats.tokens[:9].double()).reshape(-1, feats.dim)
    torch.testing.assert_close(world.stats.mean.double(), normed.mean(0), rtol=1e-4, atol=1e-4)
    seq = prepare_sequence(world, feats, frames)
    torch.testing.assert_close(seq.latents, world.stats.normalize(by_hand(feats.tokens.float())), rtol=1e-4, atol=1e-4)
    state = train_decoder(world, [seq], TrainSettings(steps=60, batch_size=4, lr=3e-3))
    assert state.losses[-1] < 0.5 * state.losses[0]
    # raw tokens and already layer-normed ones (a predictor's output) decode the same
    raw = world.decode_tokens(feats.tokens[:2])
    pre = world.decode_tokens(by_hand(feats.tokens[:2].float()))
    assert abs(raw.astype(int) - pre.astype(int)).max() <= 1
    loaded = load_world(save_world(world, tmp_path / "ln"))
    assert loaded.target == "layer_norm"
    assert (loaded.decode_tokens(feats.tokens[:2]) == raw).all()
