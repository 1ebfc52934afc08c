"""The live model (digits/training/live.py, webapp/live_model.js): the JavaScript the browser runs
agrees with the NumPy forward pass of the shipped model/live.json, its preprocessing with
digits.preprocess on real UNIPEN dev drawings, and the file names the served graph."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from digits.answer import apply_temperature, verdicts
from digits.data import DEV_PATH, read_strokes
from digits.inference import file_sha256
from digits.model import MODEL_DIR, MODEL_PATH
from digits.preprocess import preprocess_canvas
from digits.render import render_sample
from digits.text import percent
from digits.training.live import LIVE_NAME, forward, load_live

HARNESS = Path(__file__).resolve().parent / "js" / "run_live_model.mjs"
LIVE_PATH = MODEL_DIR / LIVE_NAME

pytestmark = pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")


def run_js(job: dict) -> dict:
    done = subprocess.run(["node", str(HARNESS)], input=json.dumps(job), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.fixture(scope="module")
def dev_canvases() -> list[np.ndarray]:
    samples = read_strokes(DEV_PATH)
    picks = np.random.default_rng(7).choice(len(samples), 40, replace=False)
    return [render_sample(samples[i].strokes, int(i)) for i in picks]


def test_the_shipped_live_model_names_the_served_graph() -> None:
    doc = load_live(LIVE_PATH)
    assert doc["teacher_sha256"] == file_sha256(MODEL_PATH)
    assert LIVE_PATH.stat().st_size < 300_000
    assert doc["figures"]["params"] < 100_000


def test_js_forward_pass_agrees_with_numpy(dev_canvases) -> None:
    doc = load_live(LIVE_PATH)
    x = np.stack([preprocess_canvas(c) for c in dev_canvases])
    expected = forward(doc, x)
    got = run_js({"model": doc, "inputs": x.reshape(len(x), -1).tolist(),
                  "calibration": {"temperature": 0.7, "nondigit_bias": -0.8, "threshold": 0.5}})
    probs = np.asarray(got["probabilities"])
    assert probs.shape == (len(x), 11)
    assert np.abs(probs - expected).max() < 1e-5
    assert (probs.argmax(1) == expected.argmax(1)).all()
    assert got["forward_ms"] < 50  # a few ms on a desktop; generous for a busy test machine
    # The served calibration and the rule, as digits/answer.py applies them
    shown = apply_temperature(probs, 0.7, -0.8)
    assert np.abs(np.asarray([a["probabilities"] for a in got["answers"]]) - shown).max() < 1e-9
    assert [a["verdict"] for a in got["answers"]] == list(verdicts(shown, 0.5))
    assert [a["shown"] for a in got["answers"]] == [percent(p[:10].max()) for p in shown]


def test_js_preprocessing_is_close_to_python(dev_canvases) -> None:
    canvases = [{"w": c.shape[1], "h": c.shape[0], "rgba": base64.b64encode(c.tobytes()).decode()} for c in dev_canvases]
    got = run_js({"canvases": canvases})["images"]
    for canvas, js in zip(dev_canvases, got):
        py = preprocess_canvas(canvas)
        assert js is not None
        diff = np.abs(np.asarray(js, np.float32).reshape(28, 28) - py)
        assert diff.max() < 1e-3, diff.max()


def test_js_preprocessing_of_edge_cases() -> None:
    """An empty canvas, a dot (the crop is enlarged), a thin vertical line (one side shrinks to a
    few px): the same None, or close to Python's."""
    blank = np.zeros((120, 90, 4), np.uint8)
    blank[..., 3] = 255
    dot, line = blank.copy(), blank.copy()
    dot[50:54, 40:44, :3] = 255
    line[10:110, 44:47, :3] = 200
    cases = [blank, dot, line]
    got = run_js({"canvases": [{"w": 90, "h": 120, "rgba": base64.b64encode(c.tobytes()).decode()} for c in cases]})
    assert got["images"][0] is None and preprocess_canvas(blank) is None
    for canvas, js in zip(cases[1:], got["images"][1:]):
        diff = np.abs(np.asarray(js, np.float32).reshape(28, 28) - preprocess_canvas(canvas))
        assert diff.max() < 0.05, diff.max()
