"""Fixtures: a small video dataset made once per session, a Ray started once per session."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from dataset_helpers import make_dataset


@pytest.fixture(scope="session")
def dataset_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_dataset(tmp_path_factory.mktemp("dataset"))


@pytest.fixture
def dataset(dataset_template: Path, tmp_path: Path) -> Path:
    """A fresh copy of the dataset (same modification times) that a test may change."""
    return Path(shutil.copytree(dataset_template, tmp_path / "in"))


@pytest.fixture(scope="session")
def ray_cluster():
    """A local Ray with 2 CPUs, started once for the session's Ray tests, then shut down."""
    ray = pytest.importorskip("ray")
    from jepa_studio.dataset.ray_engine import start_ray

    start_ray(num_cpus=2, num_gpus=0, object_store_memory=256 * 1024**2)
    yield ray
    ray.shutdown()
