"""Resize plans and normalisation."""

import numpy as np
import pytest
import torch

from jepa_studio.encoders.preprocess import IMAGENET_MEAN, IMAGENET_STD, Preprocessing, plan_resize, preprocess_frames


def test_full_mode_rounds_to_patch_multiples_and_covers_the_frame():
    resized, size, box = plan_resize(720, 1280, 16, Preprocessing(short_side=256))
    assert resized == size == (256, 448)
    assert box == (0, 0, 1280, 720)
    _, size14, _ = plan_resize(720, 1280, 14, Preprocessing(short_side=224))
    assert size14 == (224, 392) and size14[0] % 14 == 0 and size14[1] % 14 == 0


def test_crop_mode_takes_the_centre_square():
    resized, size, box = plan_resize(720, 1280, 16, Preprocessing(mode="crop", short_side=292, crop_size=256))
    assert resized == (292, 519)  # 1280 * 292 / 720 = 519.1, floored
    assert size == (256, 256)
    x0, y0, x1, y1 = box
    assert abs((x0 + x1) / 2 - 640) <= 2 and abs((y0 + y1) / 2 - 360) <= 2
    assert abs((x1 - x0) - 256 * 720 / 292) <= 3


def test_normalisation_of_a_constant_frame():
    frames = np.full((2, 32, 48, 3), (255, 128, 0), np.uint8)
    x, box = preprocess_frames(frames, 16, Preprocessing(short_side=32))
    assert x.shape == (2, 3, 32, 48) and x.dtype == torch.float32
    expected = (np.array([255, 128, 0]) / 255.0 - np.array(IMAGENET_MEAN)) / np.array(IMAGENET_STD)
    np.testing.assert_allclose(x[0, :, 5, 7].numpy(), expected, atol=1e-5)


def test_crop_mode_output_is_the_centre_of_the_resized_frame():
    frames = np.zeros((1, 64, 128, 3), np.uint8)
    frames[0, :, 32:96] = 200  # the centre 64 columns are bright
    x, _ = preprocess_frames(frames, 16, Preprocessing(mode="crop", short_side=64), normalize=False)
    assert x.shape == (1, 3, 64, 64)
    assert torch.allclose(x, torch.full_like(x, 200 / 255), atol=1e-6)


def test_rejects_bad_input_and_settings():
    with pytest.raises(ValueError):
        preprocess_frames(np.zeros((2, 32, 32), np.uint8), 16, Preprocessing())
    with pytest.raises(ValueError):
        Preprocessing(mode="stretch")
    assert Preprocessing().key() != Preprocessing(short_side=224).key()
