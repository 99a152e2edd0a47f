"""Shared test set-up: Qt offscreen, fixed seeds."""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


import pytest


@pytest.fixture(scope="session")
def tiny_vjepa2(tmp_path_factory):
    """A tiny random V-JEPA 2 folder (encoder and predictor) carrying the random-weights marker."""
    from tests.tiny_models import save_tiny_model

    return save_tiny_model("vjepa2", tmp_path_factory.mktemp("models") / "tiny-vjepa2")
