"""Rollouts line up with the real frames: steps, frame indices, frameskip and tubelets."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from jepa_studio.encoders.pixels import patchify
from jepa_studio.world.decoder import resize_frames
from jepa_studio.world.evaluation import constant_velocity, evaluate_world
from jepa_studio.world.plan import make_plan
from jepa_studio.world.latents import step_actions, window_starts
from jepa_studio.world.model import WorldModel, prepare_sequence
from jepa_studio.world.rollout import rollout

from world_helpers import moving_square, pixel_encoder


@pytest.mark.parametrize("tubelet,frameskip", [(1, 1), (1, 3), (2, 1), (2, 2)])
def test_rollout_steps_and_frames(tubelet, frameskip):
    frames = moving_square(30, 32)
    source = list(range(100, 130))
    feats = pixel_encoder(tubelet).encode(frames, source)
    world = WorldModel.create([feats], history=2, frameskip=frameskip, width=16, depth=1, heads=2, decoder_hidden=8)
    seq = prepare_sequence(world, feats, frames, rows={s: i for i, s in enumerate(source)})
    ro = rollout(world, seq, start=1, horizon=3)
    f = frameskip
    assert ro.context_steps == (1, 1 + f)
    assert ro.steps == (1 + 2 * f, 1 + 3 * f, 1 + 4 * f)
    for step, covered in zip(ro.steps, ro.frame_indices):
        first = 100 + step * tubelet
        assert covered == tuple(range(first, first + tubelet))
        # the true latents of the step are the real frames it covers, patchified
        real = torch.from_numpy(frames[[c - 100 for c in covered]]).permute(0, 3, 1, 2).float() / 255
        assert torch.allclose(world.stats.denormalize(ro.true[ro.steps.index(step)]), patchify(real, 8, tubelet)[0], atol=1e-5)
    assert ro.context_frame == 100 + (1 + f) * tubelet + tubelet - 1
    with pytest.raises(Exception, match="needs steps up to"):
        rollout(world, seq, start=len(seq.latents) - 2, horizon=3)


def test_step_actions_cover_the_frames_between_steps():
    actions = np.arange(10, dtype=np.float32)[:, None]
    # image encoder, frameskip 2: transition t -> t+2 uses actions of frames t, t+1
    a = step_actions(actions, [(i,) for i in range(10)], 2)
    assert a.shape == (10, 2) and a[3].tolist() == [3, 4]
    # tubelets (0,1),(2,3),..., frameskip 1: (2,3) -> (4,5) uses frames 3 and 4
    b = step_actions(actions, [(0, 1), (2, 3), (4, 5), (6, 7), (8, 9)], 1)
    assert b.shape == (5, 2) and b[1].tolist() == [3, 4]


def test_window_starts_hold_out_the_targets():
    # 20 steps, split at 15, windows of 5 (3 context + 2 predicted), frameskip 2
    starts = window_starts(20, 5, 2, n_context=3, first_target=15)
    assert starts == [9, 10, 11]  # first predicted step s + 6 >= 15 and last s + 8 <= 19
    assert window_starts(20, 3, 1, 1, 0, last_target=15) == list(range(0, 13))


class _Unpatchify(torch.nn.Module):
    """An exact decoder for pixel latents (for the alignment check)."""

    def __init__(self, world: WorldModel) -> None:
        super().__init__()
        self.world = world
        self.dummy = torch.nn.Parameter(torch.zeros(1))

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        raw = self.world.stats.denormalize(z)
        n, h, w, _ = raw.shape
        k, p = self.world.encoder.tubelet_size, self.world.encoder.patch_size
        x = raw.reshape(n, h, w, k, 3, p, p).permute(0, 3, 4, 1, 5, 2, 6)
        return x.reshape(n, k, 3, h * p, w * p)


@pytest.mark.parametrize("tubelet,frameskip", [(1, 2), (2, 1)])
def test_evaluation_compares_decoded_rollouts_with_the_right_frames(tubelet, frameskip):
    """With an exact decoder the ceiling is perfect only if the real frames line up;
    the copy baseline equals the last context frame against the real future by hand."""
    clips = [moving_square(20, 32, seed=s) for s in range(2)]
    enc = pixel_encoder(tubelet)
    feats = [enc.encode(c) for c in clips]
    world = WorldModel.create(feats, history=2, frameskip=frameskip, width=16, depth=1, heads=2, decoder_hidden=8)
    seqs = [prepare_sequence(world, f, c, val_fraction=0.4) for f, c in zip(feats, clips)]
    world.decoder = _Unpatchify(world)
    real = [(resize_frames(c, f.crop_box, (32, 32)) * 255).round().to(torch.uint8) for f, c in zip(feats, clips)]
    plan = make_plan([f.frame_indices for f in feats], tubelet, frameskip * tubelet, 2, 2, 0.4, 50)
    rows, scored, images = evaluate_world(world, seqs, plan, real)
    assert [r.frames_ahead for r in rows] == [frameskip * tubelet, 2 * frameskip * tubelet]
    assert scored == [list(w.targets) for w in plan.windows]
    for r in rows:
        assert r.psnr_ceiling > 60 and r.ssim_ceiling > 0.999
        # an untrained residual model predicts "nothing moves": the same latents as the copy
        assert r.cosine_model == pytest.approx(r.cosine_copy, abs=1e-5)
        assert r.nmse_model == pytest.approx(r.nmse_copy, rel=1e-4)
    w = plan.windows[0]
    x_last = torch.from_numpy(clips[w.clip][w.last_context_frame]).permute(2, 0, 1).float() / 255
    x_target = torch.from_numpy(clips[w.clip][w.targets[0][0]]).permute(2, 0, 1).float() / 255
    assert torch.allclose(images["real"][0, 0, 0], x_target, atol=1e-6)
    assert torch.allclose(images["ceiling"][0, 0, 0], x_target, atol=1e-5)
    assert not torch.allclose(x_last, x_target)


def test_constant_velocity_extrapolates_the_last_two_context_steps():
    z = torch.arange(12, dtype=torch.float32).reshape(1, 3, 2, 2) ** 2  # [B, H, ...]
    out = constant_velocity(z, 3)
    step = z[:, 2] - z[:, 1]
    for j in range(3):
        assert torch.equal(out[:, j], z[:, 2] + (j + 1) * step)
