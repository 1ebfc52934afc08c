"""Shared fixtures: the real committed model, real MNIST, real UNIPEN files. No mocks."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED_DATA = REPO.parent / "shared" / "data"
UNIPEN_DEV = SHARED_DATA / "unipen-dev.jsonl.gz"

if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))


@pytest.fixture(scope="session")
def predictor():
    from digits.model import Predictor

    return Predictor.load()


@pytest.fixture(scope="session")
def mnist():
    from digits.data import load_mnist

    return load_mnist()


@pytest.fixture(scope="session")
def unipen_dev() -> Path:
    if not UNIPEN_DEV.is_file():
        pytest.skip(f"UNIPEN dev file not found at {UNIPEN_DEV} (it lives in ../shared/data beside the repo)")
    return UNIPEN_DEV


def stroke(*points: tuple[float, float]) -> np.ndarray:
    return np.asarray(points, float)
