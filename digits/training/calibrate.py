"""`python -m digits calibrate`: fit the answer rules and write model/calibration.json.

Protocol (nothing here is fitted on the dev files):
1. Calibration drawings: the UNIPEN-train writers every ensemble member held out for validation
   (digits.training.split.validation_writers), each digit replayed REPLAYS times through the canvas
   protocol (random size and place) and preprocessed like the app; the held-out writers' letters
   and symbols (digits.training.split.nondigit_split), and a tuning set of generated doodles (seed 1).
2. Temperature: the T that minimises their negative log-likelihood (11 classes).
3. For each confidence score (max probability, margin, negative entropy) and each share of the
   budget given to "not sure": the two thresholds that together reject CAL_REJECT of the
   calibration digits. CAL_REJECT is half the 1 % budget, leaving room for new writers being
   less tidy than the calibration ones.
4. Kept: the pair that rejects the most calibration non-digits (real and generated, half each).
5. Reported, never used to choose: UNIPEN dev digits (random replay), UNIPEN dev non-digits, and
   a separate generated set (seed 0), per kind.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from digits.data import (DEV_PATH, NONDIGIT_DEV_PATH, NOT_A_DIGIT, UNIPEN_NONDIGIT_TRAIN, UNIPEN_TRAIN, DataError,
                         Sample, load_mnist, read_strokes)
from digits.inference import file_sha256
from digits.model import MODEL_PATH, Predictor
from digits.evaluation.doodles import nondigit_inputs
from digits.preprocess import preprocess_canvas
from digits.answer import (DIGIT, SCORES, Calibration, apply_temperature, choose_threshold,
                     confidence, expected_calibration_error, fit_temperature, nll)
from digits.render import render_sample
from digits.training.split import nondigit_split, validation_writers

REPLAYS = 3
CAL_REJECT = 0.005
UNSURE_SHARES = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)  # of CAL_REJECT, tried for the "not sure" rule
N_PER_KIND = 100
TUNE_SEED, REPORT_SEED = 1, 0
DIGIT_BUDGET = 0.01  # the product target: at most 1 % of real digits answered "not sure"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", type=Path, default=MODEL_PATH)
    p.add_argument("--dev", type=Path, default=DEV_PATH,
                   help="UNIPEN dev digits, only measured (default data/unipen-dev.jsonl.gz)")
    p.add_argument("--nondigits-dev", type=Path, default=NONDIGIT_DEV_PATH,
                   help="UNIPEN dev non-digits, only measured (default data/unipen-nondigit-dev.jsonl.gz)")
    p.add_argument("--out", type=Path, default=None,
                   help="where to write the calibration (default: calibration.json beside the model)")
    p.add_argument("--reject-rate", type=float, default=CAL_REJECT,
                   help=f"share of calibration digits to reject (default {CAL_REJECT})")


def run(args: argparse.Namespace) -> int:
    calibrate_model(args.model, args.out, args.dev, args.nondigits_dev, args.reject_rate)
    return 0


def calibrate_model(model: Path = MODEL_PATH, out: Path | None = None, dev: Path = DEV_PATH,
                    nondigits_dev: Path = NONDIGIT_DEV_PATH, reject_rate: float = CAL_REJECT) -> Calibration:
    """Measure, write calibration.json beside the model (or to `out`) and print the figures."""
    held = held_out_samples(model)  # first: a wrong split is refused before any work
    predictor = Predictor.load(model)
    cal, figures = measure(predictor, model, held, dev if dev.is_file() else None,
                           nondigits_dev if nondigits_dev.is_file() else None, reject_rate)
    out = out or Path(model).with_name("calibration.json")
    cal.save(out)
    print(format_figures(figures))
    print(f"wrote {out}")
    print(json.dumps(summary(figures)), flush=True)
    return cal


def held_out_samples(model_path: Path) -> list[Sample]:
    """The UNIPEN-train samples the model did not train on, per the split its report.json records.

    Refuses when the report's validation size does not match: calibrating on training writers
    would make the model look surer than it is on new people.
    """
    report_path = Path(model_path).with_name("report.json")
    training = json.loads(report_path.read_text())["training"] if report_path.is_file() else {}
    samples = read_strokes(UNIPEN_TRAIN)
    writers = validation_writers(samples)
    held = [s for s in samples if s.writer in writers]
    recorded = training.get("data", {}).get("strokes_val")
    if recorded != 2 * len(held):  # mnist_and_strokes renders each validation sample twice
        raise DataError(f"{report_path} records {recorded} validation stroke images, expected "
                        f"{2 * len(held)}: this model was not trained with the full default split, "
                        "so its held-out writers are unknown. Retrain it with `python train.py`.")
    return held


def replays(samples: list[Sample], n: int = REPLAYS) -> tuple[np.ndarray, np.ndarray]:
    """Each sample replayed `n` times (the layout differs per replay), preprocessed like the app."""
    xs, ys = [], []
    for r in range(n):
        for i, s in enumerate(samples):
            x = preprocess_canvas(render_sample(s.strokes, 100_000 * (r + 1) + i, "random"))
            if x is not None:
                xs.append(x)
                ys.append(s.label)
    return np.stack(xs), np.asarray(ys)


def thresholds(p_digits: np.ndarray, score: str, unsure_share: float, rate: float) -> tuple[float, float]:
    """("not sure" threshold, "not a digit" threshold) rejecting at most `rate` of these
    calibrated digit probabilities, `unsure_share` of it by the "not sure" rule."""
    conf = confidence(p_digits, score)
    t_unsure = choose_threshold(conf, rate * unsure_share)
    allowed = max(0, int(np.floor(rate * len(conf) + 1e-9)) - int((conf < t_unsure).sum()))
    p_nd = np.sort(p_digits[conf >= t_unsure, NOT_A_DIGIT])[::-1]
    # "not a digit" from t_nd up: just above the (allowed+1)-th highest, so at most `allowed` go.
    t_nd = float(np.nextafter(p_nd[allowed], np.inf)) if allowed < len(p_nd) else 0.0
    return t_unsure, t_nd


def rejected(cal: Calibration, probs: np.ndarray) -> float:
    return float((cal.verdicts(probs) != DIGIT).mean()) if len(probs) else 0.0


def measure(predictor: Predictor, model_path: Path, held: list[Sample], dev: Path | None,
            nondigits_dev: Path | None, reject_rate: float = CAL_REJECT) -> tuple[Calibration, dict]:
    from digits.evaluation.evaluate import evaluate_nondigits, evaluate_strokes

    x_d, y_d = replays(held)
    _, nd_held = nondigit_split(read_strokes(UNIPEN_NONDIGIT_TRAIN))
    x_n, y_n = replays(nd_held, 1)
    samples, mnist = read_strokes(UNIPEN_TRAIN), load_mnist(verbose=False)
    gen = {name: nondigit_inputs(N_PER_KIND, seed, samples, mnist)
           for name, seed in (("tune", TUNE_SEED), ("report", REPORT_SEED))}

    raw_d, raw_n = predictor.probabilities(x_d), predictor.probabilities(x_n)
    raw_cal, y_cal = np.concatenate([raw_d, raw_n]), np.concatenate([y_d, y_n])
    t = round(fit_temperature(raw_cal, y_cal), 6)  # as stored: thresholds are compared bit for bit
    p_cal = apply_temperature(raw_cal, t)
    fig: dict = {
        "calibration_digits": len(y_d), "calibration_nondigits": len(y_n), "temperature": round(t, 4),
        "nll": [round(nll(raw_cal, y_cal), 4), round(nll(p_cal, y_cal), 4)],
        "ece": [round(expected_calibration_error(raw_cal, y_cal), 4),
                round(expected_calibration_error(p_cal, y_cal), 4)],
        "calibration_reject_rate": reject_rate,
    }
    raw_gen = {name: {k: predictor.probabilities(x) for k, x in sets.items()} for name, sets in gen.items()}

    def nondigit_objective(cal: Calibration) -> float:
        generated = np.mean([rejected(cal, p) for p in raw_gen["tune"].values()])
        return 0.5 * rejected(cal, raw_n) + 0.5 * float(generated)

    p_d = apply_temperature(raw_d, t)
    sha = file_sha256(model_path)
    candidates = []
    for score in SCORES:
        for share in UNSURE_SHARES:
            t_unsure, t_nd = thresholds(p_d, score, share, reject_rate)
            cal = Calibration(t, score, t_unsure, t_nd, sha)
            candidates.append((nondigit_objective(cal), score, share, cal))
    fig["candidates"] = [{"score": sc, "unsure_share": sh, "nondigits_rejected": round(obj, 4),
                          "threshold": c.threshold, "nondigit_threshold": c.nondigit_threshold}
                         for obj, sc, sh, c in candidates]
    best = max(candidates, key=lambda c: c[0])
    cal = best[3]
    fig["chosen"] = {"score": best[1], "unsure_share": best[2], "nondigits_rejected_calibration": round(best[0], 4),
                     "calibration_digits_rejected": round(rejected(cal, raw_d), 4),
                     "calibration_nondigits_rejected": round(rejected(cal, raw_n), 4)}
    fig["generated"] = {k: round(rejected(cal, p), 4) for k, p in raw_gen["report"].items()}
    fig["generated_overall"] = round(float(np.mean(list(fig["generated"].values()))), 4)
    if dev is not None:  # the figures `evaluate --strokes` and `--nondigits` print
        d = evaluate_strokes(predictor, dev, "random", cal)
        fig["dev"] = {k: d[k] for k in ("n", "accuracy", "rejected", "not_a_digit", "not_sure", "accuracy_answered")}
    if nondigits_dev is not None:
        nd = evaluate_nondigits(predictor, cal, nondigits_dev, "random")
        fig["nondigits_dev"] = {"n": nd["n"], "rejected": nd["rejected"]}
    fig.update(threshold=cal.threshold, nondigit_threshold=cal.nondigit_threshold)
    cal = Calibration(cal.temperature, cal.score, cal.threshold, cal.nondigit_threshold, cal.model_sha256, fig)
    return cal, fig


def summary(fig: dict) -> dict:
    """The headline figures as one JSON line (what tests and scripts read)."""
    return {"temperature": fig["temperature"], **{k: fig["chosen"][k] for k in ("score", "unsure_share")},
            "dev_rejected": fig.get("dev", {}).get("rejected"),
            "nondigits_dev_rejected": fig.get("nondigits_dev", {}).get("rejected"),
            "generated_rejected": fig["generated"], "generated_rejected_overall": fig["generated_overall"]}


def format_figures(fig: dict) -> str:
    ch = fig["chosen"]
    lines = [
        f"Calibration: {fig['calibration_digits']} replays of the digits and {fig['calibration_nondigits']} "
        "of the letters and symbols of the UNIPEN-train writers held out from training.",
        f"Temperature T = {fig['temperature']:.3f}: NLL {fig['nll'][0]:.4f} -> {fig['nll'][1]:.4f}, "
        f"ECE {fig['ece'][0]:.2%} -> {fig['ece'][1]:.2%}",
        f"Rules chosen: score {ch['score']}, {ch['unsure_share']:.0%} of the {fig['calibration_reject_rate']:.1%} "
        f"budget to 'not sure' (below {fig['threshold']:.3f}), 'not a digit' from "
        f"p >= {fig['nondigit_threshold']:.3f}; calibration digits rejected {ch['calibration_digits_rejected']:.2%}, "
        f"calibration non-digits rejected {ch['calibration_nondigits_rejected']:.1%}.",
        "",
        f"Generated non-digits rejected (report set, seed {REPORT_SEED}, {N_PER_KIND} per kind):",
    ]
    lines += [f"  {k:<16}{v:>7.1%}" for k, v in fig["generated"].items()]
    lines.append(f"  {'overall':<16}{fig['generated_overall']:>7.1%}")
    if "dev" in fig:
        d = fig["dev"]
        verdict = "meets" if d["rejected"] <= DIGIT_BUDGET else "MISSES"
        lines += ["", f"UNIPEN dev ({d['n']} digits, random replay): {d['rejected']:.2%} rejected "
                      f"({d['not_a_digit']:.2%} 'not a digit', {d['not_sure']:.2%} 'not sure'; {verdict} the "
                      f"{DIGIT_BUDGET:.0%} budget); accuracy {d['accuracy']:.2%} overall, "
                      f"{d['accuracy_answered']:.2%} on the answered ones."]
    if "nondigits_dev" in fig:
        lines.append(f"UNIPEN dev non-digits ({fig['nondigits_dev']['n']}): {fig['nondigits_dev']['rejected']:.1%} rejected.")
    return "\n".join(lines)
