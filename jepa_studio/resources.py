"""Files that ship with JEPA Studio: the sample video.

The sample video lives in ``resources/`` at the repository root. An install that does not
carry it (a wheel, a non-editable install) regenerates it once, with the same generator,
into the user's cache folder.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from .errors import VideoError

SAMPLE_NAME = "sample.mp4"


def bundled_resources_dir() -> Path:
    """``resources/`` next to the package (exists in a checkout or an editable install)."""
    return Path(__file__).resolve().parents[1] / "resources"


def user_cache_dir() -> Path:
    """JEPA Studio's cache folder for this user (not created here).

    ``$XDG_CACHE_HOME/jepa-studio`` when that variable is set; otherwise the platform's
    usual place: ``%LOCALAPPDATA%\\jepa-studio\\Cache`` on Windows,
    ``~/Library/Caches/jepa-studio`` on macOS, ``~/.cache/jepa-studio`` elsewhere.
    """
    xdg = os.environ.get("XDG_CACHE_HOME")
    if xdg:
        return Path(xdg) / "jepa-studio"
    if sys.platform == "win32" and os.environ.get("LOCALAPPDATA"):
        return Path(os.environ["LOCALAPPDATA"]) / "jepa-studio" / "Cache"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / "jepa-studio"
    return Path.home() / ".cache" / "jepa-studio"


def sample_video_path() -> Path:
    """Path of the sample video (640x360, 24 fps, 10 s of a garden scene with moving objects).

    The bundled ``resources/sample.mp4`` when it is there; otherwise the copy in
    :func:`user_cache_dir`, rendered on first use (a few seconds) with
    :func:`jepa_studio.video.sample.write_sample_video`.

    Raises
    ------
    VideoError
        The sample is missing and cannot be written to the cache folder.
    """
    bundled = bundled_resources_dir() / SAMPLE_NAME
    if bundled.is_file():
        return bundled
    cached = user_cache_dir() / SAMPLE_NAME
    if cached.is_file() and cached.stat().st_size > 0:
        return cached
    from .video.sample import write_sample_video

    # write under a temporary name and rename, so a crash never leaves a half-written sample
    tmp = cached.with_name(f".{cached.stem}-{os.getpid()}{cached.suffix}")
    try:
        cached.parent.mkdir(parents=True, exist_ok=True)
        write_sample_video(tmp)
        os.replace(tmp, cached)
    except OSError as error:
        raise VideoError(
            f"the sample video is not bundled and cannot be written to {cached.parent} ({error}); "
            "set XDG_CACHE_HOME to a writable folder"
        ) from error
    finally:
        if tmp.exists():
            tmp.unlink()
    return cached
