"""The studio engine without Qt: views match the pipeline computed directly, caches,
prefetch, similarity, stale drop, errors that keep the previous video."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest
import torch

from jepa_studio.analysis.pca import fit_pca
from jepa_studio.encoders import load_encoder
from jepa_studio.engine import (
    ErrorReport,
    FrameReady,
    PaneError,
    PaneImage,
    StudioEngine,
    VideoOpened,
    make_request,
)
from jepa_studio.render.colormap import apply_colormap
from engine_helpers import Inbox

from jepa_studio.state import ClipWindow, ViewSettings
from jepa_studio.video import open_video




@pytest.fixture
def engine_and_inbox(small_video: Path):
    inbox = Inbox()
    engine = StudioEngine(inbox)
    engine.open_video(small_video)
    assert engine.wait_idle()
    assert len(inbox.of(VideoOpened)) == 1
    yield engine, inbox
    engine.close()


def test_open_video_reports_its_metadata(engine_and_inbox, small_video: Path) -> None:
    engine, inbox = engine_and_inbox
    opened = inbox.of(VideoOpened)[0]
    assert (opened.n_frames, opened.size, opened.fps) == (20, (96, 64), 10.0)
    assert opened.path == small_video


def test_pane_shows_the_pca_of_the_playheads_time_step(engine_and_inbox, small_video: Path) -> None:
    engine, inbox = engine_and_inbox
    clip = ClipWindow(frames_per_clip=8, stride=1)
    req = make_request(engine.video_key, 11, clip, 20, ("pixels", "pixels-tubelet"), ViewSettings())
    generation, ready = engine.request_view(req)
    assert ready == {}
    assert engine.wait_idle()
    panes = {m.encoder: m for m in inbox.of(PaneImage) if m.generation == generation}
    assert set(panes) == {"pixels", "pixels-tubelet"}

    # the same pipeline, computed directly: frames 8..15, pixels -> step 3, tubelet -> step 1
    with open_video(small_video) as video:
        frames = video.clip(8, 8, 1)
    for name, step, covered in (("pixels", 3, (11,)), ("pixels-tubelet", 1, (10, 11))):
        feats = load_encoder(name).encode(frames, list(range(8, 16)))
        expected = fit_pca(feats, 3).to_rgb(feats)[step]
        pane = panes[name]
        assert pane.covered == covered
        assert pane.time_step == step
        assert pane.crop_box == (0, 0, 96, 64)
        np.testing.assert_array_equal(pane.image, expected)


def test_cached_view_is_ready_at_once_and_not_recomputed(engine_and_inbox) -> None:
    engine, inbox = engine_and_inbox
    clip = ClipWindow(8, 1)
    req = make_request(engine.video_key, 2, clip, 20, ("pixels",), ViewSettings())
    engine.request_view(req)
    assert engine.wait_idle()
    count = engine.encode_count
    # another frame of the same clip: answered synchronously from the render cache
    generation, ready = engine.request_view(make_request(engine.video_key, 5, clip, 20, ("pixels",), ViewSettings()))
    assert set(ready) == {"pixels"} and ready["pixels"].covered == (5,)
    assert ready["pixels"].generation == generation
    assert engine.wait_idle()
    # the same features with other PCA channels: recoloured without running the encoder
    engine.request_view(make_request(engine.video_key, 5, clip, 20, ("pixels",), ViewSettings(channels=(2, 1, 0))))
    assert engine.wait_idle()
    # another map kind on the same clip: the features come from the feature cache
    engine.request_view(make_request(engine.video_key, 5, clip, 20, ("pixels",), ViewSettings(map_kind="difference")))
    assert engine.wait_idle()
    assert engine.encode_count == count


def test_neighbouring_clip_is_prefetched_while_idle(engine_and_inbox) -> None:
    engine, inbox = engine_and_inbox
    clip = ClipWindow(8, 1)
    engine.request_view(make_request(engine.video_key, 9, clip, 20, ("pixels",), ViewSettings()))
    assert engine.wait_idle()
    # clip 1 (frames 8-15) was asked for; clips 2 (16-19) and 0 (0-7) were prefetched
    for playhead in (17, 3):
        ready = engine.cached_panes(make_request(engine.video_key, playhead, clip, 20, ("pixels",), ViewSettings()))
        assert "pixels" in ready


def test_similarity_map_matches_cosine_similarity_by_hand(engine_and_inbox, small_video: Path) -> None:
    engine, inbox = engine_and_inbox
    clip = ClipWindow(4, 2)  # frames 8, 10, 12, 14 around the playhead 12
    view = ViewSettings(map_kind="similarity", query=(50.0, 30.0, 12))
    generation, _ = engine.request_view(make_request(engine.video_key, 12, clip, 20, ("pixels",), view))
    assert engine.wait_idle()
    pane = [m for m in inbox.of(PaneImage) if m.generation == generation][0]
    with open_video(small_video) as video:
        frames = video.clip(8, 4, 2)
    feats = load_encoder("pixels").encode(frames, [8, 10, 12, 14])
    tokens = feats.tokens  # [4, h, w, 768]: the short side is resized to 256 pixels
    _, h, w, _ = tokens.shape
    assert (h, w) == (16, 24)
    q = tokens[2, int(30 / 64 * h), int(50 / 96 * w)]  # pixel (50, 30) of frame 12 (step 2)
    sim = (tokens @ q) / (tokens.norm(dim=-1) * q.norm())
    expected = apply_colormap(sim[2].numpy(), vmin=-1.0, vmax=1.0, name="coolwarm")
    np.testing.assert_array_equal(pane.image, expected)
    assert pane.covered == (12,)


def test_similarity_query_from_another_clip_uses_that_clips_token(engine_and_inbox, small_video: Path) -> None:
    engine, inbox = engine_and_inbox
    clip = ClipWindow(4, 1)
    view = ViewSettings(map_kind="similarity", query=(10.0, 10.0, 1))  # clicked on frame 1
    generation, _ = engine.request_view(make_request(engine.video_key, 6, clip, 20, ("pixels",), view))
    assert engine.wait_idle()
    pane = [m for m in inbox.of(PaneImage) if m.generation == generation][0]
    with open_video(small_video) as video:
        q = load_encoder("pixels").encode(video.clip(0, 4, 1)).tokens[1, 2, 2]  # (10, 10) -> row, col 2
        feats = load_encoder("pixels").encode(video.clip(4, 4, 1))
    sim = torch.nn.functional.cosine_similarity(feats.tokens[2], q.expand_as(feats.tokens[2]), dim=-1)
    np.testing.assert_array_equal(pane.image, apply_colormap(sim.numpy(), vmin=-1.0, vmax=1.0, name="coolwarm"))


def test_temporal_difference_needs_two_steps(engine_and_inbox) -> None:
    engine, inbox = engine_and_inbox
    view = ViewSettings(map_kind="difference")
    g1, _ = engine.request_view(make_request(engine.video_key, 3, ClipWindow(1, 1), 20, ("pixels",), view))
    assert engine.wait_idle()
    pane = [m for m in inbox.of(PaneImage) if m.generation == g1][0]
    assert pane.image is None and "2 time steps" in pane.note
    g2, _ = engine.request_view(make_request(engine.video_key, 3, ClipWindow(4, 1), 20, ("pixels",), view))
    assert engine.wait_idle()
    pane = [m for m in inbox.of(PaneImage) if m.generation == g2][0]
    assert pane.image.shape == (16, 24, 3) and pane.image.dtype == np.uint8


def test_unknown_encoder_reports_in_its_pane_and_others_still_show(engine_and_inbox) -> None:
    engine, inbox = engine_and_inbox
    req = make_request(engine.video_key, 0, ClipWindow(2, 1), 20, ("no-such-encoder", "pixels"), ViewSettings())
    generation, _ = engine.request_view(req)
    assert engine.wait_idle()
    errors = [m for m in inbox.of(PaneError) if m.generation == generation]
    assert len(errors) == 1 and errors[0].encoder == "no-such-encoder" and errors[0].kind == "encoder"
    assert "no-such-encoder" in errors[0].message
    assert [m.encoder for m in inbox.of(PaneImage) if m.generation == generation] == ["pixels"]


def test_bad_file_reports_and_keeps_the_open_video(engine_and_inbox, tmp_path: Path, small_video: Path) -> None:
    engine, inbox = engine_and_inbox
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"this is not a video" * 10)
    key = engine.video_key
    request = engine.open_video(bad)
    assert engine.wait_idle()
    reports = [m for m in inbox.of(ErrorReport) if m.request == request]
    assert len(reports) == 1 and reports[0].kind == "video" and "broken.mp4" in reports[0].message
    assert engine.video_key == key and engine.video_path == small_video
    assert engine.request_frame(3) is None  # still serves frames of the open video
    assert engine.wait_idle()
    served = [m for m in inbox.of(FrameReady) if m.frame == 3]
    with open_video(small_video) as video:
        np.testing.assert_array_equal(served[-1].image, video[3])


def test_frames_come_from_the_io_lane_and_then_the_cache(engine_and_inbox, small_video: Path) -> None:
    engine, inbox = engine_and_inbox
    assert engine.request_frame(7) is None
    assert engine.wait_idle()
    ready = [m for m in inbox.of(FrameReady) if m.frame == 7]
    with open_video(small_video) as video:
        np.testing.assert_array_equal(ready[-1].image, video[7])
    np.testing.assert_array_equal(engine.request_frame(7), ready[-1].image)


def test_stale_view_results_are_dropped(engine_and_inbox) -> None:
    engine, inbox = engine_and_inbox
    gate = threading.Event()
    loaded = threading.Event()

    def slow_loader(name: str, device=None):
        loaded.set()
        gate.wait(5)
        return load_encoder(name)

    engine._models._load = slow_loader
    clip = ClipWindow(4, 1)
    old, _ = engine.request_view(make_request(engine.video_key, 0, clip, 20, ("pixels",), ViewSettings()))
    assert loaded.wait(5)
    new, _ = engine.request_view(make_request(engine.video_key, 13, clip, 20, ("pixels",), ViewSettings()))
    gate.set()
    assert engine.wait_idle()
    generations = {m.generation for m in inbox.of(PaneImage)}
    assert new in generations and old not in generations
