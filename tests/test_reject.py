"""The answer rules ("not a digit", "not sure"): temperature scaling and threshold math, the
committed calibration's figures on real pen digits, real non-digits and generated doodles, and
the messages on the Draw page."""

import json
import subprocess
import sys

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from digits.training.calibrate import REPORT_SEED, format_figures, thresholds
from digits.data import read_strokes
from digits.evaluation.evaluate import replay_inputs
from digits.inference import file_sha256
from digits.model import MODEL_PATH
from digits.evaluation.doodles import KINDS, canvases, nondigit_inputs
from digits.preprocess import preprocess_canvas
from digits.answer import (CALIBRATION_PATH, DIGIT, NOT_DIGIT, UNSURE, Calibration, apply_temperature,
                           choose_threshold, confidence, fit_temperature, load_for_model, rejection_rate)
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


def test_confidence_kinds():
    p = np.array([[0.7, 0.2, 0.1] + [0.0] * 7, [0.1] * 10])
    assert confidence(p, "max_prob") == pytest.approx([0.7, 0.1])
    assert confidence(p, "margin") == pytest.approx([0.5, 0.0])
    assert confidence(p, "neg_entropy")[1] == pytest.approx(-np.log(10))
    assert confidence(p, "neg_entropy")[0] > confidence(p, "neg_entropy")[1]
    with pytest.raises(ValueError):
        confidence(p, "vibes")


@pytest.mark.parametrize("rate, rejected", [(0.0, 0), (0.01, 1), (0.05, 5), (0.059, 5), (0.5, 50)])
def test_threshold_rejects_at_most_the_rate(rate, rejected):
    scores = np.random.default_rng(2).permutation(np.linspace(0, 1, 100))
    thr = choose_threshold(scores, rate)
    assert (scores < thr).sum() == rejected
    assert rejection_rate(scores, thr) <= rate


def test_threshold_with_ties_never_rejects_more():
    scores = np.array([0.1, 0.1, 0.1, 0.5, 0.9])
    assert rejection_rate(scores, choose_threshold(scores, 0.4)) == 0.0  # cannot split the tie


def test_decision_names_the_two_best_guesses(tmp_path):
    cal = Calibration(temperature=1.0, score="max_prob", threshold=0.6, nondigit_threshold=0.5)
    sure = cal.decide(np.array([0.9, 0.05, 0.05] + [0.0] * 8))
    assert sure.verdict == DIGIT and sure.accepted and sure.digit == 0
    unsure = cal.decide(np.array([0.1, 0.45, 0.0, 0.0, 0.4] + [0.01] * 5 + [0.0]))
    assert unsure.verdict == UNSURE and [d for d, _ in unsure.guesses] == [1, 4]
    cal.save(tmp_path / "calibration.json")
    assert Calibration.load(tmp_path / "calibration.json") == cal


def test_not_a_digit_comes_first_and_the_guesses_stay_digits():
    cal = Calibration(temperature=1.0, score="margin", threshold=0.3, nondigit_threshold=0.5)
    letter = cal.decide(np.array([0.3] + [0.0] * 9 + [0.7]))
    assert letter.verdict == NOT_DIGIT and not letter.accepted and letter.digit == 0
    assert all(d < 10 for d, _ in letter.guesses)
    # The "not sure" score is over the digits alone: 0.45 vs 0.05 among them is a clear 0.
    leaning = cal.decide(np.array([0.45, 0.05] + [0.0] * 8 + [0.5 - 1e-6]))
    assert leaning.verdict == DIGIT


def test_thresholds_share_the_budget():
    rng = np.random.default_rng(0)
    p = softmax(rng.normal(0, 3, (2000, 11)))
    calibrated = apply_temperature(p, 1.0)  # what verdicts() compares, bit for bit
    for share in (0.0, 0.5, 1.0):
        t_unsure, t_nd = thresholds(calibrated, "margin", share, 0.01)
        cal = Calibration(1.0, "margin", t_unsure, t_nd)
        verdicts = cal.verdicts(p)
        assert (verdicts != DIGIT).mean() <= 0.01
        assert (confidence(calibrated, "margin") < t_unsure).mean() <= 0.01 * share + 1e-9


def test_a_calibration_for_another_model_is_ignored(tmp_path):
    model = tmp_path / "digits.onnx"
    model.write_bytes(b"model one")
    Calibration(1.5, "margin", 0.2, model_sha256=file_sha256(model)).save(tmp_path / "calibration.json")
    assert load_for_model(model).threshold == 0.2
    model.write_bytes(b"model two")
    assert load_for_model(model) is None
    assert load_for_model(tmp_path / "elsewhere" / "digits.onnx") is None


# --------------------------------------------------------------------------- committed figures


@pytest.fixture(scope="module")
def calibration() -> Calibration:
    cal = load_for_model(MODEL_PATH)
    assert cal is not None, (f"{CALIBRATION_PATH} is missing or was made for another model file: "
                             "run `python -m digits calibrate`")
    return cal


