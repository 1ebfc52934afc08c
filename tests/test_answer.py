"""The answer (digits.answer): the rule (the chart's top bar, a digit from 50 % up), temperature
scaling and the fitted bias/threshold, the committed calibration's figures on real pen digits,
real non-digits and generated doodles (no contradiction anywhere), and the Draw page's words."""

import json
import subprocess
import sys

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from digits.training.calibrate import REPORT_SEED, fit_rule, format_figures
from digits.data import read_strokes
from digits.evaluation.evaluate import replay_inputs, replay_sequences
from digits.inference import file_sha256
from digits.model import MODEL_PATH
from digits.doodles import KINDS, canvases, nondigit_inputs
from digits.answer import (CALIBRATION_PATH, DIGIT, MIN_THRESHOLD, NOT_DIGIT, UNSURE, Answer, Calibration,
                           apply_temperature, contradictions, fit_temperature, load_for_model, verdicts)
from digits.data import UNIPEN_TRAIN
from tests.conftest import REPO
from tests.test_app import APP, canvas_state, prediction_shown


def softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


# --------------------------------------------------------------------------- pure functions


def test_temperature_one_is_identity_and_argmax_never_changes():
    rng = np.random.default_rng(0)
    p = softmax(rng.normal(0, 3, (50, 10)))
    assert np.allclose(apply_temperature(p, 1.0), p, atol=1e-6)
    for t in (0.3, 2.0, 7.0):
        q = apply_temperature(p, t)
        assert np.allclose(q.sum(axis=1), 1)
        assert (q.argmax(axis=1) == p.argmax(axis=1)).all()
    assert np.allclose(apply_temperature(p, 1e6), 0.1, atol=1e-4)  # very hot: uniform
    # T > 1 softens: the top probability can only go down.
    assert (apply_temperature(p, 2.0).max(axis=1) <= p.max(axis=1) + 1e-9).all()


def test_fit_temperature_recovers_a_known_overconfidence():
    rng = np.random.default_rng(1)
    z = rng.normal(0, 2, (20000, 10))
    labels = np.array([rng.choice(10, p=row) for row in softmax(z)])  # truth follows softmax(z)
    overconfident = softmax(3.0 * z)  # a model whose logits are 3x too large
    assert fit_temperature(overconfident, labels) == pytest.approx(3.0, rel=0.05)
    assert fit_temperature(softmax(z), labels) == pytest.approx(1.0, rel=0.05)


def test_the_answer_is_the_charts_top_bar():
    """The rule: "not a digit" when it is the top output; a digit only when it is the top and
    its shown probability reaches the threshold (never below 50 %); else "not sure"."""
    p = np.array([
        [0.90, 0.05, 0.05] + [0.0] * 8,                # a clear 0
        [0.10, 0.45, 0.0, 0.0, 0.40] + [0.01] * 5 + [0.0],  # 1 on top but below 50 %: not sure
        [0.30] + [0.0] * 9 + [0.70],                   # "not a digit" on top
        [0.45, 0.05] + [0.0] * 8 + [0.50],             # "not a digit" on top, digits close behind
        [0.52, 0.0] + [0.0] * 8 + [0.48],              # a 0 at 52 % over "not a digit" at 48 %
        [0.60, 0.0] + [0.0] * 8 + [0.40],
    ])
    assert list(verdicts(p)) == [DIGIT, UNSURE, NOT_DIGIT, NOT_DIGIT, DIGIT, DIGIT]
    assert list(verdicts(p, threshold=0.55)) == [DIGIT, UNSURE, NOT_DIGIT, NOT_DIGIT, UNSURE, DIGIT]
    assert list(verdicts(p, threshold=0.2)) == list(verdicts(p)), "never below 50 %"
    assert not contradictions(p, verdicts(p) == DIGIT).any()


def test_contradictions_counts_what_a_visitor_would_see():
    # The review's cases: "7, 46 %" beside a taller "not a digit"; "5, 49.7 %" beside a 9 at 47 %.
    seven = np.zeros(11)
    seven[7], seven[10], seven[1] = 0.462, 0.52, 0.018
    five = np.zeros(11)
    five[5], five[9], five[3] = 0.497, 0.47, 0.033
    clear = np.array([0.9] + [0.01] * 10)
    assert list(contradictions(np.stack([seven, five, clear]), [True, True, True])) == [True, True, False]
    assert not contradictions(np.stack([seven, five]), [False, False]).any(), "refusing is never a contradiction"


