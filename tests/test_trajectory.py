"""The pen's path as a second model input: the exported trajectory graph against its Keras
model, the fused answer on real dev drawings, and what happens with strokes that cannot be used."""

import json

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from digits.answer import NOT_DIGIT, strokes_match
from digits.data import read_strokes
from digits.evaluation.evaluate import replay_sequences
from digits.inference import StrokeNetwork, file_sha256
from digits.model import MODEL_DIR
from digits.render import draw, render_sample, replay_layout
from digits.strokes import fabric_json
from tests.test_app import APP, canvas_state, prediction_shown

STROKES_ONNX = MODEL_DIR / "strokes.onnx"
STROKES_KERAS = MODEL_DIR / "members" / "strokes.keras"


@pytest.fixture(scope="module")
def dev_sequences(unipen_dev):
    return replay_sequences(unipen_dev)[:500]


def test_exported_graph_matches_the_keras_model(dev_sequences):
    from digits.training.network import load_model

    keras_p = load_model(STROKES_KERAS).predict(dev_sequences, verbose=0)
    onnx_p = StrokeNetwork.load(STROKES_ONNX).probabilities(dev_sequences)
    np.testing.assert_allclose(onnx_p, keras_p, atol=1e-5)
    meta = json.loads(StrokeNetwork.load(STROKES_ONNX).metadata["keras_sha256"])
    assert meta == {"strokes.keras": file_sha256(STROKES_KERAS)}, "tied to the training run by hash"


def test_the_committed_reader_reads_the_pen_path(reader):
    assert reader.reads_strokes, "model/strokes.onnx and its calibration ship together"
    assert reader.calibration.strokes.stroke_weight > 0


def test_fused_and_bitmap_answers_are_the_same_kind(reader, unipen_dev):
    """On real drawings, with and without strokes: same Answer type, a verdict, 11 shown
    probabilities summing to 1, and the fused path used only when strokes came."""
    for i, sample in enumerate(read_strokes(unipen_dev)[:30]):
        layout = replay_layout(sample.strokes, i)
        canvas = draw(layout)
        fused, alone = reader.read(canvas, fabric_json(layout)), reader.read(canvas)
        assert fused.path == "strokes" and alone.path == "bitmap"
        for a in (fused, alone):
            assert a.probabilities.shape == (11,) and abs(a.probabilities.sum() - 1) < 1e-6
            assert a.verdict in ("digit", "not sure", NOT_DIGIT) and not a.strokes_refused


def test_strokes_that_cannot_be_used_leave_the_picture_alone(reader, unipen_dev):
    samples = read_strokes(unipen_dev)
    canvas = render_sample(samples[0].strokes, 0)
    alone = reader.read(canvas)
    for bad in ({"objects": "nope"}, {"objects": [{"type": "path", "path": [["M", "x", 1]]}]},
                {"objects": [{"type": "path", "path": [["L", 1, 2]] * 30_000}]}):
        a = reader.read(canvas, bad)
        assert a.strokes_refused and a.path == "bitmap" and a.fallback.startswith("strokes refused")
        np.testing.assert_array_equal(a.probabilities, alone.probabilities)
    # Strokes of another drawing (a stale value) are not fused with this picture.
    other = replay_layout(samples[1].strokes, 5)
    if not strokes_match(other, canvas):
        a = reader.read(canvas, fabric_json(other))
        assert a.path == "bitmap" and "not the picture's" in a.fallback
    # No stroke at all (what Fabric 7's "Path" gave the old parser): never silent.
    assert "no stroke" in alone.fallback and not alone.strokes_refused
    assert "no stroke" in reader.read(canvas, {"version": "7.4.0", "objects": []}).fallback


@pytest.mark.parametrize("name", ["one-stroke", "several-strokes", "dot", "long"])
def test_what_the_real_canvas_sends_is_read_with_its_pen_path(reader, name):
    """json_data and image_data recorded from the real component in Chromium (bench.record)."""
    from tests.test_strokes import FIXTURES, recorded

    json_data, image = recorded(next(p for p in FIXTURES if p.stem == name))
    a = reader.read(image, json_data)
    assert a.path == "strokes" and not a.fallback and not a.strokes_refused


def test_draw_page_reads_the_strokes_it_is_sent(unipen_dev):
    sample = read_strokes(unipen_dev)[3]
    layout = replay_layout(sample.strokes, 3)
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    at.session_state["canvas"] = canvas_state(draw(layout), layout)
    at.run()
    assert not at.exception
    shown = next(md.value for md in at.markdown if "data-testid='prediction'" in md.value)
    assert "data-path='strokes'" in shown and prediction_shown(at) is not None
    at.session_state["canvas"] = {"drawing": {"raw": {"objects": [{"type": "path", "path": "M 1 2"}]},
                                              "data": canvas_state(draw(layout))["drawing"]["data"]}}
    at.run()
    assert not at.exception
    assert any("could not be used" in c.value for c in at.caption), "the friendly note, and an answer anyway"
