"""Pixel baselines: tokens are exactly the patches (and tubelets) of the frames."""

import numpy as np
import pytest
import torch

from jepa_studio.encoders import Preprocessing, load_encoder
from jepa_studio.encoders.base import PatchFeatures, group_frame_indices
from jepa_studio.encoders.pixels import PixelEncoder, patchify
from jepa_studio.errors import EncoderError


def _frames(t=5, h=48, w=64, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (t, h, w, 3), dtype=np.uint8)


def _no_resize(h):
    return Preprocessing(short_side=h)


def test_pixel_tokens_are_the_patches():
    frames = _frames()
    enc = PixelEncoder(1, preprocessing=_no_resize(48))
    feats = enc.encode(frames, [10, 11, 12, 13, 14])
    assert feats.tokens.shape == (5, 3, 4, 768)
    for t, r, c in [(0, 0, 0), (2, 1, 3), (4, 2, 1)]:
        patch = frames[t, r * 16 : (r + 1) * 16, c * 16 : (c + 1) * 16]  # [16, 16, 3]
        expected = patch.transpose(2, 0, 1).reshape(-1) / 255.0
        np.testing.assert_allclose(feats.tokens[t, r, c].numpy(), expected, atol=1e-6)
    assert feats.frame_indices == ((10,), (11,), (12,), (13,), (14,))
    assert feats.input_size == (48, 64) and feats.crop_box == (0, 0, 64, 48)


def test_tubelet_tokens_pair_consecutive_frames_and_pad_the_last():
    frames = _frames(t=5)
    feats = PixelEncoder(2, preprocessing=_no_resize(48)).encode(frames, [0, 2, 4, 6, 8])
    assert feats.tokens.shape == (3, 3, 4, 1536)
    assert feats.frame_indices == ((0, 2), (4, 6), (8,))
    r, c = 1, 2
    for t, (a, b) in enumerate([(0, 1), (2, 3), (4, 4)]):  # the last tubelet repeats frame 4
        pa = frames[a, r * 16 : (r + 1) * 16, c * 16 : (c + 1) * 16].transpose(2, 0, 1).reshape(-1)
        pb = frames[b, r * 16 : (r + 1) * 16, c * 16 : (c + 1) * 16].transpose(2, 0, 1).reshape(-1)
        np.testing.assert_allclose(feats.tokens[t, r, c].numpy(), np.concatenate([pa, pb]) / 255.0, atol=1e-6)
    assert feats.time_step_of_frame(6) == 1 and feats.time_step_of_frame(8) == 2
    assert feats.time_step_of_frame(5) is None


def test_patchify_round_trip_layout():
    x = torch.arange(2 * 3 * 32 * 48, dtype=torch.float32).reshape(2, 3, 32, 48)
    tokens = patchify(x, 16, 2)
    assert tokens.shape == (1, 2, 3, 2 * 3 * 16 * 16)
    # token (0, 1, 2) starts with frame 0, channel 0, pixel (16, 32)
    assert tokens[0, 1, 2, 0] == x[0, 0, 16, 32]
    # and its second half starts with frame 1 at the same pixel
    assert tokens[0, 1, 2, 3 * 256] == x[1, 0, 16, 32]


def test_full_frame_resize_keeps_aspect_on_720p():
    frames = np.zeros((1, 720, 1280, 3), np.uint8)
    feats = load_encoder("pixels").encode(frames)
    assert feats.grid == (1, 16, 28)
    assert feats.input_size == (256, 448)


def test_labels_and_unknown_encoder():
    feats = load_encoder("pixels-tubelet").encode(_frames(t=2))
    assert feats.label == "pixels-tubelet" and feats.pretrained
    with pytest.raises(EncoderError, match="unknown encoder"):
        load_encoder("no-such-encoder")


def test_patch_features_validates_shapes():
    with pytest.raises(ValueError):
        PatchFeatures(torch.zeros(2, 3, 4), ((0,), (1,)), "x", "-", True, 16, 1, (48, 64), (0, 0, 64, 48))
    with pytest.raises(ValueError):
        PatchFeatures(torch.zeros(2, 3, 4, 5), ((0,),), "x", "-", True, 16, 1, (48, 64), (0, 0, 64, 48))
    assert group_frame_indices([1, 2, 3], 2) == ((1, 2), (3,))