def test_answer_names_the_two_best_digits_and_says_why():
    p = np.array([0, 0, 0, 0, 0.48, 0, 0, 0, 0, 0.46, 0.06])
    answer = Answer(str(verdicts(p[None])[0]), p, np.zeros((28, 28), np.float32))
    assert answer.verdict == UNSURE and not answer.named and answer.digit == 4
    assert [d for d, _ in answer.guesses] == [4, 9]
    assert answer.message().startswith("**Not sure: 4 or 9?**")
    letter = Answer(NOT_DIGIT, np.array([0.3] + [0.0] * 9 + [0.7]), np.zeros((28, 28)))
    assert letter.message().startswith("**That doesn't look like a digit.**") and letter.digit == 0
    assert all(d < 10 for d, _ in letter.guesses)
    assert Answer(DIGIT, np.array([0.9] + [0.01] * 10), np.zeros((28, 28))).message() == ""


def test_calibration_shifts_only_the_not_a_digit_output(tmp_path):
    p = softmax(np.random.default_rng(3).normal(0, 2, (50, 11)))
    cal = Calibration(temperature=1.0, nondigit_bias=1.0, threshold=0.6)
    q = cal.calibrate(p)
    assert np.allclose(q.sum(axis=1), 1)
    assert (q[:, 10] > p[:, 10]).all() and (q[:, :10] < p[:, :10]).all()
    ratios = q[:, :10] / p[:, :10]
    assert np.allclose(ratios, ratios[:, :1]), "the digits keep their order and ratios"
    cal.save(tmp_path / "calibration.json")
    assert Calibration.load(tmp_path / "calibration.json") == cal
    Calibration(threshold=0.3).save(tmp_path / "low.json")
    assert Calibration.load(tmp_path / "low.json").threshold == MIN_THRESHOLD


def test_fitted_rule_stays_within_the_budget_and_refuses_the_most():
    rng = np.random.default_rng(0)
    digits = softmax(rng.normal(0, 1, (2000, 11)) + np.eye(11)[rng.integers(0, 10, 2000)] * 6)
    letters = softmax(rng.normal(0, 1, (500, 11)) + np.eye(11)[np.full(500, 10)] * 2)
    fig: dict = {}
    cal = fit_rule(1.0, digits, letters, [letters[:100]], 0.01, "", fig)
    assert (cal.verdicts(digits) != DIGIT).mean() <= 0.01 and fig["chosen"]["within_budget"]
    refused = (cal.verdicts(letters) != DIGIT).mean()
    for other in (Calibration(1.0, cal.nondigit_bias + 0.5, cal.threshold), Calibration(1.0, cal.nondigit_bias, 0.5)):
        if (other.verdicts(digits) != DIGIT).mean() <= 0.01:
            assert (other.verdicts(letters) != DIGIT).mean() <= refused + 1e-9


def test_a_calibration_for_another_model_is_ignored(tmp_path):
    model = tmp_path / "digits.onnx"
    model.write_bytes(b"model one")
    Calibration(1.5, 0.2, 0.7, model_sha256=file_sha256(model)).save(tmp_path / "calibration.json")
    assert load_for_model(model).threshold == 0.7
    model.write_bytes(b"model two")
    assert load_for_model(model) is None
    assert load_for_model(tmp_path / "elsewhere" / "digits.onnx") is None
    (tmp_path / "calibration.json").write_text('{"temperature": 1.0, "score": "margin", "threshold": 0.2}')
    assert load_for_model(model) is None, "an old-format file is not used"


# --------------------------------------------------------------------------- committed figures


@pytest.fixture(scope="module")
def calibration() -> Calibration:
    cal = load_for_model(MODEL_PATH)
    assert cal is not None, (f"{CALIBRATION_PATH} is missing or was made for another model file: "
                             "run `python -m digits calibrate`")
    return cal


def refused_on_both_paths(reader, path, stored: dict) -> dict[str, float]:
    """Every drawing of a dev file read by the picture alone and by picture + pen path: no
    contradiction on either, and calibration.json's figure for each comes back. The shares refused."""
    x, _ = replay_inputs(path, "random")
    out = {}
    for name, seqs, figures in (("bitmap", None, stored.get("bitmap_only", stored)),
                                ("strokes", replay_sequences(path), stored)):
        probs = reader.probabilities(x, seqs)
        verdicts_ = reader.verdicts(probs, seqs is not None)
        assert not contradictions(probs, verdicts_ == DIGIT, reader.threshold(seqs is not None)).any(), name
        out[name] = float((verdicts_ != DIGIT).mean())
        assert out[name] == pytest.approx(figures["rejected"], abs=1e-4), f"calibration.json's {name} figure"
    return out


