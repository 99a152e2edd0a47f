"""``jepa-studio [VIDEO] [--device DEV]``: the studio window.

Called by :func:`jepa_studio.cli.main` when no subcommand is given.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Sequence

from ..errors import UsageError


def build_parser() -> argparse.ArgumentParser:
    from . import ArgumentParser

    parser = ArgumentParser(
        prog="jepa-studio",
        description="The JEPA Studio window: scrub a video and compare what encoders see. "
        "Headless subcommands: jepa-studio --help.",
    )
    parser.add_argument("video", nargs="?", help="video file or folder of images to open (default: the last one, or the sample)")
    parser.add_argument("--device", help="auto, cpu, cuda, cuda:N or mps (remembered)")
    parser.add_argument("--encoders", help="comma-separated encoders to show, e.g. pixels,vjepa2-vitl (remembered)")
    return parser


def run(argv: Sequence[str]) -> int:
    """Start the window; returns the exit status when it closes."""
    args = build_parser().parse_args(list(argv))
    if args.video is not None and not Path(args.video).exists():
        raise UsageError(f"{args.video}: no such file or folder")
    from .display import display_problem

    problem = display_problem()
    if problem:
        raise UsageError(problem)

    from PySide6.QtWidgets import QApplication  # PySide6 before qasync

    import asyncio

    import qasync

    from ..ui.shell.window import MainWindow
    from ..ui.shell.theme import apply_theme

    app = QApplication.instance() or QApplication([sys.argv[0] if sys.argv else "jepa-studio"])
    app.setApplicationName("JEPA Studio")
    app.setOrganizationName("JEPA Studio")
    apply_theme(app)
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)

    window = MainWindow()
    if args.device:
        window.session.set_device(args.device)
    if args.encoders:
        window.session.set_encoders([e.strip() for e in args.encoders.split(",")])
    window.show()
    if args.video is not None:
        window.open_path(args.video)
    else:
        recent = [p for p in window.app_settings.recent_files() if p.exists()]
        if recent and not window.app_settings.first_run():
            window.open_path(recent[0])
        else:
            window.open_sample()

    closed = asyncio.Event()
    app.aboutToQuit.connect(closed.set)
    with loop:
        loop.run_until_complete(closed.wait())
    return 0
