"""The panes read any layer of any encoder: the engine keys features and renders on the
layer, labels say which, pixel baselines ignore it, a layer that does not exist fails in its pane."""

from __future__ import annotations

import numpy as np
import pytest

from jepa_studio.encoders import load_encoder
from jepa_studio.engine import PaneError, PaneImage, StudioEngine, make_request
from jepa_studio.engine.feature_cache import FeatureKey
from jepa_studio.maps import ClipContext, get
from jepa_studio.state import ClipWindow, Reading, ViewSettings
from jepa_studio.video import open_video
from engine_helpers import Inbox

RES = 64


@pytest.fixture(scope="module")
def tiny_dino(tmp_path_factory):
    from tests.tiny_models import save_tiny_model

    return save_tiny_model("dinov2", tmp_path_factory.mktemp("models") / "tiny-dinov2")


@pytest.fixture
def engine(small_video):
    inbox = Inbox()
    engine = StudioEngine(inbox, prefetch=False)
    engine.open_video(small_video)
    assert engine.wait_idle()
    yield engine, inbox
    engine.close()


def view(engine, name: str, reading: Reading) -> PaneImage | PaneError:
    studio, inbox = engine
    generation, ready = studio.request_view(
        make_request(studio.video_key, 0, ClipWindow(4, 1), 20, (name,), ViewSettings(), "auto", RES, reading)
    )
    assert studio.wait_idle()
    if name in ready:  # rendered before: answered at once
        return ready[name]
    return [m for m in inbox.messages if isinstance(m, (PaneImage, PaneError)) and m.generation == generation][-1]


def test_a_pane_shows_the_chosen_layer(engine, tiny_dino, small_video) -> None:
    name = str(tiny_dino)
    studio, _ = engine
    shallow = view(engine, name, Reading(1, final_norm=False))
    assert isinstance(shallow, PaneImage) and "layer 1, no final norm" in shallow.label
    with open_video(small_video) as video:
        clip = video.clip(0, 4, 1)
    direct = load_encoder(name, resolution=RES, layer=1, final_norm=False).encode(clip, [0, 1, 2, 3])
    expected = get("pca").compute(direct, ViewSettings(), ClipContext(direct)).images[0]
    np.testing.assert_array_equal(shallow.image, expected)
    encodes = studio.encode_count
    default = view(engine, name, Reading())
    assert studio.encode_count == encodes + 1  # another layer is other features, not a cache hit
    assert "layer" not in default.label and not np.array_equal(default.image, shallow.image)
    assert view(engine, name, Reading(1, final_norm=False)).image is not None
    assert studio.encode_count == encodes + 1  # back to layer 1: from the caches
    # the cache key names the layer
    enc = load_encoder(name, resolution=RES)
    enc.layer = 1
    assert FeatureKey.create(small_video, enc, [0]) != FeatureKey.create(small_video, load_encoder(name, resolution=RES), [0])


def test_pixels_ignore_the_layer_and_a_missing_layer_fails_in_its_pane(engine, tiny_dino) -> None:
    default = view(engine, "pixels", Reading())
    deep = view(engine, "pixels", Reading(-4, final_norm=False))
    np.testing.assert_array_equal(default.image, deep.image)
    missing = view(engine, str(tiny_dino), Reading(9))
    assert isinstance(missing, PaneError) and "no layer 9" in missing.message


def test_reading_parses_what_a_user_types() -> None:
    assert Reading.parse("last") == Reading() and Reading.parse(" -4 ") == Reading(-4)
    assert Reading.parse("8 (block)", final_norm=False) == Reading(8, False)
    with pytest.raises(ValueError, match="whole number"):
        Reading.parse("middle")
