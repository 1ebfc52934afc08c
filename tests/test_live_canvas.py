"""The live canvas' server side (webapp/live_canvas.py): every companion value is checked before
it is read, and the page logic through AppTest with values injected into the component state
(AppTest shows the companion as an unknown `bidi_component` element)."""

from __future__ import annotations

import base64
import json

import cv2
import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from digits.preprocess import preprocess_canvas
from digits.render import draw
from tests.conftest import REPO, stroke
from tests.test_app import canvas_state, prediction_shown
from webapp.live_canvas import BadValue, max_data_url_chars, parse_value, read
from webapp.widgets import LARGE_CANVAS, UNREADABLE

APP = str(REPO / "app.py")
SEVEN = [stroke((80, 50), (200, 50), (110, 240))]
ONE = [stroke((140, 40), (140, 240))]


def png_url(image: np.ndarray, gray: bool = False) -> str:
    if gray:
        image = image[..., 0]
    elif image.ndim == 3 and image.shape[2] == 4:
        image = cv2.cvtColor(image, cv2.COLOR_RGBA2BGRA)
    ok, png = cv2.imencode(".png", image)
    assert ok
    return "data:image/png;base64," + base64.b64encode(png.tobytes()).decode()


def value(image: np.ndarray | None = None, *, seq: int = 1, final: bool = True, sid: str = "abc123", **over) -> dict:
    v = {"v": 1, "sid": sid, "seq": seq, "final": final, "png": png_url(draw(SEVEN) if image is None else image),
         "w": 280, "h": 280}
    return v | over


# --------------------------------------------------------------------------- parse_value


def test_a_good_value_gives_the_canvas_picture():
    image = draw(SEVEN)
    v = parse_value(value(image), 280, 280)
    assert v.final and v.seq == 1 and v.image.shape[:2] == (280, 280)
    np.testing.assert_array_equal(preprocess_canvas(v.image), preprocess_canvas(image))


def test_a_grayscale_png_reads_the_same():
    image = draw(SEVEN)
    v = parse_value(value(png=png_url(image, gray=True)), 280, 280)
    np.testing.assert_array_equal(preprocess_canvas(v.image), preprocess_canvas(image))


def test_a_live_value_may_come_at_half_size_a_final_one_may_not():
    half = cv2.resize(draw(SEVEN), (140, 140), interpolation=cv2.INTER_AREA)
    v = parse_value(value(half, final=False), 280, 280)
    assert not v.final and v.image.shape[:2] == (140, 140)
    odd = cv2.resize(draw(SEVEN), (161, 161), interpolation=cv2.INTER_AREA)
    assert parse_value(value(odd, final=False), 321, 321).image.shape[:2] == (161, 161), "each side rounded up"
    with pytest.raises(BadValue):
        parse_value(value(half, final=True), 280, 280)  # the final answer reads the exact picture
    with pytest.raises(BadValue):
        parse_value(value(cv2.resize(draw(SEVEN), (100, 100)), final=False), 280, 280)


def _jpeg() -> str:
    ok, jpg = cv2.imencode(".jpg", np.zeros((280, 280, 3), np.uint8))
    return "data:image/png;base64," + base64.b64encode(jpg.tobytes()).decode()


def _png_with_size(w: int, h: int, depth: int = 8) -> str:
    img = np.zeros((h, w), np.uint16 if depth == 16 else np.uint8)
    ok, png = cv2.imencode(".png", img)
    return "data:image/png;base64," + base64.b64encode(png.tobytes()).decode()


