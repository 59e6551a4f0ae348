"""Shared test options and fixtures. Nothing here touches the network.

Markers ``slow``, ``gpu`` and ``network`` are skipped unless ``--runslow`` / ``--gpu`` /
``--network`` is given (or EMBODIED_TEST_SLOW / _GPU / _NETWORK=1).
"""

from __future__ import annotations

import os

import numpy as np
import pytest

_FLAGS = {"slow": "--runslow", "gpu": "--gpu", "network": "--network"}


def pytest_addoption(parser):
    for marker, flag in _FLAGS.items():
        parser.addoption(flag, action="store_true", default=False, help=f"run tests marked {marker}")


def pytest_collection_modifyitems(config, items):
    for marker, flag in _FLAGS.items():
        if config.getoption(flag) or os.environ.get(f"EMBODIED_TEST_{marker.upper()}") == "1":
            continue
        skip = pytest.mark.skip(reason=f"needs {flag} (or EMBODIED_TEST_{marker.upper()}=1)")
        for item in items:
            if marker in item.keywords:
                item.add_marker(skip)


@pytest.fixture(autouse=True)
def _no_real_weights_cache(tmp_path_factory, monkeypatch):
    """Point the weights caches at an empty folder so a developer's own cache never changes results."""
    import huggingface_hub.constants

    cache = tmp_path_factory.mktemp("hf_cache")
    monkeypatch.setenv("EMBODIED_CACHE_DIR", str(tmp_path_factory.mktemp("embodied_cache")))  # never the real sim-trained model
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))  # for subprocesses
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(cache))  # read at import time


@pytest.fixture(scope="session")
def tiny_clip():
    """A random-init ``embodied-tiny`` backbone (seed 0) on the CPU, shared by the session."""
    from embodied.clip import ClipBackbone, ClipConfig

    return ClipBackbone(ClipConfig(model="embodied-tiny", random_init=True, seed=0, device="cpu", batch_size=4))


@pytest.fixture
def images():
    """Five random (48, 64, 3) uint8 images, fixed seed."""
    return np.random.default_rng(0).integers(0, 256, (5, 48, 64, 3), dtype=np.uint8)


@pytest.fixture(scope="session")
def ray_session():
    """Ray for the --ray tests: the runners start a local instance on first use (RAY_ADDRESS unset);
    it is shut down once, after the last test, instead of once per test (each start takes seconds)."""
    ray = pytest.importorskip("ray")
    yield ray
    if ray.is_initialized():
        ray.shutdown()
