"""The masking and world features driven headless from their Qt-free state objects, as a
script or notebook would: the state makes the request or run, the engine computes it, and
the result equals the same computation asked of the engine directly."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from jepa_studio.analysis.masked_view import MaskedView
from jepa_studio.engine import StudioEngine, VideoOpened
from jepa_studio.engine.masking import MaskingEngine
from jepa_studio.engine.world import WorldEngine, WorldRunDone
from jepa_studio.state.mask import MaskDocument
from jepa_studio.state.masking import MaskingState
from jepa_studio.state.session import Session, VideoMeta
from jepa_studio.state.world import WorldState
from engine_helpers import Inbox


@pytest.fixture
def opened(small_video):
    inbox = Inbox()
    engine = StudioEngine(inbox, prefetch=False)
    engine.open_video(small_video)
    assert engine.wait_idle()
    opened = inbox.of(VideoOpened)[-1]
    session = Session(("pixels", "pixels-tubelet"))
    session.set_video(VideoMeta(small_video, opened.n_frames, opened.fps, opened.size))
    session.set_resolution(64)
    yield engine, session, inbox
    engine.close()


def test_masking_runs_from_its_state(opened) -> None:
    engine, session, inbox = opened
    state = MaskingState(session)
    width, height = session.video.size
    state.set_document(MaskDocument(height, width))
    state.options.update(encoder="pixels", fill="mean")
    state.apply_preset("centre")
    assert state.mode and state.document.to_pixel_mask().pixels.any()
    req = state.request(engine.video_key)
    assert req is not None and req.encoder == "pixels" and req.fill == "mean"
    masking = MaskingEngine(engine, inbox)
    rid, _ = masking.request(req)
    assert engine.wait_idle()
    view = [m for m in inbox.of(MaskedView) if m.request == rid][0]
    (variant,) = view.variants
    assert variant.variant == "inpaint (mean)" and 0.0 < variant.mean_cosine <= 1.0


def test_world_models_train_from_their_state(opened) -> None:
    engine, session, inbox = opened
    state = WorldState(session, overrides=dict(width=16, depth=1, heads=2, decoder_hidden=8, batch_size=4))
    state.use_all_frames()
    state.options.update(encoders=("pixels-tubelet",), decoder_steps=3, transition_steps=2, history=2, horizon=2,
                         resolution=32)  # the panes stay at 64
    settings = state.settings()
    assert settings.encoders == ("pixels-tubelet",) and settings.data.stop == session.n_frames
    torch.set_num_threads(1)
    world = WorldEngine(engine, inbox)
    world.train(settings, None)
    assert world.wait_idle(120)
    done = inbox.of(WorldRunDone)[-1]
    assert not done.error and not done.cancelled
    model = world.worlds["pixels-tubelet"].world
    assert (model.state["decoder"].step, model.state["transition"].step) == (3, 2)
    assert model.encoder.latents == "causal" and model.history == 2
    assert min(model.encoder.input_size) == 32  # trained small, as the CLI does
    pane_encoder = engine.encoder("pixels-tubelet", "auto", 64, load=False)
    assert pane_encoder is not None and pane_encoder.preprocessing.short_side == 64  # the panes' again
    # the latents it trained on are the session's frames, every one of them
    (cached,) = world.latent_cache._items.values()
    covered = sorted(i for g in cached.frame_indices for i in g)
    assert covered == list(range(session.n_frames))
    assert np.isfinite(cached.tokens.numpy()).all()
