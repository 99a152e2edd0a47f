"""World-model latents: no latent sees a later frame (causal, per-frame), the window mode does
and says so; tokens match independent encodings; per-frame steps are stacked to align."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from jepa_studio.encoders.registry import load_encoder
from jepa_studio.errors import UsageError
from jepa_studio.world.latents import encode_latents, group_steps, mixes_time

from tests.tiny_models import save_tiny_model

N = 12  # frames; the tiny V-JEPA 2 runs in windows of 4 (so the window mode sees 2 future frames)


@pytest.fixture(scope="module")
def encoders(tmp_path_factory):
    """pixels, pixels-tubelet, a tiny DINOv2 and a tiny V-JEPA 2, each loaded from the registry
    or a folder saved with save_pretrained (the real loading path)."""
    root = tmp_path_factory.mktemp("latent-models")
    vjepa = load_encoder(str(save_tiny_model("vjepa2", root / "vjepa2")), device="cpu", window=4)
    dino = load_encoder(str(save_tiny_model("dinov2", root / "dinov2")), device="cpu")
    pix = load_encoder("pixels")
    tub = load_encoder("pixels-tubelet")
    for enc in (pix, tub):
        enc.preprocessing = type(enc.preprocessing)(short_side=32)
    return {"pixels": pix, "pixels-tubelet": tub, "dinov2": dino, "vjepa2": vjepa}


@pytest.fixture(scope="module")
def clip():
    return np.random.default_rng(3).integers(0, 256, (N, 32, 32, 3), dtype=np.uint8)


def _edited_after(frames: np.ndarray, t: int) -> np.ndarray:
    """A copy whose frames from ``t`` on are replaced by others."""
    out = frames.copy()
    out[t:] = np.random.default_rng(99).integers(0, 256, out[t:].shape, dtype=np.uint8)
    return out


def _steps_before(feats, first_edited: int) -> list[int]:
    """Time steps whose frames all come before ``first_edited``."""
    return [t for t, g in enumerate(feats.frame_indices) if max(g) < first_edited]


@pytest.mark.parametrize("mode", ["causal", "per-frame"])
@pytest.mark.parametrize("name", ["pixels", "pixels-tubelet", "dinov2", "vjepa2"])
@pytest.mark.parametrize("edit_from", [5, 8])
def test_editing_later_frames_changes_no_earlier_latent(encoders, clip, name, mode, edit_from):
    enc = encoders[name]
    before = encode_latents(enc, clip, mode)
    after = encode_latents(enc, _edited_after(clip, edit_from), mode)
    kept = _steps_before(before, edit_from)
    assert kept, "some steps must lie before the edit"
    assert torch.equal(before.tokens[kept], after.tokens[kept])
    later = [t for t in range(len(before.frame_indices)) if t not in kept]
    assert (before.tokens[later] - after.tokens[later]).abs().amax() > 1e-3  # the edit is seen where it may be
    assert before.future_frames == 0 and before.mode == mode and before.mode_label == mode


def test_the_window_mode_sees_later_frames_and_says_so(encoders, clip):
    enc = encoders["vjepa2"]
    before = encode_latents(enc, clip, "window")
    after = encode_latents(enc, _edited_after(clip, 6), "window")
    # frames 6, 7 share the window 4-7 with step (4, 5): its tokens change although it ends before the edit
    step = before.frame_indices.index((4, 5))
    assert not torch.allclose(before.tokens[step], after.tokens[step], atol=1e-4)
    assert before.future_frames == 2 and "sees up to 2 future frames" in before.mode_label
    # image encoders and pixels never mix frames: no future in any mode
    for name in ("pixels", "dinov2"):
        assert encode_latents(encoders[name], clip, "window").future_frames == 0


def test_causal_tokens_are_the_last_step_of_a_window_ending_there(encoders, clip):
    """Independent reference: a plain encode of the frames up to the step (at most the window)."""
    enc = encoders["vjepa2"]
    feats = encode_latents(enc, clip, "causal", frame_indices=range(100, 100 + N), batch_size=3)
    assert feats.frame_indices[0] == (100, 101) and feats.tubelet_size == 2 and feats.context_frames == 4
    for t in range(N // 2):
        end = 2 * t + 2
        ref = enc.encode(clip[max(0, end - 4) : end]).tokens[-1]
        torch.testing.assert_close(feats.tokens[t], ref, atol=1e-5, rtol=1e-5)


def test_an_odd_clip_pads_its_last_step_like_the_encoder(encoders, clip):
    enc = encoders["vjepa2"]
    feats = encode_latents(enc, clip[:7], "causal")
    assert feats.frame_indices[-1] == (6,)
    torch.testing.assert_close(feats.tokens[-1], enc.encode(clip[4:7]).tokens[-1], atol=1e-5, rtol=1e-5)


def test_per_frame_repeats_each_frame_to_fill_a_tubelet(encoders, clip):
    enc = encoders["vjepa2"]
    feats = encode_latents(enc, clip[:5], "per-frame")
    assert feats.tubelet_size == 1 and feats.frame_indices == tuple((i,) for i in range(5))
    for i in range(5):
        ref = enc.encode(np.repeat(clip[i : i + 1], 2, axis=0)).tokens[0]
        torch.testing.assert_close(feats.tokens[i], ref, atol=1e-5, rtol=1e-5)
    # the pixel tubelet baseline the same way: both halves of every token are the same frame
    tub = encode_latents(encoders["pixels-tubelet"], clip[:5], "per-frame")
    half = tub.dim // 2
    assert tub.tubelet_size == 1 and torch.equal(tub.tokens[..., :half], tub.tokens[..., half:])


def test_which_encoders_mix_time(encoders):
    assert mixes_time(encoders["vjepa2"])
    assert not any(mixes_time(encoders[n]) for n in ("pixels", "pixels-tubelet", "dinov2"))


def test_group_steps_stacks_frames_like_a_tubelet(encoders, clip):
    pix = encode_latents(encoders["pixels"], clip[:7], "causal")
    tub = encode_latents(encoders["pixels-tubelet"], clip[:7], "causal")
    grouped = group_steps(pix, 2)
    # a pair of frames' patches, stacked, is the raw tubelet: the pixel baselines agree
    assert grouped.frame_indices == ((0, 1), (2, 3), (4, 5)) and grouped.tubelet_size == 2
    torch.testing.assert_close(grouped.tokens, tub.tokens[:3])
    assert group_steps(tub, 2).frame_indices == ((0, 1), (2, 3), (4, 5))  # the padded (6,) is dropped
    assert group_steps(grouped, 2) is grouped
    with pytest.raises(UsageError, match="cannot hold"):
        group_steps(tub, 3)


def test_bad_mode_is_a_usage_error(encoders, clip):
    with pytest.raises(UsageError, match="unknown latent mode"):
        encode_latents(encoders["pixels"], clip, "future")
