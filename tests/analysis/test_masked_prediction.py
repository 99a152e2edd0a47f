"""V-JEPA 2 masked prediction: true masking against transformers' own forward, no leak,
layer-normed targets, scores by hand."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch

from jepa_studio.analysis.masked_prediction import (
    LEAKY,
    TRUE,
    encoder_masked_prediction,
    masked_prediction,
)
from jepa_studio.analysis.masking import PixelMask, token_ids
from jepa_studio.encoders.preprocess import Preprocessing
from jepa_studio.encoders.vjepa2 import encode_tokens, rope_grid
from jepa_studio.encoders.vjepa2 import predict_tokens
from jepa_studio.errors import UsageError

transformers = pytest.importorskip("transformers")


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Tiny models run fastest on one thread (and do not fight other processes for cores)."""
    saved = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(saved)


@pytest.fixture(scope="module")
def model(one_thread):
    """A tiny random V-JEPA 2: 4 px patches, 16 px crops (a 4x4 grid), 2-frame tubelets."""
    torch.manual_seed(0)
    config = transformers.VJEPA2Config(
        patch_size=4,
        crop_size=16,
        frames_per_clip=4,
        tubelet_size=2,
        hidden_size=48,
        num_attention_heads=4,
        num_hidden_layers=2,
        mlp_ratio=2.0,
        pred_hidden_size=24,
        pred_num_attention_heads=2,
        pred_num_hidden_layers=2,
        pred_mlp_ratio=2.0,
        pred_num_mask_tokens=2,
        pred_zero_init_mask_tokens=False,
        initializer_range=0.2,  # larger than the default, so attention is far from uniform
    )
    return transformers.VJEPA2Model(config).eval()


def video(seed: int = 0, frames: int = 4, height: int = 16, width: int = 16) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(1, frames, 3, height, width, generator=gen)


def centre_hidden(t: int = 2, h: int = 4, w: int = 4) -> torch.Tensor:
    hidden = torch.zeros(t, h, w, dtype=torch.bool)
    hidden[:, 1:3, 1:3] = True
    return hidden


def test_full_encoding_equals_transformers(model):
    x = video()
    with torch.no_grad():
        reference = model(x, skip_predictor=True).last_hidden_state
    torch.testing.assert_close(encode_tokens(model, x), reference, rtol=0, atol=1e-6)


def test_predictor_path_equals_transformers(model):
    x = video(1)
    hidden = centre_hidden()
    ctx, tgt = token_ids(~hidden), token_ids(hidden)
    with torch.no_grad():
        out = model(x, context_mask=[ctx[None]], target_mask=[tgt[None]])
    mine = predict_tokens(model, out.last_hidden_state[:, ctx], ctx, tgt, (2, 4, 4))
    torch.testing.assert_close(mine, out.predictor_output.last_hidden_state, rtol=0, atol=1e-6)
    # the leaky variant is exactly that forward
    leaky = masked_prediction(model, x, hidden).leaky
    torch.testing.assert_close(leaky.predicted, out.predictor_output.last_hidden_state[0], rtol=0, atol=1e-6)


def test_true_masking_leaks_nothing(model):
    hidden = centre_hidden()
    x = video(2)
    y = x.clone()
    y[:, :, :, 4:12, 4:12] = 5.0 * torch.randn(1, 4, 3, 8, 8)  # only pixels under hidden tokens
    a, b = masked_prediction(model, x, hidden), masked_prediction(model, y, hidden)
    assert torch.equal(a.true.predicted, b.true.predicted)
    assert (a.leaky.predicted - b.leaky.predicted).abs().max() > 1e-3
    # the targets did change: the comparison itself sees the new pixels
    assert (a.true.target[hidden] - b.true.target[hidden]).abs().max() > 1e-3
    # and a change in the visible region does change the predictions
    z = x.clone()
    z[:, :, :, 0:4, 0:4] += 3.0
    assert (masked_prediction(model, z, hidden).true.predicted - a.true.predicted).abs().max() > 1e-4


