"""Qt-free state: session events, clip window, view settings, persistent settings."""

from __future__ import annotations

from pathlib import Path

import pytest

from jepa_studio.state import AppSettings, ClipWindow, MemorySettings, Session, VideoMeta, ViewSettings


def test_clip_window_is_aligned_and_cut_at_the_end() -> None:
    clip = ClipWindow(frames_per_clip=4, stride=2)
    assert clip.span == 8
    assert clip.frames_around(0, 30) == (0, 2, 4, 6)
    assert clip.frames_around(13, 30) == (8, 10, 12, 14)
    assert clip.frames_around(29, 30) == (24, 26, 28)  # the last clip is shorter
    assert clip.frames_around(500, 30) == (24, 26, 28)  # clamped to the video
    assert clip.clip_count(30) == 4
    assert clip.frames_of_clip(4, 30) == ()
    with pytest.raises(ValueError):
        ClipWindow(0, 1)


def test_session_emits_changes_once_and_clamps_the_playhead() -> None:
    session = Session()
    events: list[tuple[str, object]] = []
    unsubscribe = session.subscribe(lambda name, value: events.append((name, value)))
    session.set_video(VideoMeta(Path("a.mp4"), 50, 25.0, (64, 48)))
    assert events[-1] == ("playhead", 0)
    events.clear()
    assert session.set_playhead(80) == 49
    assert session.set_playhead(49) == 49  # no change, no event
    assert session.step(-60) == 0
    assert events == [("playhead", 49), ("playhead", 0)]
    assert session.time_of(50) == pytest.approx(2.0)
    session.set_clip(frames_per_clip=8)
    session.add_encoder("dinov2-small")
    session.add_encoder("pixels")  # already there
    session.remove_encoder("pixels-tubelet")
    assert session.encoders == ("pixels", "dinov2-small")
    session.update_view(map_kind="similarity", query=(3.0, 4.0, 0))
    assert [name for name, _ in events[2:]] == ["clip", "encoders", "encoders", "view"]
    # a new video clears the similarity query
    session.set_video(VideoMeta(Path("b.mp4"), 10, 25.0, (64, 48)))
    assert session.view.query is None
    unsubscribe()
    n = len(events)
    session.set_playhead(5)
    assert len(events) == n


def test_view_settings_validate_and_render_key_ignores_overlay() -> None:
    with pytest.raises(ValueError):
        ViewSettings(map_kind="nope")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        ViewSettings(overlay_opacity=1.5)
    a = ViewSettings(overlay=False)
    b = ViewSettings(overlay=True, overlay_opacity=0.2)
    assert a.render_key() == b.render_key()
    assert ViewSettings(channels=(2, 1, 0)).render_key() != a.render_key()
    # PCA settings do not change a similarity map
    s1 = ViewSettings(map_kind="similarity", channels=(0, 1, 2), query=(1.0, 1.0, 0))
    s2 = ViewSettings(map_kind="similarity", channels=(3, 4, 5), query=(1.0, 1.0, 0))
    assert s1.render_key() == s2.render_key()


def test_app_settings_recent_files_encoders_device(tmp_path: Path) -> None:
    store = MemorySettings()
    settings = AppSettings(store)
    assert settings.first_run()
    assert settings.encoders(("pixels",)) == ("pixels",)
    for i in range(12):
        settings.add_recent_file(tmp_path / f"{i}.mp4")
    settings.add_recent_file(tmp_path / "3.mp4")
    recent = settings.recent_files()
    assert len(recent) == 10 and recent[0] == (tmp_path / "3.mp4").resolve()
    assert recent.count((tmp_path / "3.mp4").resolve()) == 1
    settings.remove_recent_file(tmp_path / "3.mp4")
    assert (tmp_path / "3.mp4").resolve() not in settings.recent_files()
    settings.set_encoders(("pixels", "vjepa2-vitl"))
    settings.set_device("cpu")
    settings.mark_started()
    again = AppSettings(store)
    assert again.encoders(()) == ("pixels", "vjepa2-vitl")
    assert again.device() == "cpu" and not again.first_run()
    # QSettings hands back a bare string for a one-element list
    store.set_value("encoders", "pixels")
    assert again.encoders(()) == ("pixels",)
