"""The world-model engine without Qt: training in slices that yield to view requests gives the
same model as one uninterrupted run; rollouts line up with the real frames; checkpoints with
their sidecar load back; decoded masked predictions equal the decoder run directly."""

from __future__ import annotations

import threading
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from jepa_studio.engine import StudioEngine, make_request
from jepa_studio.engine.world import engine as world_engine
from jepa_studio.engine.world import DataSpec, MaskDecoded, RolloutView, WorldEngine, WorldRunDone, WorldSettings
from jepa_studio.state.clip import ClipWindow
from jepa_studio.state.view import ViewSettings

SETTINGS = dict(history=2, horizon=3, frameskip=2, decoder_steps=12, transition_steps=12, batch_size=4, width=16, depth=1, heads=2,
                decoder_hidden=8, resolution=32, val_every=4, checkpoint_every=100)


@pytest.fixture(autouse=True)
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def make_engine(small_video):
    messages: list = []
    engine = StudioEngine(messages.append, prefetch=False)
    engine.open_video(small_video)
    assert engine.wait_idle()
    return engine, WorldEngine(engine, messages.append), messages


def test_sliced_training_equals_one_run_and_rollouts_line_up(small_video, tmp_path, monkeypatch) -> None:
    settings = WorldSettings.of(("pixels",), DataSpec("video", 0, 20, 1), **SETTINGS)
    engine, we, messages = make_engine(small_video)
    try:
        we.train(settings, tmp_path / "a")
        assert we.wait_idle(60)
        straight = we.worlds["pixels"].world
        assert we.slice_count == 1

        # again, yielding after every step to a view request posted from the progress callback
        engine2, we2, messages2 = make_engine(small_video)
        monkeypatch.setattr(world_engine, "SLICE_SECONDS", 0.0)
        request = make_request(engine2.video_key, 3, ClipWindow(4, 1), 20, ("pixels",), ViewSettings(), "auto", 32)
        posted = threading.Event()

        def deliver_and_scrub(message):
            messages2.append(message)
            if type(message).__name__ == "WorldProgress" and not posted.is_set():
                posted.set()
                engine2.request_view(request)

        we2._deliver = deliver_and_scrub
        we2.train(settings, tmp_path / "b")
        assert we2.wait_idle(60)
        sliced = we2.worlds["pixels"].world
        assert we2.slice_count > 1  # it yielded to the view request and went on
        assert any(type(m).__name__ == "PaneImage" for m in messages2)  # the panes updated meanwhile
        for a, b in zip(straight.decoder.state_dict().values(), sliced.decoder.state_dict().values()):
            torch.testing.assert_close(a, b)
        for a, b in zip(straight.transition.state_dict().values(), sliced.transition.state_dict().values()):
            torch.testing.assert_close(a, b)
        assert straight.state["transition"].losses == sliced.state["transition"].losses
        engine2.close()

        done = [m for m in messages if isinstance(m, WorldRunDone)]
        assert done and not done[-1].cancelled and done[-1].checkpoints == (str(tmp_path / "a" / "pixels"),)
        # rollout from the playhead at frame 10: context frames 8, 10; predictions 12, 14, 16
        we.request_rollout("pixels", 10, "auto", 32)
        assert engine.wait_idle()
        view = [m for m in messages if isinstance(m, RolloutView)][-1]
        assert view.context == (8, 10) and view.frames == (12, 14, 16)
        np.testing.assert_array_equal(view.real, np.stack([engine.video[f] for f in (12, 14, 16)]))
        # too close to the end: a clear note, no images
        we.request_rollout("pixels", 19, "auto", 32)
        assert engine.wait_idle()
        view = [m for m in messages if isinstance(m, RolloutView)][-1]
        assert view.predicted is None and "move it between frames" in view.note

        # the checkpoint and its sidecar load back under the session's encoder name
        fresh = WorldEngine(engine, messages.append)
        assert fresh.load(tmp_path / "a") == ["pixels"]
        assert engine.wait_idle()
        loaded = fresh.worlds["pixels"]
        assert loaded.frameskip == 2 and loaded.horizon == 3 and loaded.data == settings.data
        assert loaded.world.state["transition"].step == 12
    finally:
        engine.close()


