"""The World model dock's options without Qt: the CLI's defaults, a run's settings, persistence."""

from __future__ import annotations

import dataclasses

import pytest

from jepa_studio.errors import UsageError
from jepa_studio.state.session import Session
from jepa_studio.state.world import WorldSettings, WorldState
from jepa_studio.world.settings import DEFAULTS


class Store(dict):
    def value(self, key):
        return self.get(key)

    def set_value(self, key, value):
        self[key] = value


def test_the_window_trains_with_the_clis_defaults() -> None:
    state = WorldState(Session(("pixels", "pixels-tubelet")))
    settings = state.settings()
    # medium is the CLI's model size: the whole training setup is jepa-studio compare's
    assert settings.training == dataclasses.replace(DEFAULTS)
    assert settings.latents == "causal" and settings.encoders == ("pixels", "pixels-tubelet")


def test_options_make_the_run() -> None:
    session = Session(("pixels", "pixels-tubelet"))
    session.set_resolution(48)
    state = WorldState(session)
    state.options.update(encoders=("pixels-tubelet",), source="pendulum", episodes=3, latents="window",
                         decoder_steps=7, transition_steps=9, size="small", target="layer_norm", history=2,
                         resolution=80)
    s = state.settings()
    assert s.encoders == ("pixels-tubelet",)
    assert (s.data.source, s.data.episodes, s.data.size) == ("pendulum", 3, 80)
    t = s.training
    assert (t.latents, t.decoder_steps, t.transition_steps, t.history) == ("window", 7, 9, 2)
    assert (t.width, t.depth, t.heads, t.decoder_hidden) == (64, 2, 4, 32)
    # the panes' resolution picks the engine's encoder; the world model encodes at its own
    assert s.target == "layer_norm" and s.resolution == 48
    assert s.short_side == s.on_device("cpu").short_side == 80


def test_bad_options_change_nothing_and_overrides_reach_both_levels() -> None:
    state = WorldState(Session())
    with pytest.raises(ValueError):
        state.options.update(latents="future")
    assert state.options.latents == "causal"
    state.overrides = {"width": 16, "val_every": 3}
    s = state.settings()
    assert s.training.width == 16 and s.val_every == 3
    state.overrides = {"no_such_field": 1}
    with pytest.raises(UsageError):
        state.settings()


def test_nothing_checked_is_a_usage_error() -> None:
    state = WorldState(Session(("pixels",)))
    state.options.update(encoders=())
    with pytest.raises(UsageError, match="at least one encoder"):
        state.settings()


def test_options_persist_and_a_damaged_value_keeps_the_default() -> None:
    store = Store()
    a = WorldState(Session())
    a.options.update(latents="per-frame", transition_steps=1234, source="pendulum")
    a.options.save(store, "world")
    store["world/history"] = "many"
    b = WorldState(Session())
    b.options.load(store, "world")
    assert (b.options.latents, b.options.transition_steps, b.options.source) == ("per-frame", 1234, "pendulum")
    assert b.options.history == DEFAULTS.history


def test_settings_of_flat_fields() -> None:
    s = WorldSettings.of(("pixels",), horizon=7, target="layer_norm")
    assert s.horizon == 7 and s.training.horizon == 7 and s.target == "layer_norm"
    with pytest.raises(UsageError):
        WorldSettings.of(("pixels",), steps=3)


def test_checked_encoders_are_not_restored_as_text() -> None:
    store = Store()
    a = WorldState(Session(("pixels", "pixels-tubelet")))
    a.options.update(encoders=("pixels-tubelet",))
    a.options.save(store, "world")
    b = WorldState(Session(("pixels", "pixels-tubelet")))
    b.options.load(store, "world")
    assert b.chosen_encoders() == ("pixels", "pixels-tubelet")  # every encoder, never a string's letters