@pytest.mark.slow
def test_at_most_one_percent_of_real_digits_are_rejected(predictor, calibration, unipen_dev):
    x, _ = replay_inputs(unipen_dev, "random")
    rejected = float((calibration.verdicts(predictor.probabilities(x)) != DIGIT).mean())
    assert rejected <= 0.01, f"{rejected:.2%} of UNIPEN dev digits answered 'not a digit' or 'not sure'"
    assert rejected == pytest.approx(calibration.figures["dev"]["rejected"], abs=1e-4), \
        "calibration.json's figure is reproducible"


@pytest.mark.slow
def test_real_non_digits_figure_reproduces(predictor, calibration, unipen_nondigit_dev):
    x, _ = replay_inputs(unipen_nondigit_dev, "random")
    rejected = float((calibration.verdicts(predictor.probabilities(x)) != DIGIT).mean())
    assert rejected == pytest.approx(calibration.figures["nondigits_dev"]["rejected"], abs=1e-4)
    assert rejected >= 0.85, "a floor just under the measured level guards against regressions"


@pytest.mark.slow
def test_generated_non_digit_figures_reproduce(predictor, calibration, mnist):
    """The report set's per-kind figures in calibration.json come back from the committed files."""
    per_kind = nondigit_inputs(100, REPORT_SEED, read_strokes(UNIPEN_TRAIN), mnist)
    stored = calibration.figures["generated"]
    assert set(stored) == set(KINDS)
    for kind in KINDS:
        rate = float((calibration.verdicts(predictor.probabilities(per_kind[kind])) != DIGIT).mean())
        assert rate == pytest.approx(stored[kind], abs=1e-4), kind
    assert stored["smileys"] >= 0.95 and calibration.figures["generated_overall"] >= 0.85


# --------------------------------------------------------------------------- the page


def first_with(verdict: str, predictor, calibration, mnist) -> np.ndarray:
    """A generated doodle the committed model + calibration answer `verdict` to."""
    for kind in ("smileys", "scribbles", "shapes", "crossed_circles", "two_digits", "overlaid_digits"):
        for rgba in canvases(kind, 30, REPORT_SEED, read_strokes(UNIPEN_TRAIN), mnist):
            if calibration.decide(predictor.probabilities(preprocess_canvas(rgba))[0]).verdict == verdict:
                return rgba
    pytest.fail(f"no generated doodle is answered {verdict!r}")


def test_page_says_that_is_not_a_digit(predictor, calibration, mnist):
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    at.session_state["canvas"] = canvas_state(first_with(NOT_DIGIT, predictor, calibration, mnist))
    at.run()
    assert not at.exception
    assert prediction_shown(at) == "✗"
    assert any("That doesn't look like a digit." in md.value for md in at.markdown)
    answer = next(md.value for md in at.markdown if "data-testid='prediction'" in md.value)
    assert "data-testid='probability' style='font-size:1.75rem;flex:1'></span>" in answer, \
        "no confident probability is shown"
    assert at.get("vega_lite_chart"), "the chart still shows the calibrated probabilities"
    assert not [b for b in at.button if b.label.startswith("✓ Yes")], "nothing to say yes to"
    assert at.pills[0].label == "If it is a digit, which one?"


def test_two_close_digits_are_not_sure_with_both_named():
    cal = Calibration(temperature=1.0, score="margin", threshold=0.3, nondigit_threshold=0.5)
    from webapp.widgets import verdict_message

    message = verdict_message(cal.decide(np.array([0, 0, 0, 0, 0.48, 0, 0, 0, 0, 0.46, 0.06])))
    assert message.startswith("**Not sure: 4 or 9?**")


def test_chart_has_a_separate_not_a_digit_bar():
    from webapp.widgets import probability_chart

    df, spec = probability_chart(np.array([0.05] * 10 + [0.5]))
    assert list(df["label"]) == [str(d) for d in range(10)] + ["not a digit"]
    assert list(df["kind"]) == ["digit"] * 10 + ["best"]
    df, _ = probability_chart(np.array([0.9] + [0.0] * 9 + [0.1]))
    assert list(df["kind"]) == ["best"] + ["digit"] * 9 + ["other"]


def test_calibration_file_is_valid_json_with_figures():
    d = json.loads(CALIBRATION_PATH.read_text())
    assert {"temperature", "score", "threshold", "nondigit_threshold", "model_sha256", "figures"} <= set(d)
    assert d["figures"]["chosen"]["score"] == d["score"]
    assert d["figures"]["chosen"]["calibration_digits_rejected"] <= d["figures"]["calibration_reject_rate"]


def test_calibration_file_prints_as_a_table(calibration):
    text = format_figures(calibration.figures)
    assert "Rules chosen" in text and "overall" in text and "Temperature" in text and "UNIPEN dev" in text


def test_calibrate_refuses_a_model_whose_held_out_writers_are_unknown(tmp_path):
    (tmp_path / "report.json").write_text(json.dumps({"training": {"seed": 0, "data": {"strokes_val": 598}}}))
    run = subprocess.run([sys.executable, "-m", "digits", "calibrate", "--model", str(tmp_path / "digits.onnx")],
                         cwd=REPO, capture_output=True, text=True, timeout=120)
    assert run.returncode == 2 and "held-out writers are unknown" in run.stderr
    assert "Traceback" not in run.stderr and not (tmp_path / "calibration.json").exists()
