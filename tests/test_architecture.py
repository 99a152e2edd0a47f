"""The shape of the code as checked contracts: the import-linter contracts in pyproject.toml
(layers, independent feature packages, Qt only in ui/, no cycles)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_import_contracts_are_kept() -> None:
    pytest.importorskip("importlinter")
    from importlinter.cli import lint_imports

    cwd = os.getcwd()
    os.chdir(ROOT)  # import-linter reads pyproject.toml from the working folder
    try:
        assert lint_imports(config_filename=str(ROOT / "pyproject.toml"), no_cache=True) == 0, (
            "an import breaks the layering: run `lint-imports` in the repository for the details"
        )
    finally:
        os.chdir(cwd)


#: a module holds one idea: past this many lines it is time to split it
MAX_MODULE_LINES = 600


def test_no_module_is_a_grab_bag() -> None:
    too_long = {
        str(path.relative_to(ROOT)): n
        for path in sorted((ROOT / "jepa_studio").rglob("*.py"))
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES
    }
    assert not too_long, f"modules over {MAX_MODULE_LINES} lines: {too_long}"
