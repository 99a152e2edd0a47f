"""The latent decoder: shapes, tubelet targets, and overfitting a tiny clip."""

from __future__ import annotations

import numpy as np
import torch

from jepa_studio.encoders.pixels import patchify
from jepa_studio.world.decoder import DecoderConfig, LatentDecoder, flatten_steps, target_frames, to_uint8_frames
from jepa_studio.world.model import WorldModel, prepare_sequence
from jepa_studio.world.training import TrainSettings, train_decoder

from world_helpers import moving_square, pixel_encoder


def test_decoder_shapes_and_non_power_of_two_patch():
    dec = LatentDecoder(DecoderConfig(dim=10, grid=(3, 4), patch_size=14, tubelet_size=2, out_size=(42, 56), hidden=16))
    out = dec(torch.randn(5, 3, 4, 10))
    assert out.shape == (5, 2, 3, 42, 56)
    dec_out = dec.decode(torch.randn(5, 3, 4, 10) * 10)
    assert dec_out.min() >= 0 and dec_out.max() <= 1
    assert to_uint8_frames(dec_out).shape == (10, 42, 56, 3)


def test_tubelet_targets_follow_frame_indices():
    frames = moving_square(5, 32)
    feats = pixel_encoder(tubelet=2).encode(frames, [10, 11, 12, 13, 14])
    rows = {10 + i: i for i in range(5)}
    x = target_frames(frames, feats, rows)
    assert x.shape == (3, 2, 3, 32, 32)
    # the pixel encoder's tokens are exactly these frames, patchified
    assert torch.allclose(patchify(x.reshape(6, 3, 32, 32), 8, 2), feats.tokens, atol=1e-6)
    # odd clip: the last tubelet repeats its one real frame
    assert torch.equal(x[2, 0], x[2, 1])
    flat, idx = flatten_steps(x, feats.frame_indices)
    assert idx == [10, 11, 12, 13, 14] and flat.shape == (5, 3, 32, 32)


def test_decoder_overfits_tiny_clip():
    """Bound: below 25% of the MSE of predicting the clip's mean frame (0.0045 here).

    The mean frame is the best any decoder that ignores its input can do, so beating it by a
    factor 4 on the frames it trained on shows the decoder reads the latents (it reaches
    about 16% in 150 steps).
    """
    frames = moving_square(8, 32)
    feats = pixel_encoder().encode(frames)
    world = WorldModel.create([feats], with_transition=False, decoder_hidden=32, val_fraction=0.0)
    seq = prepare_sequence(world, feats, frames, val_fraction=0.0)
    train_decoder(world, [seq], TrainSettings(steps=150, batch_size=8, lr=3e-3, warmup=5))
    x = seq.frames.float() / 255
    baseline = float(((x - x.mean(0, keepdim=True)) ** 2).mean())
    with torch.no_grad():
        mse = float(((world.decoder.decode(seq.latents) - x) ** 2).mean())
    assert mse < 0.25 * baseline, (mse, baseline)


def test_decoder_held_out_loss_is_recorded():
    frames = moving_square(12, 32)
    feats = pixel_encoder(tubelet=2).encode(frames)
    world = WorldModel.create([feats], with_transition=False, decoder_hidden=16)
    seq = prepare_sequence(world, feats, frames, val_fraction=0.34)
    assert seq.split == 4  # 6 tubelets, the last 2 held out
    seen = []
    state = train_decoder(world, [seq], TrainSettings(steps=10, batch_size=4, val_every=5), progress=lambda s, t, l: seen.append((s, t)))
    assert seen == [(i, 10) for i in range(1, 11)]
    assert [s for s, _ in state.val_losses] == [5, 10] and all(np.isfinite(v) for _, v in state.val_losses)
    assert len(state.losses) == 10


def test_decode_tokens_takes_raw_tokens():
    frames = moving_square(6, 32)
    feats = pixel_encoder(2).encode(frames)
    world = WorldModel.create([feats], with_transition=False, decoder_hidden=8)
    out = world.decode_tokens(feats.tokens)
    assert out.shape == (6, 32, 32, 3) and out.dtype == np.uint8
    z = world.stats.normalize(feats.tokens)
    assert np.array_equal(out, to_uint8_frames(world.decoder.decode(z)))


def test_patch_head_shapes_for_both_patch_sizes():
    for patch, grid in ((14, (3, 4)), (16, (2, 2))):
        cfg = DecoderConfig(dim=10, grid=grid, patch_size=patch, tubelet_size=2,
                            out_size=(grid[0] * patch, grid[1] * patch), hidden=16, head="patch")
        out = LatentDecoder(cfg)(torch.randn(5, *grid, 10))
        assert out.shape == (5, 2, 3, grid[0] * patch, grid[1] * patch)


def test_the_closed_form_readout_decodes_pixel_latents_before_any_step():
    """Pixel latents are their patches: the ridge readout alone reconstructs held-out frames,
    and it is fitted on training steps only."""
    from jepa_studio.world.metrics import psnr

    frames = np.random.default_rng(0).integers(0, 256, (40, 32, 32, 3), dtype=np.uint8)  # every direction seen
    feats = pixel_encoder(1).encode(frames)
    world = WorldModel.create([feats], history=2, width=16, depth=1, heads=2, decoder_hidden=8)
    assert world.decoder.config.head == "patch"
    seq = prepare_sequence(world, feats, frames)
    before = world.decoder.decode(seq.latents[seq.split :])
    train_decoder(world, [seq], TrainSettings(steps=0))
    after = world.decoder.decode(seq.latents[seq.split :])
    real = seq.frames[seq.split :].float() / 255
    assert float(psnr(before, real).mean()) < 20 and float(psnr(after, real).mean()) > 45
    # held-out frames the fit never saw: scrambling them changes nothing fitted
    other = frames.copy()
    other[seq.split :] = 255 - other[seq.split :]
    world2 = WorldModel.create([feats], history=2, width=16, depth=1, heads=2, decoder_hidden=8)
    train_decoder(world2, [prepare_sequence(world2, feats, other)], TrainSettings(steps=0))
    assert torch.equal(world2.decoder.readout.weight, world.decoder.readout.weight)