def test_no_leak_on_a_wide_grid_with_true_positions(model):
    # a 3x7 grid (12x28 input), not the model's square 4x4: positions need the real grid
    x = video(3, height=12, width=28)
    hidden = torch.zeros(2, 3, 7, dtype=torch.bool)
    hidden[1, :, 4:6] = True
    y = x.clone()
    y[:, 2:4, :, :, 16:24] = torch.randn(1, 2, 3, 12, 8)
    assert torch.equal(masked_prediction(model, x, hidden).true.predicted, masked_prediction(model, y, hidden).true.predicted)
    # flat (time, row, column) ids on the true grid are the position ids: the attention
    # modules' own get_position_ids decodes them to each token's (t, r, c) ...
    ids = torch.arange(2 * 3 * 7)
    attention = model.encoder.layer[0].attention
    with rope_grid(model, 3, 7):
        t, r, c = attention.get_position_ids(torch.zeros(1, 42, 1), masks=ids[None])
        kept = token_ids(~hidden)  # ... also for the kept tokens alone (the context encoder's case)
        kt, kr, kc = attention.get_position_ids(torch.zeros(1, len(kept), 1), masks=kept[None])
    tt, rr, cc = torch.meshgrid(torch.arange(2), torch.arange(3), torch.arange(7), indexing="ij")
    for got, want, got_kept in ((t, tt, kt), (r, rr, kr), (c, cc, kc)):
        # ids of one sequence come as one row broadcast over heads (or a row per head)
        assert torch.equal(got.reshape(-1, got.shape[-1])[0], want.reshape(-1))
        assert torch.equal(got_kept.reshape(-1, got_kept.shape[-1])[0], want.reshape(-1)[kept])
    # ... and on the model's own square grid they are exactly transformers' positions
    square = torch.arange(2 * 4 * 4)
    with rope_grid(model, 4, 4):
        ours = attention.get_position_ids(torch.zeros(1, 32, 1), masks=square[None])
    theirs = type(attention).get_position_ids(attention, torch.zeros(1, 32, 1), masks=square[None])
    assert all(torch.equal(a.expand_as(b), b) for a, b in zip(ours, theirs))  # the same ids for every head
    # outside the block the modules are as transformers built them
    assert all(m._jepa_grid is None and m.grid_size == 4 for m in model.modules() if hasattr(m, "_jepa_grid"))


def test_targets_are_layer_normed_and_scores_by_hand(model):
    x = video(4)
    hidden = centre_hidden()
    result = masked_prediction(model, x, hidden)
    with torch.no_grad():
        enc = model(x, skip_predictor=True).last_hidden_state[0].double().numpy()  # [32, 48]
    ln = (enc - enc.mean(-1, keepdims=True)) / np.sqrt(enc.var(-1, keepdims=True) + 1e-5)
    target = result.true.target.double().numpy().reshape(32, 48)
    np.testing.assert_allclose(target, ln, atol=1e-5)
    m = hidden.reshape(-1).numpy()
    for variant in (result.true, result.leaky):
        pred = variant.predicted.double().numpy()
        tgt = ln[m]
        cos = (pred * tgt).sum(-1) / (np.linalg.norm(pred, axis=-1) * np.linalg.norm(tgt, axis=-1))
        l1 = np.abs(pred - tgt).mean(-1)
        np.testing.assert_allclose(variant.cosine[hidden].numpy(), cos, atol=1e-5)
        np.testing.assert_allclose(variant.l1[hidden].numpy(), l1, atol=1e-5)
        assert variant.mean_cosine == pytest.approx(cos.mean(), abs=1e-5)
        assert variant.mean_l1 == pytest.approx(l1.mean(), abs=1e-5)
        assert torch.isnan(variant.cosine[~hidden]).all()
        # the combined grid: targets where visible, predictions where hidden
        assert torch.equal(variant.combined[~hidden], variant.target[~hidden])
    assert result.true.variant == TRUE and not result.true.leaky
    assert result.leaky.variant == LEAKY and result.leaky.leaky


