"""What the network sees: activation maps and saliency for a drawing, and the Draw page's expander."""

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from digits.explain import activation_grid, explain, saliency_overlay
from digits.preprocess import preprocess_canvas
from digits.render import draw
from tests.conftest import stroke
from tests.test_app import APP, canvas_state

SEVEN = [stroke((80, 50), (200, 50), (110, 240))]


def test_explanation_matches_the_prediction_and_stays_on_the_ink(predictor):
    x = preprocess_canvas(draw(SEVEN))
    ex = explain(predictor, x)
    assert ex.digit == predictor.predict(x).digit
    assert ex.activations.shape[:2] == (28, 28) and ex.activations.shape[2] >= 8
    assert (ex.activations >= 0).all(), "after the ReLU"
    assert ex.saliency.shape == (28, 28) and ex.saliency.max() == pytest.approx(1.0)
    assert ex.saliency[x == 0].max() == 0, "no saliency off the ink"


def test_pictures_have_the_expected_sizes(predictor):
    x = preprocess_canvas(draw(SEVEN))
    ex = explain(predictor, x)
    grid = activation_grid(ex.activations, columns=8, scale=3, pad=2)
    rows = -(-ex.activations.shape[2] // 8)
    assert grid.shape == (rows * 86 - 2, 8 * 86 - 2) and grid.dtype == np.uint8
    assert saliency_overlay(x, ex.saliency).shape == (140, 140, 3)


def test_expander_computes_only_when_switched_on():
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    at.session_state["canvas"] = canvas_state(draw(SEVEN))
    at.run()
    assert at.expander[0].label == "What the network sees"
    assert len(at.image) == 0, "nothing computed while the toggle is off"
    at.toggle(key="explain").set_value(True).run()
    assert not at.exception
    captions = [c for img in at.image for c in img.captions]
    assert any("28×28 input" in c for c in captions)
    assert any("activation maps" in c for c in captions)
    assert any("occlusion" in c for c in captions)
    at.run()  # a second run with the toggle still on
    assert not at.exception and len(at.image) == 3
