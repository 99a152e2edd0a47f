"""Checkpoints round-trip; training resumes, cancels and keeps the last checkpoint."""

from __future__ import annotations

import json
import threading

import pytest
import torch

from jepa_studio.errors import UsageError
from jepa_studio.world.checkpoints import load_world, save_world
from jepa_studio.world.model import WorldModel, prepare_sequence
from jepa_studio.world.training import TrainSettings, train_decoder, train_transition

from world_helpers import moving_square, pixel_encoder


def _setup(frames=None):
    frames = moving_square(16, 32) if frames is None else frames
    feats = pixel_encoder(2).encode(frames)
    world = WorldModel.create([feats], history=2, width=16, depth=1, heads=2, decoder_hidden=8, action_dim=1)
    actions = torch.linspace(-1, 1, 16)[:, None].numpy()
    seq = prepare_sequence(world, feats, frames, actions)
    return world, seq


def test_round_trip_same_outputs(tmp_path):
    world, seq = _setup()
    settings = TrainSettings(steps=3, batch_size=4)
    train_decoder(world, [seq], settings)
    train_transition(world, [seq], settings)
    save_world(world, tmp_path / "ck")
    config = json.loads((tmp_path / "ck" / "config.json").read_text())
    assert config["encoder"]["name"] == "pixels-tubelet" and config["training"]["transition"]["step"] == 3
    modes = {p.name: p.stat().st_mode & 0o777 for p in (tmp_path / "ck").iterdir()}
    assert modes["weights.safetensors"] == modes["config.json"]  # shared alike (safetensors wrote 0600)
    back = load_world(tmp_path / "ck")
    assert torch.equal(back.stats.mean, world.stats.mean) and torch.equal(back.stats.std, world.stats.std)
    assert back.encoder == world.encoder and back.frameskip == world.frameskip
    z = seq.latents[:2][None]
    a = seq.actions[:2][None]
    with torch.no_grad():
        assert torch.equal(back.transition(z, a), world.transition(z, a))
        assert torch.equal(back.decoder.decode(seq.latents[:3]), world.decoder.decode(seq.latents[:3]))
    assert back.state["decoder"].losses == world.state["decoder"].losses
    opt = back.state["transition"].optimizer
    assert opt is not None and set(opt["state"]) == set(world.state["transition"].optimizer["state"])


def test_resume_continues_and_matches_an_uninterrupted_run(tmp_path):
    world, seq = _setup()
    train_transition(world, [seq], TrainSettings(steps=8, batch_size=4, warmup=2))
    full = world.state["transition"].losses

    world, seq = _setup()
    cancel = threading.Event()
    settings = TrainSettings(steps=8, batch_size=4, warmup=2, checkpoint_every=2)
    stop_at_4 = lambda step, total, loss: cancel.set() if step == 4 else None  # noqa: E731
    train_transition(world, [seq], settings, stop_at_4, cancel, checkpoint=tmp_path / "ck2")
    resumed = load_world(tmp_path / "ck2")
    assert resumed.state["transition"].step == 4
    state = train_transition(resumed, [seq], settings)
    assert state.step == 8 and len(state.losses) == 8
    # same batches, same optimiser state: the resumed run continues the same curve
    assert state.losses == pytest.approx(full, rel=1e-4)


def test_cancel_stops_and_keeps_the_last_checkpoint(tmp_path):
    world, seq = _setup()
    cancel = threading.Event()

    def progress(step: int, total: int, loss: float) -> None:
        if step == 3:
            cancel.set()

    state = train_decoder(world, [seq], TrainSettings(steps=50, batch_size=4), progress, cancel, tmp_path / "ck")
    assert state.step == 3
    assert load_world(tmp_path / "ck").state["decoder"].step == 3


def test_bad_checkpoints_fail_clearly(tmp_path):
    with pytest.raises(UsageError, match="not a world-model checkpoint"):
        load_world(tmp_path)
    (tmp_path / "config.json").write_text("{}")
    (tmp_path / "weights.safetensors").write_bytes(b"not safetensors")
    with pytest.raises(UsageError, match="cannot read"):
        load_world(tmp_path)


def _damage(folder, edit):
    """Rewrite a saved checkpoint's config (inside the weights file and in config.json)."""
    from safetensors.torch import load_file, save_file

    tensors = load_file(str(folder / "weights.safetensors"))
    config = json.loads((folder / "config.json").read_text())
    text = edit(config)
    text = text if isinstance(text, str) else json.dumps(config)
    save_file(tensors, str(folder / "weights.safetensors"), metadata={"format": "jepa-studio-world-model", "config": text})
    (folder / "config.json").write_text(text)


def _deep(n):
    return "[" * n + "]" * n


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda c: c.pop("latent_variance"), "latent_variance is missing"),
        (lambda c: c["decoder"].update(hidden=200000), "decoder.hidden = 200000 is outside"),
        (lambda c: c["decoder"].update(hidden=4096), r"decoder\.\S+ has shape"),
        (lambda c: c["transition"].update(width=8192, heads=4), "transition.pos_space has shape"),
        (lambda c: c["transition"].update(depth="3"), "transition.depth must be a whole number"),
        (lambda c: c["transition"].update(heads=3), "not a multiple of transition.heads"),
        (lambda c: c["encoder"].update(grid=[4]), "encoder.grid must be a list of two"),
        (lambda c: c.update(encoder="pixels"), "encoder is not an object"),
        (lambda c: c["training"]["decoder"].update(losses=["x"]), "training.decoder.losses must hold numbers"),
        (lambda c: c.update(training={"decoder": {"step": 1, "losses": [], "val_losses": [], "optimizer": {}}}),
         "optimizer.param_groups is missing"),
        (lambda c: c.update(seed=_deep(3)), "seed must be a whole number"),
        (lambda c: c.update(extra=json.loads(_deep(40))), "nests too deeply"),
        (lambda c: '{"a": ' + _deep(100000) + "}", "nests too deeply"),
        (lambda c: "[1, 2]", "not a JSON object"),
        (lambda c: "{not json", "not valid JSON"),
    ],
)
def test_damaged_checkpoints_end_in_one_clear_error(tmp_path, edit, message):
    world, seq = _setup()
    folder = save_world(world, tmp_path / "ck")
    _damage(folder, edit)
    with pytest.raises(UsageError, match=message) as info:
        load_world(folder)
    assert "\n" not in str(info.value) and str(folder) in str(info.value)


def test_a_missing_weight_is_named_before_loading(tmp_path):
    from safetensors.torch import load_file, save_file

    world, _ = _setup()
    folder = save_world(world, tmp_path / "ck")
    tensors = load_file(str(folder / "weights.safetensors"))
    del tensors["transition.head.bias"]
    text = json.loads((folder / "config.json").read_text())
    save_file(tensors, str(folder / "weights.safetensors"), metadata={"format": "jepa-studio-world-model", "config": json.dumps(text)})
    with pytest.raises(UsageError, match="lack transition.head.bias"):
        load_world(folder)
