"""The transition model: block-causal attention, overfitting, actions, rollouts."""

from __future__ import annotations

import pytest
import torch

from jepa_studio.world.model import WorldModel, prepare_sequence
from jepa_studio.world.rollout import rollout, rollout_latents
from jepa_studio.world.training import TrainSettings, train_transition
from jepa_studio.world.transition import TransitionConfig, TransitionModel, block_causal_mask

from world_helpers import moving_square, pixel_encoder


def test_block_causal_mask_by_hand():
    m = block_causal_mask(3, 2)
    expected = torch.tensor(
        [
            [1, 1, 0, 0, 0, 0],
            [1, 1, 0, 0, 0, 0],
            [1, 1, 1, 1, 0, 0],
            [1, 1, 1, 1, 0, 0],
            [1, 1, 1, 1, 1, 1],
            [1, 1, 1, 1, 1, 1],
        ],
        dtype=torch.bool,
    )
    assert torch.equal(m, expected)


def test_later_steps_do_not_change_earlier_predictions():
    torch.manual_seed(0)
    model = TransitionModel(TransitionConfig(dim=6, grid=(2, 3), history=4, width=16, depth=2, heads=2, action_dim=2, residual=False))
    for p in model.parameters():  # make every weight matter (the head starts at zero otherwise)
        torch.nn.init.normal_(p, std=0.3)
    z = torch.randn(2, 4, 2, 3, 6)
    a = torch.randn(2, 4, 2)
    out = model(z, a)
    z2, a2 = z.clone(), a.clone()
    z2[:, 2] += torch.randn_like(z2[:, 2]) * 3
    a2[:, 2] += 5
    out2 = model(z2, a2)
    assert torch.allclose(out[:, :2], out2[:, :2], atol=1e-6)  # steps 0, 1 never see step 2
    assert (out[:, 2:] - out2[:, 2:]).abs().max() > 1e-2  # steps 2, 3 do


def test_transition_overfits_tiny_clip():
    """Bound: teacher-forced loss below 20% of the "nothing moves" loss.

    The head starts at zero, so the untrained residual model *is* the copy baseline and its
    loss is the copy loss; learning the clip's motion must cut it by a factor 5.
    """
    frames = moving_square(16, 32)
    feats = pixel_encoder().encode(frames)
    world = WorldModel.create([feats], history=3, width=32, depth=2, heads=2, val_fraction=0.0, decoder_hidden=8)
    seq = prepare_sequence(world, feats, val_fraction=0.0)
    state = train_transition(world, [seq], TrainSettings(steps=120, batch_size=8, lr=2e-3, warmup=5))
    z = seq.latents
    copy = float(((z[1:] - z[:-1]) ** 2).mean())
    assert abs(state.losses[0] - copy) < 0.2 * copy  # the first batch is at the copy baseline
    assert min(state.losses[-10:]) < 0.2 * copy, (state.losses[-10:], copy)


def test_rollout_feeds_predictions_back():
    torch.manual_seed(1)
    model = TransitionModel(TransitionConfig(dim=4, grid=(2, 2), history=2, width=16, depth=1, heads=2, residual=False))
    for p in model.parameters():
        torch.nn.init.normal_(p, std=0.3)
    context = torch.randn(1, 2, 2, 2, 4)
    pred = rollout_latents(model, context, horizon=3)
    with torch.no_grad():
        p1 = model(context)[:, -1:]
        p2 = model(torch.cat([context[:, 1:], p1], 1))[:, -1:]
        p3 = model(torch.cat([p1, p2], 1))[:, -1:]
    assert torch.allclose(pred, torch.cat([p1, p2, p3], 1), atol=1e-6)


def test_pendulum_actions_change_rollouts(episodes):
    """Rollouts of an action-conditioned model trained on the pendulum depend on the actions.

    Before training the zero-initialised head makes every rollout "nothing moves" whatever the
    actions; after training, pushing one way or the other gives different futures.
    """
    enc = pixel_encoder(patch=8, short_side=32)
    feats = [enc.encode(e.frames) for e in episodes]
    world = WorldModel.create(feats, history=2, action_dim=1, width=32, depth=2, heads=2, decoder_hidden=8)
    seqs = [prepare_sequence(world, f, actions=e.actions) for f, e in zip(feats, episodes)]
    assert seqs[0].actions.shape == (24, 1)

    def push_pull_difference() -> list[float]:
        diffs = []
        for s in seqs:
            push = s.__class__(s.latents, s.frame_indices, None, torch.full_like(s.actions, 3.0), s.split)
            pull = s.__class__(s.latents, s.frame_indices, None, torch.full_like(s.actions, -3.0), s.split)
            a = rollout(world, push, start=s.split - 2, horizon=4).predicted
            b = rollout(world, pull, start=s.split - 2, horizon=4).predicted
            diffs.append(float(((a - b) ** 2).mean()))
        return diffs

    assert max(push_pull_difference()) == 0.0
    train_transition(world, seqs, TrainSettings(steps=100, batch_size=16, lr=2e-3, warmup=5))
    assert min(push_pull_difference()) > 1e-2


def test_unrolled_training_feeds_the_models_own_prediction_back():
    """The first step's loss with unroll 2, by hand: the mean of the teacher-forced MSE and the
    MSE of the step predicted from the model's own first prediction."""
    import copy

    from jepa_studio.world.training import _generator, gather_windows, transition_windows

    frames = moving_square(16, 32)
    feats = pixel_encoder().encode(frames)
    world = WorldModel.create([feats], history=2, width=16, depth=1, heads=2, val_fraction=0.0, decoder_hidden=8)
    for p in world.transition.parameters():  # make the prediction matter (the head starts at zero)
        torch.nn.init.normal_(p, std=0.05)
    seq = prepare_sequence(world, feats, val_fraction=0.0)
    model = copy.deepcopy(world.transition)
    settings = TrainSettings(steps=1, batch_size=4, unroll=2, seed=3)
    windows = transition_windows([seq], 4, 1, held_out=False)
    picks = torch.randint(0, len(windows), (4,), generator=_generator(3, 0)).tolist()
    z, _ = gather_windows([seq], [windows[j] for j in picks], 4, 1)
    with torch.no_grad():
        out = model(z[:, :2])
        first = torch.nn.functional.mse_loss(out, z[:, 1:3])
        second = model(torch.cat([z[:, 1:2], out[:, -1:]], 1))[:, -1:]
        expected = (first + torch.nn.functional.mse_loss(second, z[:, 3:4])) / 2
    state = train_transition(world, [seq], settings)
    assert state.losses[0] == pytest.approx(float(expected), rel=1e-5)