def test_edge_masks(model):
    x = video(5)
    nothing = masked_prediction(model, x, torch.zeros(2, 4, 4, dtype=torch.bool))
    assert nothing.true.n_hidden == 0 and np.isnan(nothing.true.mean_cosine)
    assert nothing.true.summary() == "nothing hidden"
    with pytest.raises(UsageError, match="hides every token"):
        masked_prediction(model, x, torch.ones(2, 4, 4, dtype=torch.bool))
    with pytest.raises(UsageError, match="token grid"):
        masked_prediction(model, x, torch.zeros(2, 3, 3, dtype=torch.bool))


def test_encoder_object_with_a_pixel_mask(model):
    """uint8 frames + a mask in source pixels, through a duck-typed encoder wrapper."""
    encoder = SimpleNamespace(
        name="vjepa2-tiny",
        pretrained=False,
        model=model,
        preprocessing=Preprocessing(short_side=16),  # 16x24 frames stay 16x24: a 4x6 grid
        patch_size=4,
        tubelet_size=2,
    )
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 256, (3, 16, 24, 3), dtype=np.uint8)  # padded to 4 frames
    pixels = np.zeros((16, 24), dtype=bool)
    pixels[5:11, 9:15] = True  # hides token rows 1-2, columns 2-3
    mask = PixelMask(pixels)
    result = encoder_masked_prediction(encoder, frames, mask, frame_indices=[10, 11, 12])
    expected = np.zeros((2, 4, 6), dtype=bool)
    expected[:, 1:3, 2:4] = True
    np.testing.assert_array_equal(result.true.hidden.numpy(), expected)
    assert result.true.frame_indices == ((10, 11), (12,)) and result.true.label == "vjepa2-tiny [random weights]"
    changed = frames.copy()
    changed[:, pixels] = rng.integers(0, 256, (3, int(pixels.sum()), 3), dtype=np.uint8)
    again = encoder_masked_prediction(encoder, changed, mask, frame_indices=[10, 11, 12])
    assert torch.equal(result.true.predicted, again.true.predicted)
    assert not torch.equal(result.leaky.predicted, again.leaky.predicted)
    with pytest.raises(UsageError, match="no predictor"):
        encoder_masked_prediction(SimpleNamespace(name="dinov2"), frames, mask)
    with pytest.raises(UsageError, match="mask is 8x8"):
        encoder_masked_prediction(encoder, frames, PixelMask(np.zeros((8, 8), dtype=bool)))


def test_no_leak_through_the_resize_kernel(model):
    """Frames are shrunk 3x before the encoder: masked pixels must still reach no visible token."""
    encoder = SimpleNamespace(
        name="vjepa2-tiny", pretrained=False, model=model,
        preprocessing=Preprocessing(short_side=16),  # 48x72 frames -> 16x24 input, a 4x6 grid
        patch_size=4, tubelet_size=2,
    )
    rng = np.random.default_rng(1)
    frames = rng.integers(0, 256, (4, 48, 72, 3), dtype=np.uint8)
    pixels = np.zeros((48, 72), dtype=bool)
    pixels[12:24, 24:36] = True  # exactly token rows 1, columns 2 in source pixels
    mask = PixelMask(pixels)
    result = encoder_masked_prediction(encoder, frames, mask)
    hidden = result.true.hidden.numpy()
    assert hidden[:, 1, 2].all()  # the token under the mask
    assert hidden.sum(axis=(1, 2)).max() < 4 * 6  # but not every token
    changed = frames.copy()
    changed[:, pixels] = 255 - changed[:, pixels]
    again = encoder_masked_prediction(encoder, changed, mask)
    assert torch.equal(result.true.predicted, again.true.predicted)


