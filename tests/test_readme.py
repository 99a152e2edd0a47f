"""The README's promises: its two commands, its figure, and CI running its test command."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    set_up = text.split("## Set up", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```\n(.+?)\n```", set_up)


def test_readme_has_exactly_two_set_up_commands():
    commands = _commands()
    assert len(commands) == 2
    assert commands[0].endswith("jepa-studio") and "torch==2.13.0" in commands[0]
    assert commands[1].endswith("python -m pytest") and '".[test,ray]"' in commands[1]  # Ray's tests run too


def test_ci_runs_the_readme_test_command_verbatim():
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert _commands()[1] in ci


def test_readme_figures_exist():
    text = (ROOT / "README.md").read_text()
    figures = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text)
    assert figures
    for figure in figures:
        assert (ROOT / figure).is_file(), figure
