"""Odd drawings never crash the page: each gets an answer or a clear hint, never a traceback."""

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from digits.preprocess import preprocess_canvas
from digits.render import draw
from tests.conftest import stroke
from tests.test_app import APP, canvas_state, prediction_shown

rng = np.random.default_rng(0)


def painted(value: int) -> np.ndarray:
    rgba = np.full((280, 280, 4), value, np.uint8)
    rgba[..., 3] = 255
    return rgba


CASES = {
    "empty": painted(0),
    "single dot": draw([stroke((140, 140))]),
    "tiny dot at the corner": draw([stroke((1, 1))], width=1),
    "fully painted": painted(255),
    "faint grey everywhere": painted(10),
    "long scribble": draw([rng.uniform(10, 270, (400, 2))]),
    "ink only at the edge": draw([stroke((0, 0), (279, 0))], width=4),
    "frame around the border": draw([stroke((2, 2), (277, 2), (277, 277), (2, 277), (2, 2))], width=4),
    "transparent canvas": np.zeros((280, 280, 4), np.uint8),
}


@pytest.mark.parametrize("name", CASES)
def test_preprocessing_never_fails(name):
    x = preprocess_canvas(CASES[name])
    if name in ("empty", "faint grey everywhere", "transparent canvas"):
        assert x is None  # nothing a person drew
    else:
        assert x.shape == (28, 28) and np.isfinite(x).all() and 0 <= x.min() <= x.max() <= 1


@pytest.fixture(scope="module")
def app():
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    return at


@pytest.mark.parametrize("name", CASES)
def test_the_page_answers_or_hints(app, name):
    app.session_state["canvas"] = canvas_state(CASES[name])
    app.run()
    assert not app.exception
    if preprocess_canvas(CASES[name]) is None:
        assert prediction_shown(app) is None and app.info
    else:
        assert prediction_shown(app) is not None or app.warning


def test_a_broken_canvas_payload_is_treated_as_empty(app):
    app.session_state["canvas"] = {"drawing": {"raw": {"objects": []}, "data": None}}
    app.run()
    assert not app.exception and prediction_shown(app) is None


@pytest.mark.parametrize("url", ["data:image/png;base64,AAAA", "data:image/png;base64,", "no comma at all"])
def test_a_damaged_image_payload_gets_a_note(app, url):
    app.session_state["canvas"] = {"drawing": {"raw": {"objects": [{"type": "path"}]}, "data": url}}
    app.run()
    assert not app.exception
    assert any("could not be read" in w.value for w in app.warning)
    assert prediction_shown(app) is None
