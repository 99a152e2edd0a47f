"""Resize plans and normalisation."""

import av
import numpy as np
import pytest
import torch
from PIL import Image

from jepa_studio.encoders.preprocess import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    MAX_INPUT_PIXELS,
    MAX_INPUT_SIDE,
    Preprocessing,
    plan_resize,
    preprocess_frames,
    resize_plan,
)
from jepa_studio.errors import UsageError


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
    with pytest.raises(UsageError):
        Preprocessing(mode="stretch")
    assert Preprocessing().key() != Preprocessing(short_side=224).key()


# ------------------------------------------------------------- input size limits


@pytest.mark.parametrize("height, width", [(3, 4001), (4001, 3)])
def test_an_extreme_aspect_ratio_is_capped_and_says_so(height, width):
    plan = resize_plan(height, width, 16, Preprocessing())
    long_side, short_side = max(plan.input_size), min(plan.input_size)
    assert (long_side, short_side) == (MAX_INPUT_SIDE, 16)  # one row of 256 tokens, not 341,424 px
    assert (plan.input_size[0] > plan.input_size[1]) == (height > width)
    assert plan.capped and "4096" in plan.note and "aspect ratio is not kept" in plan.note
    assert plan.crop_box == (0, 0, width, height)


def test_a_large_frame_at_a_high_resolution_keeps_within_the_pixel_budget():
    plan = resize_plan(2160, 3840, 16, Preprocessing(short_side=1024))  # would be 1820x1024
    h, w = plan.input_size
    assert h * w <= MAX_INPUT_PIXELS and h % 16 == 0 and w % 16 == 0
    assert (h // 16) * (w // 16) <= 4096 and h * w > 0.9 * MAX_INPUT_PIXELS
    assert abs((w / h) / (3840 / 2160) - 1) < 0.05 and "aspect" not in plan.note
    assert not resize_plan(720, 1280, 16, Preprocessing()).capped
    assert plan_resize(2160, 3840, 16, Preprocessing(short_side=1024)) == (plan.resized, plan.input_size, plan.crop_box)


def test_what_cannot_fit_is_one_clear_usage_error():
    with pytest.raises(UsageError, match="cannot be centre-cropped.*'full' preprocessing"):
        resize_plan(3, 4001, 16, Preprocessing(mode="crop", short_side=256, crop_size=224))
    with pytest.raises(UsageError, match="outside 1..4096 px"):
        Preprocessing(short_side=100_000)
    with pytest.raises(UsageError, match="outside"):
        Preprocessing(mode="crop", crop_size=0)
    with pytest.raises(UsageError, match="no pixels"):
        resize_plan(0, 10, 16, Preprocessing())
    # a crop larger than the pixel budget is reduced, and says so
    plan = resize_plan(3000, 3000, 16, Preprocessing(mode="crop", short_side=2048, crop_size=2048))
    assert plan.input_size == (1024, 1024) and plan.capped


def _extreme_video(path, width, height, n=4):
    """``n`` frames of a ramp along the long side, H.264 4:4:4 (odd sizes allowed)."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv444p"
        for i in range(n):
            ramp = ((np.arange(max(width, height)) + 20 * i) % 256).astype(np.uint8)
            shape = (1, width, 1) if width > height else (height, 1, 1)
            frame = np.broadcast_to(ramp.reshape(shape), (height, width, 3)).copy()
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


@pytest.mark.parametrize("width, height", [(4001, 3), (3, 4001)])
def test_extreme_videos_encode_and_export_with_bounded_shapes(tmp_path, width, height, caplog, capsys, monkeypatch):
    from jepa_studio import load_encoder, open_video
    from jepa_studio.cli import main
    from jepa_studio.encoders import preprocess

    path = _extreme_video(tmp_path / f"{width}x{height}.mp4", width, height)
    monkeypatch.setattr(preprocess, "_notes_logged", set())
    with open_video(path) as video:
        assert video.size == (width, height)
        features = load_encoder("pixels").encode(video.clip(0, 2))
    grid = (1, 256) if width > height else (256, 1)
    assert tuple(features.tokens.shape) == (2, *grid, 768)
    assert [r.message for r in caplog.records if "not kept" in r.message]  # the cap is said
    out = tmp_path / "grid.png"
    assert main(["export", str(path), "--encoders", "pixels", "--frames", "0:2", "--out", str(out)]) == 0
    assert "Traceback" not in capsys.readouterr().err
    image = np.asarray(Image.open(out))
    assert max(image.shape[:2]) < 4000  # 4 cells of at most 4 x 256 px high, not 341,418


def test_resizing_a_few_frames_at_a_time_changes_nothing(monkeypatch):
    from jepa_studio.encoders import preprocess

    frames = np.random.default_rng(0).integers(0, 256, (5, 40, 60, 3), dtype=np.uint8)
    prep = Preprocessing(short_side=32)
    whole, box = preprocess_frames(frames, 16, prep)
    monkeypatch.setattr(preprocess, "_RESIZE_CHUNK_BYTES", 2 * 40 * 60 * 3 * 4)  # two frames a chunk
    chunked, box2 = preprocess_frames(frames, 16, prep)
    assert whole.shape == (5, 3, 32, 48) and box == box2
    torch.testing.assert_close(chunked, whole, rtol=0, atol=0)
