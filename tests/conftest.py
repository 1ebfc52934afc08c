"""Shared fixtures: the real committed model, real MNIST, real UNIPEN files. No mocks."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parent.parent
UNIPEN_DEV = REPO / "data" / "unipen-dev.jsonl.gz"
UNIPEN_NONDIGIT_DEV = REPO / "data" / "unipen-nondigit-dev.jsonl.gz"

if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))


@pytest.fixture(scope="session")
def predictor():
    from digits.model import Predictor

    return Predictor.load()


@pytest.fixture(scope="session")
def reader():
    """The answer the app gives: the committed models and their calibration (digits.answer.Reader)."""
    from digits.answer import Reader

    return Reader.load()


@pytest.fixture(scope="session")
def mnist():
    from digits.data import load_mnist

    return load_mnist()


@pytest.fixture(scope="session")
def unipen_dev() -> Path:
    return UNIPEN_DEV  # shipped in data/: a missing file is a failure, not a skip


@pytest.fixture(scope="session")
def unipen_nondigit_dev() -> Path:
    return UNIPEN_NONDIGIT_DEV


@pytest.fixture
def app():
    """The app (its Draw page) run once in AppTest, with no exception."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=120)
    at.run()
    assert not at.exception
    return at


def open_page(page: str):
    """The app run in AppTest and switched to one page (e.g. "webapp/pages/number.py")."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=120)
    at.run()
    at.switch_page(page).run()
    assert not at.exception
    return at


@pytest.fixture
def store(tmp_path, monkeypatch):
    """Feedback on, into a fresh database of this test's own."""
    db = tmp_path / "feedback.sqlite3"
    monkeypatch.setenv("DIGITS_FEEDBACK_DB", str(db))
    monkeypatch.setenv("DIGITS_FEEDBACK", "1")
    return db


def stroke(*points: tuple[float, float]) -> np.ndarray:
    return np.asarray(points, float)