@pytest.mark.slow
def test_real_digits_refused_and_contradictions(reader, calibration, unipen_dev):
    refused = refused_on_both_paths(reader, unipen_dev, calibration.figures["dev"])
    assert max(refused.values()) <= 0.015, f"UNIPEN dev digits answered 'not a digit' or 'not sure': {refused}"


@pytest.mark.slow
def test_real_non_digits_figure_reproduces(reader, calibration, unipen_nondigit_dev):
    refused = refused_on_both_paths(reader, unipen_nondigit_dev, calibration.figures["nondigits_dev"])
    assert refused["strokes"] >= 0.90, "a floor under the measured level guards against regressions"


@pytest.mark.slow
def test_generated_non_digit_figures_reproduce(reader, calibration, mnist):
    """The report set's per-kind figures in calibration.json come back from the committed files."""
    per_kind = nondigit_inputs(100, REPORT_SEED, read_strokes(UNIPEN_TRAIN), mnist)
    stored = calibration.figures["generated"]
    assert set(stored) == set(KINDS)
    for kind in KINDS:
        probs = reader.probabilities(per_kind[kind][0])  # the picture alone, as calibration.json's "generated"
        rate = float((reader.verdicts(probs) != DIGIT).mean())
        assert not contradictions(probs, reader.verdicts(probs) == DIGIT).any(), kind
        assert rate == pytest.approx(stored[kind], abs=1e-4), kind
    assert stored["smileys"] >= 0.95 and calibration.figures["generated_overall"] >= 0.85


# --------------------------------------------------------------------------- the page


def first_with(verdict: str, reader, mnist) -> np.ndarray:
    """A generated doodle the committed model + calibration answer `verdict` to."""
    for kind in ("smileys", "scribbles", "shapes", "crossed_circles", "two_digits", "overlaid_digits"):
        for rgba in canvases(kind, 30, REPORT_SEED, read_strokes(UNIPEN_TRAIN), mnist):
            if reader.read(rgba).verdict == verdict:
                return rgba
    pytest.fail(f"no generated doodle is answered {verdict!r}")


def test_page_says_that_is_not_a_digit(reader, mnist):
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    at.session_state["canvas"] = canvas_state(first_with(NOT_DIGIT, reader, mnist))
    at.run()
    assert not at.exception
    assert prediction_shown(at) == "✗"
    assert any("That doesn't look like a digit." in md.value for md in at.markdown)
    answer = next(md.value for md in at.markdown if "data-testid='prediction'" in md.value)
    assert "data-testid='probability' style='font-size:1.75rem;flex:1'></span>" in answer, \
        "no confident probability is shown"
    assert at.get("vega_lite_chart"), "the chart still shows the calibrated probabilities"
    assert not [b for b in at.button if b.label.startswith("✓ Yes")], "nothing to say yes to"
    assert at.pills[0].label == "Which digit did you draw?"


def test_chart_has_a_separate_not_a_digit_bar():
    from webapp.widgets import probability_chart

    df, spec = probability_chart(np.array([0.05] * 10 + [0.5]))
    assert list(df["label"]) == [str(d) for d in range(10)] + ["not a digit"]
    assert list(df["kind"]) == ["digit"] * 10 + ["best"]
    df, _ = probability_chart(np.array([0.9] + [0.0] * 9 + [0.1]))
    assert list(df["kind"]) == ["best"] + ["digit"] * 9 + ["other"]


def test_calibration_file_is_valid_json_with_figures():
    d = json.loads(CALIBRATION_PATH.read_text())
    assert {"temperature", "nondigit_bias", "threshold", "model_sha256", "figures"} <= set(d)
    assert d["figures"]["chosen"]["threshold"] == d["threshold"] >= MIN_THRESHOLD
    assert d["figures"]["chosen"]["calibration_digits_rejected"] <= d["figures"]["calibration_reject_rate"]


def test_calibration_file_prints_as_a_table(calibration):
    text = format_figures(calibration.figures)
    assert "Rule chosen" in text and "overall" in text and "Temperature" in text and "UNIPEN dev" in text


def test_calibrate_refuses_a_model_whose_held_out_writers_are_unknown(tmp_path):
    (tmp_path / "report.json").write_text(json.dumps({"training": {"seed": 0, "data": {"strokes_val": 598}}}))
    run = subprocess.run([sys.executable, "-m", "digits", "calibrate", "--model", str(tmp_path / "digits.onnx")],
                         cwd=REPO, capture_output=True, text=True, timeout=120)
    assert run.returncode == 2 and "held-out writers are unknown" in run.stderr
    assert "Traceback" not in run.stderr and not (tmp_path / "calibration.json").exists()