def test_cli_mask_end_to_end(model, tmp_path):
    """``jepa-studio mask`` with a tiny V-JEPA 2 and a tiny DINOv2 saved to folders, PNG and GIF."""
    import argparse

    from PIL import Image

    from jepa_studio.cli import mask as mask_cli
    from jepa_studio.state.mask import MaskDocument
    from jepa_studio.video import write_video

    torch.manual_seed(0)
    vjepa = transformers.VJEPA2Model(
        transformers.VJEPA2Config(
            patch_size=16, crop_size=32, frames_per_clip=4, hidden_size=32, num_attention_heads=2,
            num_hidden_layers=1, mlp_ratio=2.0, pred_hidden_size=16, pred_num_attention_heads=2,
            pred_num_hidden_layers=1, pred_mlp_ratio=2.0,
        )
    )
    vjepa.config.jepa_studio_random_init = True
    vjepa.save_pretrained(tmp_path / "vj")
    dino = transformers.Dinov2Model(
        transformers.Dinov2Config(hidden_size=32, num_hidden_layers=1, num_attention_heads=2, patch_size=14, image_size=28, mlp_ratio=2)
    )
    dino.config.jepa_studio_random_init = True
    dino.save_pretrained(tmp_path / "dino")
    rng = np.random.default_rng(0)
    write_video(tmp_path / "clip.mp4", (rng.integers(0, 256, (48, 64, 3), dtype=np.uint8) for _ in range(8)), 8.0)
    doc = MaskDocument(48, 64)
    doc.rectangle(44, 26, 60, 44)  # one token of the 2x3 V-JEPA 2 grid
    doc.save_png(tmp_path / "mask.png")
    encoders = f"{tmp_path / 'vj'},{tmp_path / 'dino'},pixels"
    sub = argparse.ArgumentParser().add_subparsers()
    mask_cli.register(sub)

    def run(*extra: str) -> int:
        args = sub.choices["mask"].parse_args(
            [str(tmp_path / "clip.mp4"), *extra, "--encoders", encoders, "--frames", "0:8:1", "--device", "cpu"]
        )
        return args.run(args)

    assert run("--mask", str(tmp_path / "mask.png"), "--out", str(tmp_path / "grid.png")) == 0
    assert run("--preset", "future", "--window", "4", "--out", str(tmp_path / "clip.gif")) == 0
    image = np.asarray(Image.open(tmp_path / "grid.png"))
    # rows: source, V-JEPA 2 (full, true x2, leaky x2), DINOv2 (full, inpaint x2), pixels (same)
    assert image.ndim == 3 and image.shape[0] > 12 * 48 * 256 // 64
    with Image.open(tmp_path / "clip.gif") as gif:
        assert gif.n_frames == 8
    MaskDocument(10, 10).save_png(tmp_path / "small.png")
    with pytest.raises(UsageError, match="is 10x10 pixels but the video's frames are 64x48"):
        run("--mask", str(tmp_path / "small.png"), "--out", str(tmp_path / "x.png"))
    with pytest.raises(UsageError, match="cannot write"):
        run("--preset", "centre", "--out", str(tmp_path / "x.txt"))


def test_reusing_the_wrappers_features(model):
    """The encoder wrapper's features of the clip (true RoPE grid) equal our full encoding, and
    passing them in gives the same result without the full pass."""
    from jepa_studio.encoders.vjepa2 import rope_grid as wrapper_grid

    x = video(7, height=12, width=28)  # a 3x7 grid: positions matter
    hidden = torch.zeros(2, 3, 7, dtype=torch.bool)
    hidden[:, 1, 2:5] = True
    with torch.no_grad(), wrapper_grid(model, 3, 7):
        theirs = model.encoder(pixel_values_videos=x).last_hidden_state
    torch.testing.assert_close(encode_tokens(model, x), theirs, rtol=0, atol=1e-5)
    a = masked_prediction(model, x, hidden)
    b = masked_prediction(model, x, hidden, full_encoding=theirs.reshape(2, 3, 7, -1))
    torch.testing.assert_close(a.true.predicted, b.true.predicted, rtol=0, atol=1e-5)
    torch.testing.assert_close(a.leaky.predicted, b.leaky.predicted, rtol=0, atol=1e-5)
