"""Fixtures for the world-model tests: one torch thread (fast and deterministic on a shared CPU),
tiny pendulum clips and their pixel features."""

from __future__ import annotations

import pytest
import torch



@pytest.fixture(autouse=True)
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def episodes():
    from jepa_studio.video.pendulum import pendulum_dataset

    return pendulum_dataset(3, 24, seed=1, size=32)
