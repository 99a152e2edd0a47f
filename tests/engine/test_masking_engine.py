"""Masked prediction on the studio engine's GPU lane: results equal the analysis functions
run directly, the cached full encoding is reused, the latest request wins, errors are
reported, and the GUI export equals the CLI function's output."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest

from jepa_studio.analysis.inpaint import inpaint_prediction
from jepa_studio.export.masked import MaskSettings, mask_comparison_image
from jepa_studio.analysis.masked_prediction import encoder_masked_prediction
from jepa_studio.analysis.masking import PixelMask, centre_block
from jepa_studio.analysis.pca import fit_pca
from jepa_studio.encoders import load_encoder
from jepa_studio.engine import StudioEngine, TaskDone, VideoOpened, make_request
from jepa_studio.analysis.masked_view import MaskedView
from jepa_studio.engine.masking import MaskError, MaskGridReady, MaskingEngine
from jepa_studio.state import MaskRequest
from engine_helpers import Inbox

from jepa_studio.state import ClipWindow, ViewSettings
from jepa_studio.video import open_video

FRAMES = (0, 1, 2, 3)
RES = 64  # the 96x64 video at its own size: a 4x6 token grid of 16-pixel patches


@pytest.fixture
def setup(small_video: Path):
    inbox = Inbox()
    engine = StudioEngine(inbox, prefetch=False)
    engine.open_video(small_video)
    assert engine.wait_idle()
    assert inbox.of(VideoOpened)
    masking = MaskingEngine(engine, inbox)
    yield engine, masking, inbox
    engine.close()


def centre_mask() -> PixelMask:
    return PixelMask(centre_block(64, 96, 0.5))


def test_vjepa2_view_equals_the_direct_computation_and_reuses_the_encoding(setup, tiny_vjepa2, small_video) -> None:
    engine, masking, inbox = setup
    name = str(tiny_vjepa2)
    # the encoder pane computes the clip's features first: masking must reuse them
    engine.request_view(make_request(engine.video_key, 0, ClipWindow(4, 1), 20, (name,), ViewSettings(), resolution=RES))
    assert engine.wait_idle()
    encodes = engine.encode_count
    req = MaskRequest(engine.video_key, FRAMES, name, centre_mask(), resolution=RES, leaky=True)
    rid, ready = masking.request(req)
    assert ready is None
    assert engine.wait_idle()
    assert engine.encode_count == encodes  # the full encoding came from the feature cache
    assert masking.last_thread == "jepa-studio-gpu"
    views = [m for m in inbox.of(MaskedView) if m.request == rid]
    assert len(views) == 1 and not inbox.of(MaskError)
    view = views[0]
    assert inbox.of(MaskGridReady)[0].grid == view.grid

    with open_video(small_video) as video:
        clip = video.clip(0, 4, 1)
    direct = encoder_masked_prediction(load_encoder(name, resolution=RES), clip, centre_mask(), list(FRAMES))
    true, leaky = view.variants
    assert view.method == "predictor" and "random weights" in view.label
    assert not true.leaky and leaky.leaky
    np.testing.assert_array_equal(view.hidden, direct.true.hidden.numpy())
    assert true.n_hidden == direct.true.n_hidden > 0
    assert true.mean_cosine == pytest.approx(direct.true.mean_cosine, abs=1e-5)
    assert true.mean_l1 == pytest.approx(direct.true.mean_l1, abs=1e-5)
    assert leaky.mean_cosine == pytest.approx(direct.leaky.mean_cosine, abs=1e-5)
    np.testing.assert_allclose(true.cosine, direct.true.cosine.numpy(), atol=1e-5)
    # the error map is the cosine coloured by viridis where hidden, grey where visible
    hidden = view.hidden
    assert (true.error[~hidden] == (58, 60, 64)).all()
    # the full PCA pane is the layer-normed full encoding through its own basis
    pca = fit_pca(direct.true.target, 3)
    diff = np.abs(view.full.astype(int) - pca.to_rgb(direct.true.target).astype(int))
    assert diff.max() <= 1
    # a time step's scores are the means over that step's hidden tokens
    cos, l1, n = true.step_scores(1)
    step = direct.true.cosine[1][direct.true.hidden[1]]
    assert n == step.numel() and cos == pytest.approx(float(step.mean()), abs=1e-5)

    # asking again is answered from the cache at once, without a new computation
    count = masking.compute_count
    rid2, again = masking.request(req)
    assert again is not None and again.request == rid2 and masking.compute_count == count


def test_inpainting_for_encoders_without_a_predictor(setup, small_video) -> None:
    engine, masking, inbox = setup
    req = MaskRequest(engine.video_key, FRAMES, "pixels", centre_mask(), fill="mean")
    rid, _ = masking.request(req)
    assert engine.wait_idle()
    view = [m for m in inbox.of(MaskedView) if m.request == rid][0]
    with open_video(small_video) as video:
        clip = video.clip(0, 4, 1)
    direct = inpaint_prediction(load_encoder("pixels"), clip, centre_mask(), list(FRAMES), "mean")
    (variant,) = view.variants
    assert view.method == "inpaint" and variant.variant == "inpaint (mean)"
    assert variant.mean_cosine == pytest.approx(direct.mean_cosine, abs=1e-6)
    np.testing.assert_allclose(variant.l1, direct.l1.numpy(), atol=1e-6)


def test_an_empty_mask_says_what_to_do_and_the_latest_request_wins(setup) -> None:
    engine, masking, inbox = setup
    empty = PixelMask(np.zeros((64, 96), bool))
    gate = threading.Event()
    engine.submit_gpu_task(lambda token: gate.wait(10))  # hold the lane busy
    first, _ = masking.request(MaskRequest(engine.video_key, FRAMES, "pixels", centre_mask()))
    second, _ = masking.request(MaskRequest(engine.video_key, FRAMES, "pixels", empty))
    gate.set()
    assert engine.wait_idle()
    views = inbox.of(MaskedView)
    assert [v.request for v in views] == [second]  # the stale request never delivered
    assert views[0].variants == () and "paint" in views[0].note


def test_errors_are_reported_not_raised(setup) -> None:
    engine, masking, inbox = setup
    wrong = PixelMask(np.ones((10, 10), bool))
    rid, _ = masking.request(MaskRequest(engine.video_key, FRAMES, "pixels", wrong))
    assert engine.wait_idle()
    (error,) = inbox.of(MaskError)
    assert error.request == rid and "10x10" in error.message and error.kind == "usage"


def test_export_equals_the_cli_function(setup, small_video, tmp_path) -> None:
    engine, masking, inbox = setup
    req = MaskRequest(engine.video_key, FRAMES, "pixels", centre_mask(), fill="blur")
    out = tmp_path / "masked.png"
    masking.export(out, req)
    assert engine.wait_idle()
    assert inbox.of(TaskDone)[0].result == out
    from PIL import Image

    with open_video(small_video) as video:
        expected = mask_comparison_image(video, [load_encoder("pixels")], list(FRAMES), MaskSettings(mask=centre_mask(), fill="blur"))
    np.testing.assert_array_equal(np.asarray(Image.open(out).convert("RGB")), expected)


def test_export_draws_the_panes_colours_with_the_chosen_components(setup, small_video) -> None:
    """The panes show components 2, 1, 3 as R, G, B: the export computes the same images."""
    from jepa_studio.export.masked import masked_views

    engine, masking, inbox = setup
    req = MaskRequest(engine.video_key, FRAMES, "pixels", centre_mask(), fill="mean", channels=(1, 0, 2))
    rid, _ = masking.request(req)
    assert engine.wait_idle()
    (pane_view,) = [m for m in inbox.of(MaskedView) if m.request == rid]
    with open_video(small_video) as video:
        _, _, (exported,) = masked_views(video, [load_encoder("pixels")], list(FRAMES),
                                         MaskSettings(mask=centre_mask(), fill="mean", channels=(1, 0, 2)))
        _, _, (default,) = masked_views(video, [load_encoder("pixels")], list(FRAMES),
                                        MaskSettings(mask=centre_mask(), fill="mean"))
    np.testing.assert_array_equal(exported.full, pane_view.full)
    np.testing.assert_array_equal(exported.variants[0].predicted, pane_view.variants[0].predicted)
    np.testing.assert_array_equal(exported.variants[0].error, pane_view.variants[0].error)
    assert not np.array_equal(default.full, pane_view.full)  # the components matter
