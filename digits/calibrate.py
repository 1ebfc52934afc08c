"""`python -m digits calibrate`: fit the "not sure" rule and write model/calibration.json.

Protocol (nothing here is fitted on UNIPEN dev):
1. Calibration digits: the UNIPEN-train writers the shipped model held out for validation
   (digits.training.validation_writers), each sample replayed REPLAYS times through the canvas
   protocol (random size and place) and preprocessed like the app.
2. Temperature: the T that minimises their negative log-likelihood.
3. For each confidence score (max probability, margin, negative entropy): the threshold that
   rejects CAL_REJECT of those digits. CAL_REJECT is half the 1 % budget, leaving room for new
   writers being less tidy than the calibration ones.
4. The score kept is the one that rejects the most generated non-digits of a tuning set (seed 1).
5. Reported: the rejection of UNIPEN dev digits (random replay) and of a separate non-digit
   set (seed 0), per kind.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from .data import DataError, Sample, load_mnist, read_strokes
from .model import MODEL_PATH, Predictor
from .nondigits import nondigit_inputs
from .preprocess import preprocess_canvas
from .reject import (SCORES, Calibration, apply_temperature, choose_threshold, confidence,
                     expected_calibration_error, file_sha256, fit_temperature, nll, rejection_rate)
from .render import render_sample
from .training import REPO, UNIPEN_TRAIN, validation_writers

DEV_PATH = REPO.parent / "shared" / "data" / "unipen-dev.jsonl.gz"
REPLAYS = 3
CAL_REJECT = 0.005
N_PER_KIND = 100
TUNE_SEED, REPORT_SEED = 1, 0
DIGIT_BUDGET = 0.01  # the product target: at most 1 % of real digits answered "not sure"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", type=Path, default=MODEL_PATH)
    p.add_argument("--dev", type=Path, default=DEV_PATH,
                   help="UNIPEN dev stroke file, only measured (default ../shared/data/unipen-dev.jsonl.gz)")
    p.add_argument("--out", type=Path, default=None,
                   help="where to write the calibration (default: calibration.json beside the model)")
    p.add_argument("--reject-rate", type=float, default=CAL_REJECT,
                   help=f"share of calibration digits to reject (default {CAL_REJECT})")


def run(args: argparse.Namespace) -> int:
    held = held_out_samples(args.model)  # first: a wrong split is refused before any work
    predictor = Predictor.load(args.model)
    cal, figures = measure(predictor, args.model, held, args.dev if args.dev.is_file() else None,
                           args.reject_rate)
    out = args.out or Path(args.model).with_name("calibration.json")
    cal.save(out)
    print(format_figures(figures))
    print(f"wrote {out}")
    print(json.dumps(summary(figures)))
    return 0


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


def held_out_digits(held: list[Sample], replays: int = REPLAYS) -> tuple[np.ndarray, np.ndarray]:
    """Each held-out sample replayed `replays` times (the layout differs per replay)."""
    xs, ys = [], []
    for r in range(replays):
        for i, s in enumerate(held):
            xs.append(preprocess_canvas(render_sample(s.strokes, 100_000 * (r + 1) + i, "random")))
            ys.append(s.label)
    return np.stack(xs), np.asarray(ys)


def dev_digits(path: Path) -> tuple[np.ndarray, np.ndarray]:
    from .evaluate import replay_inputs

    return replay_inputs(path, "random")


def measure(predictor: Predictor, model_path: Path, held: list[Sample], dev: Path | None,
            reject_rate: float = CAL_REJECT) -> tuple[Calibration, dict]:
    x_cal, y_cal = held_out_digits(held)
    raw_cal = predictor.probabilities(x_cal)
    t = fit_temperature(raw_cal, y_cal)
    p_cal = apply_temperature(raw_cal, t)
    fig: dict = {
        "calibration_digits": len(y_cal), "temperature": round(t, 4),
        "nll": [round(nll(raw_cal, y_cal), 4), round(nll(p_cal, y_cal), 4)],
        "ece": [round(expected_calibration_error(raw_cal, y_cal), 4),
                round(expected_calibration_error(p_cal, y_cal), 4)],
        "calibration_reject_rate": reject_rate,
    }

    samples, mnist = read_strokes(UNIPEN_TRAIN), load_mnist(verbose=False)
    nd = {name: nondigit_inputs(N_PER_KIND, seed, samples, mnist)
          for name, seed in (("tune", TUNE_SEED), ("report", REPORT_SEED))}
    nd_probs = {name: {k: apply_temperature(predictor.probabilities(x), t) for k, x in sets.items()}
                for name, sets in nd.items()}
    if dev is not None:
        x_dev, y_dev = dev_digits(dev)
        p_dev = apply_temperature(predictor.probabilities(x_dev), t)

    fig["scores"] = {}
    for kind in SCORES:
        thr = choose_threshold(confidence(p_cal, kind), reject_rate)
        row = {"threshold": thr}
        for name, per_kind in nd_probs.items():
            rates = {k: rejection_rate(confidence(p, kind), thr) for k, p in per_kind.items()}
            row[f"nondigits_{name}"] = {k: round(v, 4) for k, v in rates.items()}
            row[f"nondigits_{name}_overall"] = round(float(np.mean(list(rates.values()))), 4)
        if dev is not None:
            sc = confidence(p_dev, kind)
            right = p_dev.argmax(axis=1) == y_dev
            row["dev_rejected"] = round(rejection_rate(sc, thr), 4)
            row["dev_accuracy_accepted"] = round(float(right[sc >= thr].mean()), 4)
            row["dev_errors_rejected"] = round(float((sc[~right] < thr).mean()), 4) if (~right).any() else None
        fig["scores"][kind] = row

    best = max(SCORES, key=lambda k: fig["scores"][k]["nondigits_tune_overall"])
    fig["chosen"] = best
    if dev is not None:
        fig["dev"] = {"n": len(y_dev), "accuracy": round(float((p_dev.argmax(axis=1) == y_dev).mean()), 4)}
    cal = Calibration(round(t, 6), best, fig["scores"][best]["threshold"], file_sha256(model_path), fig)
    return cal, fig


def summary(fig: dict) -> dict:
    """The headline figures as one JSON line (what tests and scripts read)."""
    row = fig["scores"][fig["chosen"]]
    return {"temperature": fig["temperature"], "score": fig["chosen"], "threshold": row["threshold"],
            "dev_rejected": row.get("dev_rejected"), "nondigits_rejected": row["nondigits_report"],
            "nondigits_rejected_overall": row["nondigits_report_overall"]}


def format_figures(fig: dict) -> str:
    n = fig["calibration_digits"]
    lines = [
        f"Calibration digits: {n} replays of the UNIPEN-train writers held out from training.",
        f"Temperature T = {fig['temperature']:.3f}: NLL {fig['nll'][0]:.4f} -> {fig['nll'][1]:.4f}, "
        f"ECE {fig['ece'][0]:.2%} -> {fig['ece'][1]:.2%}",
        f"Thresholds reject {fig['calibration_reject_rate']:.1%} of the calibration digits.",
        "",
        f"  {'score':<12}{'threshold':>10}{'non-digits rejected':>21}{'(report set)':>14}"
        f"{'dev digits rejected':>21}{'dev acc. kept':>15}",
        f"  {'':<12}{'':>10}{'(tuning set)':>21}",
    ]
    for kind, row in fig["scores"].items():
        dev = (f"{row['dev_rejected']:>21.2%}{row['dev_accuracy_accepted']:>15.2%}"
               if "dev_rejected" in row else f"{'-':>21}{'-':>15}")
        mark = "  <- chosen" if kind == fig["chosen"] else ""
        lines.append(f"  {kind:<12}{row['threshold']:>10.4f}{row['nondigits_tune_overall']:>21.1%}"
                     f"{row['nondigits_report_overall']:>14.1%}{dev}{mark}")
    row = fig["scores"][fig["chosen"]]
    lines += ["", f"Non-digits rejected with {fig['chosen']} (report set, {N_PER_KIND} per kind):"]
    lines += [f"  {k:<16}{v:>7.1%}" for k, v in row["nondigits_report"].items()]
    lines.append(f"  {'overall':<16}{row['nondigits_report_overall']:>7.1%}")
    if "dev" in fig:
        verdict = "meets" if row["dev_rejected"] <= DIGIT_BUDGET else "MISSES"
        lines += ["", f"UNIPEN dev ({fig['dev']['n']} digits, random replay): {row['dev_rejected']:.2%} "
                      f"answered 'not sure' ({verdict} the {DIGIT_BUDGET:.0%} budget); accuracy "
                      f"{fig['dev']['accuracy']:.2%} overall, {row['dev_accuracy_accepted']:.2%} on the "
                      f"answered ones; {row['dev_errors_rejected']:.0%} of its errors are caught."]
    else:
        lines += ["", "UNIPEN dev not found: its rejection rate was not measured."]
    return "\n".join(lines)
