"""``jepa-studio``: the GUI (``jepa-studio [VIDEO]``) and headless subcommands.

Each subcommand lives in its own module of this package with two functions:
``register(subparsers)`` adds its parser (and ``set_defaults(run=run)``), and
``run(args) -> int`` does the work through the same core functions as the GUI.
Errors a user can cause (:class:`~jepa_studio.errors.JepaStudioError`) end in one line on
stderr and exit status 2; nothing else is caught here.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import NoReturn, Sequence

from ..errors import JepaStudioError

#: subcommand modules, in the order ``--help`` lists them
COMMANDS: tuple[str, ...] = ("export", "extract", "mask", "compare", "track", "surprise")


class ArgumentParser(argparse.ArgumentParser):
    """argparse, but a bad argument is one line on stderr (no usage dump), exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")

    def parse_known_args(self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None):  # type: ignore[override]
        """As argparse, but ``--frames -16:`` (a range counted from the end) is read as a value."""
        from .common import attach_dash_values

        words = sys.argv[1:] if args is None else args
        return super().parse_known_args(attach_dash_values(words), namespace)


def build_parser() -> argparse.ArgumentParser:
    """The full parser: ``jepa-studio SUBCOMMAND ...``."""
    parser = ArgumentParser(
        prog="jepa-studio",
        description="See what V-JEPA 2, DINOv2 and DINOv3 learned, on your own videos. "
        "Without a subcommand, opens the studio window (optionally on VIDEO).",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"{__name__}.{name}").register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script and of ``python -m jepa_studio``."""
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        if argv and argv[0] in COMMANDS or argv[:1] in (["-h"], ["--help"]):
            args = build_parser().parse_args(argv)
            return int(args.run(args) or 0)
        from . import gui

        return gui.run(argv)
    except JepaStudioError as error:
        print(f"jepa-studio: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("jepa-studio: interrupted", file=sys.stderr)
        return 130
