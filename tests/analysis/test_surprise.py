"""The surprise timeline: a peak at a cut for the pixel tubelet baseline, scores computed by
hand, true masking with a tiny random V-JEPA 2, and the files it writes."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from jepa_studio import surprise_curve
from jepa_studio.analysis.surprise import future_prediction, predictor_surprise
from jepa_studio.encoders import load_encoder
from jepa_studio.encoders.pixels import PixelEncoder
from jepa_studio.encoders.preprocess import Preprocessing
from jepa_studio.errors import UsageError
from jepa_studio.video.sample import render_sample_scene

CUT = 12


@pytest.fixture(scope="module")
def cut_clip() -> np.ndarray:
    """24 frames of the sample scene at 128 x 72; from frame 12 on, another garden (seed 1, 1.5 s later)."""
    before = render_sample_scene(CUT, (128, 72), seed=0)
    after = render_sample_scene(CUT + 36, (128, 72), seed=1)[36:]
    return np.concatenate([before, after])


@pytest.mark.parametrize("method", ["copy", "velocity"])
def test_the_pixel_tubelet_curve_peaks_at_a_cut(cut_clip: np.ndarray, method: str) -> None:
    encoder = PixelEncoder(2, preprocessing=Preprocessing(short_side=64))
    curve = surprise_curve(encoder, cut_clip, range(len(cut_clip)), method=method)
    assert curve.n_steps == 12 and curve.frame_indices[6] == (CUT, CUT + 1)
    scored = np.isfinite(curve.cosine)
    assert scored.tolist() == [False] * (1 if method == "copy" else 2) + [True] * (12 - (1 if method == "copy" else 2))
    assert int(np.nanargmax(curve.cosine)) == 6 and int(np.nanargmax(curve.l1)) == 6
    others = np.delete(curve.cosine[scored], list(np.flatnonzero(scored)).index(6))
    assert curve.cosine[6] > 3 * np.median(others)
    assert curve.peaks(1) == [6]
    assert curve.patch.shape == (12, *encoder.encode(cut_clip[:2]).grid[1:])


def test_copy_baseline_scores_by_hand(cut_clip: np.ndarray) -> None:
    """1 - cos and L1 of the layer-normed tokens of one step against the step before."""
    frames = [0, 2, 4, 6, 8, 10]  # a strided selection: the previous *selected* frame counts
    encoder = PixelEncoder(1, preprocessing=Preprocessing(short_side=64))
    curve = surprise_curve(encoder, cut_clip, frames, method="copy")
    tokens = encoder.encode(cut_clip[frames], frames).tokens
    z = F.layer_norm(tokens, (tokens.shape[-1],))
    for s in range(1, len(frames)):
        cos = F.cosine_similarity(z[s - 1], z[s], dim=-1)
        assert curve.patch[s] == pytest.approx((1 - cos).numpy(), abs=1e-5)
        assert curve.cosine[s] == pytest.approx(float((1 - cos).mean()), abs=1e-6)
        assert curve.l1[s] == pytest.approx(float((z[s] - z[s - 1]).abs().mean()), abs=1e-6)
        change = np.abs(cut_clip[frames[s]].astype(float) - cut_clip[frames[s - 1]]).mean() / 255
        assert curve.pixel_difference[s] == pytest.approx(change)
    assert np.isnan(curve.cosine[0]) and np.isnan(curve.pixel_difference[0])
    assert curve.frames.tolist() == frames


def test_velocity_baseline_scores_by_hand(cut_clip: np.ndarray) -> None:
    """k = 2: steps s and s + 1 are guessed as z[s-1] + j (z[s-1] - z[s-2]), j = 1, 2."""
    encoder = PixelEncoder(1, preprocessing=Preprocessing(short_side=64))
    curve = surprise_curve(encoder, cut_clip, range(8), method="velocity", k=2)
    tokens = encoder.encode(cut_clip[:8]).tokens
    z = F.layer_norm(tokens, (tokens.shape[-1],))
    assert np.isnan(curve.cosine[:2]).all() and np.isnan(curve.cosine[7]) and np.isfinite(curve.cosine[2:7]).all()
    for s in range(2, 7):
        last, prev = z[s - 1], z[s - 2]
        guesses = [last + j * (last - prev) for j in (1, 2)]
        surprise = [1 - F.cosine_similarity(g, z[s + j], dim=-1) for j, g in enumerate(guesses)]
        l1 = [(g - z[s + j]).abs().mean(dim=-1) for j, g in enumerate(guesses)]
        assert curve.cosine[s] == pytest.approx(float(torch.stack(surprise).mean()), abs=1e-6)
        assert curve.l1[s] == pytest.approx(float(torch.stack(l1).mean()), abs=1e-6)
        assert curve.patch[s] == pytest.approx(surprise[0].numpy(), abs=1e-5)


def test_true_masking_hidden_future_pixels_change_no_prediction(tiny_vjepa2) -> None:
    encoder = load_encoder(str(tiny_vjepa2))
    rng = np.random.default_rng(0)
    clip = rng.integers(0, 256, (8, 32, 48, 3), dtype=np.uint8)
    edited = clip.copy()
    edited[6:] = 255 - edited[6:]  # the last step (frames 6 and 7) is the hidden future
    a = future_prediction(encoder, clip, range(8), k=1)
    b = future_prediction(encoder, edited, range(8), k=1)
    assert a.hidden[-1].all() and not a.hidden[:-1].any()
    assert torch.equal(a.predicted, b.predicted)  # the predictor never saw the hidden frames
    assert not torch.allclose(a.target[-1], b.target[-1])  # ... but it is scored against them
    assert not np.allclose(a.cosine[-1].numpy(), b.cosine[-1].numpy())


def test_predictor_curve_streams_windows_that_end_at_each_step(tiny_vjepa2) -> None:
    encoder = load_encoder(str(tiny_vjepa2))
    rng = np.random.default_rng(1)
    clip = rng.integers(0, 256, (12, 32, 48, 3), dtype=np.uint8)
    curve = predictor_surprise(encoder, clip, range(12), k=1, context=2)
    assert curve.label.endswith("[random weights]") and not curve.pretrained
    assert curve.n_steps == 6 and curve.patch.shape == (6, 2, 3)
    assert np.isnan(curve.cosine[:2]).all() and np.isfinite(curve.cosine[2:]).all()
    # step 4 (frames 8, 9) is predicted from steps 2 and 3 (frames 4-7): it is that one
    # window's masked prediction, and frames from 10 on change nothing up to it
    one = future_prediction(encoder, clip[4:10], range(4, 10), k=1)
    assert curve.cosine[4] == pytest.approx(float(1 - one.cosine[-1].mean()), abs=1e-6)
    later = clip.copy()
    later[10:] = 0
    again = predictor_surprise(encoder, later, range(12), k=1, context=2)
    assert np.array_equal(again.cosine[:5], curve.cosine[:5], equal_nan=True)
    assert again.cosine[5] != pytest.approx(curve.cosine[5])
    strided = predictor_surprise(encoder, clip, range(12), k=1, context=2, stride=2)
    assert np.isfinite(strided.cosine).tolist() == [False, False, True, False, True, False]


def test_surprise_needs_enough_frames_and_a_predictor(tiny_vjepa2, cut_clip: np.ndarray) -> None:
    pixels = PixelEncoder(2, preprocessing=Preprocessing(short_side=64))
    with pytest.raises(UsageError, match="has no predictor"):
        surprise_curve(pixels, cut_clip, range(8), method="predictor")
    with pytest.raises(UsageError, match="unknown surprise method"):
        surprise_curve(pixels, cut_clip, range(8), method="oracle")
    with pytest.raises(UsageError, match="needs at least 2"):
        surprise_curve(pixels, cut_clip, range(2), method="copy")
    with pytest.raises(UsageError, match="context 7"):
        surprise_curve(load_encoder(str(tiny_vjepa2)), cut_clip, range(8))
    with pytest.raises(UsageError, match="k .* at least 1"):
        surprise_curve(pixels, cut_clip, range(8), k=0)
