"""Can this machine show a Qt window? Asked before the QApplication exists, because Qt answers a
missing platform library with a C++ abort ("Could not load the Qt platform plugin") and no hint.

On Linux with X11 (Qt's ``xcb`` platform), the plugin needs a few system libraries that
minimal installs lack: it is loaded here the way Qt would load it, and the system's own
message names the missing library.
"""

from __future__ import annotations

import ctypes
import importlib.util
import os
import sys
from pathlib import Path

#: what to install, per package manager, for Qt's X11 plugin
XCB_PACKAGES = (
    "Debian/Ubuntu: sudo apt-get install libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-shape0 "
    "libxkbcommon-x11-0; Fedora: sudo dnf install xcb-util-cursor xcb-util-wm xcb-util-keysyms"
)


def xcb_plugin() -> Path | None:
    """The Qt X11 platform plugin of the installed PySide6 (None when there is none)."""
    spec = importlib.util.find_spec("PySide6")  # found, not imported: Qt is loaded by the window only
    if spec is None or spec.origin is None:
        return None
    path = Path(spec.origin).parent / "Qt" / "plugins" / "platforms" / "libqxcb.so"
    return path if path.is_file() else None


def display_problem(platform: str = sys.platform, environ: dict[str, str] | None = None) -> str:
    """Why a window cannot open here, in one line ("" when nothing is known to be wrong)."""
    env = dict(os.environ if environ is None else environ)
    if not platform.startswith("linux"):
        return ""
    chosen = env.get("QT_QPA_PLATFORM", "")
    if chosen and not chosen.startswith("xcb"):
        return ""  # offscreen, wayland, vnc ...: Qt's other plugins need nothing extra
    if not chosen and env.get("WAYLAND_DISPLAY"):
        return ""
    if not env.get("DISPLAY"):
        return ("no display to open the window on (DISPLAY is not set): run it on a desktop, or use the "
                "headless commands (jepa-studio --help)")
    plugin = xcb_plugin()
    if plugin is None:
        return ""
    try:
        ctypes.CDLL(str(plugin))
    except OSError as error:
        missing = str(error).split(":")[0].strip()
        return f"the window needs a system library Qt cannot find ({missing}); install it: {XCB_PACKAGES}"
    return ""