BAD = {
    "not a dict": "hello",
    "a list": [1, 2, 3],
    "no png": {"sid": "abc", "seq": 1, "final": True},
    "png not a string": value(png=12),
    "not a data url": value(png="http://example.com/x.png"),
    "jpeg data url": value(png="data:image/jpeg;base64,AAAA"),
    "bad base64": value(png="data:image/png;base64,@@@@"),
    "jpeg bytes in a png url": value(png=_jpeg()),
    "truncated png": value(png="data:image/png;base64," + base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\0" * 40).decode()),
    "wrong size": value(png=_png_with_size(100, 100)),
    "huge dimensions in the header": value(png=_png_with_size(28000, 28)),
    "16-bit png": value(png=_png_with_size(280, 280, depth=16)),
    "too long": value(png="data:image/png;base64," + "A" * (max_data_url_chars(280, 280) + 4)),
    "seq a string": value(seq="7"),
    "seq negative": value(seq=-1),
    "seq a float": value(seq=1.5),
    "seq a bool": value(seq=True),
    "seq huge": value(seq=2**60),
    "final not a bool": value(final="yes"),
    "sid missing": value(sid=None),
    "sid too long": value(sid="a" * 100),
    "sid with symbols": value(sid="<script>"),
}


@pytest.mark.parametrize("name", list(BAD))
def test_bad_values_are_refused(name):
    with pytest.raises(BadValue):
        parse_value(BAD[name], 280, 280)


# --------------------------------------------------------------------------- read (the decision)


class FakeCanvas:
    def __init__(self, image: np.ndarray | None = None, objects: int = 0):
        self.json_data = {"objects": [{"type": "path"}] * objects}
        self._image_data_url = None if image is None else png_url(image)
        self.image_data = image


def test_sequence_numbers_only_go_forward():
    memory: dict = {}
    first = read(memory, value(seq=5), FakeCanvas(), 280, 280, now=1.0)
    assert first.changed and first.final and first._ack["seq"] == 5
    replay = read(memory, value(draw(ONE), seq=3), FakeCanvas(), 280, 280, now=2.0)
    assert not replay.changed, "an older sequence number is not read"
    assert preprocess_canvas(replay.image) is not None and replay._ack["seq"] == 5
    # A new page (new sid) starts its own count.
    again = read(memory, value(draw(ONE), seq=1, sid="newpage"), FakeCanvas(), 280, 280, now=3.0)
    assert again.changed and again._ack == {"sid": "newpage", "seq": 1}


def test_live_values_faster_than_the_js_sends_are_acknowledged_not_read():
    memory: dict = {}
    assert read(memory, value(seq=1, final=False), FakeCanvas(), 280, 280, now=1.0).changed
    fast = read(memory, value(seq=2, final=False), FakeCanvas(), 280, 280, now=1.001)
    assert not fast.changed and fast._ack["seq"] == 2
    assert read(memory, value(seq=3, final=True), FakeCanvas(), 280, 280, now=1.002).changed, "finals always"


def test_the_canvas_own_late_value_of_the_same_drawing_changes_nothing():
    memory: dict = {}
    image = draw(SEVEN)
    final = read(memory, value(image, seq=1), FakeCanvas(), 280, 280, now=1.0)
    assert final.source == "final"
    late = read(memory, value(image, seq=1), FakeCanvas(image, objects=1), 280, 280, now=1.2)
    assert not late.changed and late.source == "final" and len(late.json_data["objects"]) == 1
    # An undo (the canvas' value differs from the last final picture) is read from the canvas.
    undo = read(memory, value(image, seq=1), FakeCanvas(draw(ONE), objects=1), 280, 280, now=2.0)
    assert undo.changed and undo.source == "canvas"


# --------------------------------------------------------------------------- pages (AppTest)


def test_draw_page_final_value_gives_the_full_answer(app):
    app.session_state["canvas-live"] = {"value": value(seq=1)}
    app.run()
    assert not app.exception
    assert prediction_shown(app) == "7"
    assert app.get("vega_lite_chart"), "the chart comes with the final answer"


def test_draw_page_live_value_shows_only_the_digit(app):
    app.session_state["canvas-live"] = {"value": value(seq=1, final=False)}
    app.run()
    assert not app.exception
    assert prediction_shown(app) == "7"
    assert not app.get("vega_lite_chart"), "a live run stays tiny"
    assert not [b for b in app.button if b.label.startswith("✓ Yes")], "no feedback while drawing"


def test_draw_page_reads_a_half_size_live_value(app):
    half = cv2.resize(draw(SEVEN), (140, 140), interpolation=cv2.INTER_AREA)
    app.session_state["canvas-live"] = {"value": value(half, seq=1, final=False)}
    app.run()
    assert not app.exception
    assert prediction_shown(app) == "7"


@pytest.mark.parametrize("name", list(BAD))
def test_draw_page_bad_values_get_the_friendly_message(app, name):
    app.session_state["canvas-live"] = {"value": BAD[name]}
    app.run()
    assert not app.exception
    assert [w for w in app.warning if w.value == UNREADABLE]
    assert prediction_shown(app) is None


def test_draw_page_canvas_value_still_works_without_the_companion(app):
    app.session_state["canvas"] = canvas_state(draw(ONE))
    app.run()
    assert not app.exception and prediction_shown(app) == "1"


def test_kiosk_final_value(monkeypatch):
    monkeypatch.setenv("DIGITS_KIOSK", "1")
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    big = cv2.resize(draw(SEVEN), (LARGE_CANVAS, LARGE_CANVAS), interpolation=cv2.INTER_LINEAR)
    at.session_state["kiosk_canvas_0-live"] = {"value": value(big, seq=1)}  # no phone user agent here
    at.run()
    assert not at.exception and prediction_shown(at) == "7"
    at.session_state["kiosk_canvas_0-live"] = {"value": {"sid": "x", "seq": 2, "final": True, "png": "data:,"}}
    at.run()
    assert not at.exception and [w for w in at.warning if w.value == UNREADABLE]


@pytest.mark.parametrize("name", ["one-stroke", "several-strokes", "dot", "long"])
def test_the_companion_value_recorded_in_chromium_is_the_canvas_picture(name):
    """The final value live_canvas.js really sent (bench.record, real Chromium) passes the checks
    and decodes to the canvas' own image_data, pixel for pixel where the ink is."""
    from tests.test_strokes import FIXTURES, recorded

    path = next(p for p in FIXTURES if p.stem == name)
    raw = json.loads(path.read_text())["companion"]
    assert set(raw) == {"v", "sid", "seq", "final", "png", "w", "h"} and raw["final"] is True
    value = parse_value(raw, 280, 280)
    _, image_data = recorded(path)
    assert value.image.shape[:2] == image_data.shape[:2]
    np.testing.assert_array_equal(preprocess_canvas(value.image) > 0.5, preprocess_canvas(image_data) > 0.5)


# --------------------------------------------------------------------------- the browser's live model


def companion_data(at: AppTest) -> dict:
    [companion] = [e for e in at.get("bidi_component") if e.proto.component_name.endswith("digits_live_canvas")]
    return json.loads(companion.proto.json)


def test_the_live_model_goes_to_the_page_until_it_confirms(app):
    from digits.inference import file_sha256
    from digits.model import MODEL_PATH

    data = companion_data(app)
    sha = file_sha256(MODEL_PATH)
    assert data["live_sha"] == sha and data["answer_key"] == "canvas-answer"
    model = data["live_model"]
    assert model["teacher_sha256"] == sha and model["layers"] and model["weights"]
    assert model["calibration"]["temperature"] > 0
    app.session_state["canvas-live"] = {"value": None, "model": {"sha": sha, "ok": True}}
    app.run()
    data = companion_data(app)
    assert "live_model" not in data and data["live_sha"] == sha, "once per page, then only its sha256"
    app.session_state["canvas-live"] = {"value": None, "model": {"need": 12345}}  # a page that lost it
    app.run()
    assert "live_model" in companion_data(app)


def test_server_live_off_acknowledges_live_values_without_reading_them():
    memory: dict = {}
    live = read(memory, value(seq=1, final=False), FakeCanvas(), 280, 280, now=1.0, server_live=False)
    assert not live.changed and live.image is None and live._ack["seq"] == 1
    final = read(memory, value(seq=2, final=True), FakeCanvas(), 280, 280, now=1.1, server_live=False)
    assert final.changed and final.final and final.image is not None


def test_a_live_model_of_another_graph_is_not_handed_out(tmp_path):
    import shutil

    from digits.inference import file_sha256
    from digits.model import MODEL_DIR
    from webapp.live_canvas import _served

    graph = tmp_path / "digits.onnx"
    shutil.copy(MODEL_DIR / "digits.onnx", graph)
    doc = json.loads((MODEL_DIR / "live.json").read_text())
    (tmp_path / "live.json").write_text(json.dumps(doc))
    sha, given = _served(str(graph), 1, 1)
    assert sha == file_sha256(graph) and given is not None and given["teacher_sha256"] == sha
    (tmp_path / "live.json").write_text(json.dumps(doc | {"teacher_sha256": "0" * 64}))  # a retrained graph
    assert _served(str(graph), 2, 1) == (sha, None)
    (tmp_path / "live.json").write_text("{not json")
    assert _served(str(graph), 3, 1) == (sha, None)
    (tmp_path / "live.json").unlink()
    assert _served(str(graph), 4, 1) == (sha, None)
