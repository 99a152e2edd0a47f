"""Before the window: a machine that cannot show it gets one line saying what to install."""

from __future__ import annotations

import ctypes

import pytest

from jepa_studio.cli import main
from jepa_studio.cli import display


def test_a_missing_x11_library_is_named_with_what_to_install(monkeypatch, tmp_path) -> None:
    plugin = tmp_path / "libqxcb.so"
    plugin.write_bytes(b"not a library")
    monkeypatch.setattr(display, "xcb_plugin", lambda: plugin)

    def missing(path: str) -> None:
        raise OSError("libxcb-cursor.so.0: cannot open shared object file: No such file or directory")

    monkeypatch.setattr(ctypes, "CDLL", missing)
    problem = display.display_problem("linux", {"DISPLAY": ":0"})
    assert "libxcb-cursor.so.0" in problem and "apt-get install libxcb-cursor0" in problem


@pytest.mark.parametrize("env,expected", [
    ({}, "DISPLAY is not set"),
    ({"QT_QPA_PLATFORM": "offscreen"}, ""),
    ({"WAYLAND_DISPLAY": "wayland-0"}, ""),
])
def test_other_platforms_need_no_x11_library(env, expected) -> None:
    assert expected in display.display_problem("linux", env) and (expected or not display.display_problem("linux", env))
    assert display.display_problem("darwin", env) == ""


def test_the_launcher_stops_with_one_line_before_qt_starts(monkeypatch, capsys) -> None:
    monkeypatch.setattr(display, "display_problem", lambda: "no display to open the window on (DISPLAY is not set)")
    assert main([]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("jepa-studio: error: no display") and "\n" not in err
