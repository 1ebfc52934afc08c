"""Page logic through Streamlit's AppTest: the real app script, the real model."""

import base64

import cv2
import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from digits.render import draw
from digits.strokes import fabric_json
from tests.conftest import REPO, stroke

APP = str(REPO / "app.py")


def canvas_state(rgba: np.ndarray, strokes: list | None = None) -> dict:
    """What the canvas component puts in session state after a drawing: Fabric JSON (of
    `strokes`, canvas pixels, when given) + a PNG data URL."""
    ok, png = cv2.imencode(".png", cv2.cvtColor(rgba, cv2.COLOR_RGBA2BGRA))
    assert ok
    url = "data:image/png;base64," + base64.b64encode(png.tobytes()).decode()
    return {"drawing": {"raw": fabric_json(strokes or []), "data": url}}


def prediction_shown(at: AppTest) -> str | None:
    for md in at.markdown:
        if "data-testid='prediction'" in md.value:
            return md.value.split("data-testid='prediction'")[1].split(">")[1].split("<")[0]
    return None


def test_empty_page_shows_a_hint_and_no_chart(app):
    assert app.title[0].value.endswith("Draw a digit")
    assert any("Draw a digit on the black square" in i.value for i in app.info)
    assert prediction_shown(app) is None
    assert not app.get("vega_lite_chart")


@pytest.mark.parametrize("digit, strokes", [
    ("1", [stroke((140, 40), (140, 240))]),
    ("7", [stroke((80, 50), (200, 50), (110, 240))]),
])
def test_a_drawing_shows_the_digit_and_the_chart(app, digit, strokes):
    app.session_state["canvas"] = canvas_state(draw(strokes))
    app.run()
    assert not app.exception
    assert prediction_shown(app) == digit
    assert app.get("vega_lite_chart"), "probability chart"
    answer = next(md.value for md in app.markdown if "data-testid='prediction'" in md.value)
    assert "data:image/png;base64," in answer, "28x28 preview"
    share = answer.split("data-testid='probability'")[1].split(">")[1].split("<")[0]
    assert share.endswith("%") and 50 < float(share[:-1]) <= 100


def test_clearing_the_canvas_brings_the_hint_back(app):
    app.session_state["canvas"] = canvas_state(draw([stroke((140, 40), (140, 240))]))
    app.run()
    blank = np.zeros((280, 280, 4), np.uint8)
    blank[..., 3] = 255
    app.session_state["canvas"] = canvas_state(blank)
    app.run()
    assert prediction_shown(app) is None
    assert any("Draw a digit" in i.value for i in app.info)


def test_model_page_shows_the_report():
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    at.switch_page("webapp/pages/model.py").run()
    assert not at.exception
    labels = [m.label for m in at.metric]
    assert labels[0] == "digits read right", "real drawings by new writers come first"
    assert {"letters and symbols recognised as not a digit", "MNIST test accuracy"} <= set(labels)
    assert len(at.image) >= 2, "MNIST's confusion matrix and mistakes"
    assert len(at.get("vega_lite_chart")) >= 3, "per digit, the dev confusion matrix (from report.json), the learning curve"


@pytest.mark.parametrize("content", [None, b"", b"garbage"])
def test_missing_or_broken_model_explains_how_to_train(tmp_path, monkeypatch, content):
    path = tmp_path / "digits.keras"
    if content is not None:
        path.write_bytes(content)
    monkeypatch.setenv("DIGITS_MODEL", str(path))
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    assert not at.exception
    assert any("python train.py" in e.value for e in at.error)
    assert prediction_shown(at) is None