def test_masked_predictions_decode_with_a_layer_norm_decoder(small_video, tmp_path) -> None:
    settings = WorldSettings.of(("pixels-tubelet",), DataSpec("video", 0, 12, 1), target="layer_norm",
                                **{**SETTINGS, "decoder_steps": 4, "transition_steps": 4})
    engine, we, messages = make_engine(small_video)
    try:
        we.train(settings, None)
        assert we.wait_idle(60)
        entry = we.worlds["pixels-tubelet"]
        assert we.masked_decoder("pixels-tubelet") is entry
        h, w = entry.world.encoder.grid
        tokens = torch.randn(2, h, w, entry.world.encoder.dim).half()
        view = SimpleNamespace(
            encoder="pixels-tubelet", variants=(SimpleNamespace(tokens=tokens),),
            frame_indices=((0, 1), (2, 3)), crop_box=(0, 0, 96, 64),
        )
        assert we.request_masked_decode(view) is not None
        assert engine.wait_idle()
        decoded = [m for m in messages if isinstance(m, MaskDecoded)][-1]
        direct = entry.world.decode_tokens(tokens.float())  # [4, H, W, 3]: frames 0, 1, 2, 3
        np.testing.assert_array_equal(decoded.images, direct[[1, 3]])
        assert we.why_not_decoded(view) == ""  # it was decoded
        other = SimpleNamespace(encoder="pixels-tubelet", variants=(SimpleNamespace(tokens=torch.randn(2, h + 1, w, 4)),),
                                frame_indices=((0, 1), (2, 3)), crop_box=(0, 0, 96, 64))
        assert we.request_masked_decode(other) is None
        assert f"{h}x{w} token grid" in we.why_not_decoded(other)  # says why, instead of nothing
        # a decoder on raw tokens is not used for masked predictions
        raw = WorldSettings.of(("pixels",), DataSpec("video", 0, 12, 1), **{**SETTINGS, "decoder_steps": 2, "transition_steps": 2})
        we.train(raw, None)
        assert we.wait_idle(60)
        assert we.masked_decoder("pixels") is None
    finally:
        engine.close()


@pytest.mark.parametrize("mode", ["causal", "window"])
def test_the_window_trains_vjepa2_on_latents_of_its_mode(small_video, tiny_vjepa2, mode) -> None:
    """The World model dock's V-JEPA 2 models read :func:`encode_latents` in the chosen mode:
    causal latents that saw no later frame by default, the bidirectional window labelled."""
    from jepa_studio.world.latents import encode_latents

    name = str(tiny_vjepa2)
    settings = WorldSettings.of((name,), DataSpec("video", 0, 12, 1), latents=mode,
                                **{**SETTINGS, "decoder_steps": 1, "transition_steps": 1, "resolution": 64})
    engine, we, messages = make_engine(small_video)
    try:
        we.train(settings, None)
        assert we.wait_idle(120)
        assert not [m for m in messages if isinstance(m, WorldRunDone) and m.error], messages
        info = we.worlds[name].world.encoder
        assert info.latents == mode
        assert (info.future_frames > 0) == (mode == "window")
        # the latents it trained on are exactly encode_latents' of the same pixels
        holder: list = []
        done = threading.Event()

        def check(_token) -> None:
            enc = engine.encoder(name, "auto", 64)
            pixels = engine.clip_pixels(list(range(12)))
            holder.append((encode_latents(enc, pixels, mode, list(range(12))),
                           we.latent_cache.get(next(iter(we.latent_cache._items)))))
            done.set()

        engine.submit_gpu_task(check)
        assert done.wait(60)
        direct, cached = holder[0]
        assert torch.equal(direct.tokens, cached.tokens)
        assert cached.mode == mode
    finally:
        engine.close()
