"""`python -m digits calibrate`: fit the answer rules and write model/calibration.json.

Protocol (nothing here is fitted on the dev files):
1. Calibration drawings: the UNIPEN-train writers every ensemble member held out for validation
   (digits.training.split.validation_writers), each digit replayed REPLAYS times through the canvas
   protocol (random size and place) and preprocessed like the app; the held-out writers' letters
   and symbols (digits.training.split.nondigit_split), and a tuning set of generated doodles (seed 1).
2. Temperature: the T that minimises their negative log-likelihood (11 classes).
3. The answer rule (digits.answer: the top of the eleven shown outputs; a digit needs at least
   `threshold` >= 50 %): for each bias on the "not a digit" output and each threshold on a grid,
   the share of calibration digits refused. CAL_REJECT is half the 1 % budget, leaving room
   for new writers being less tidy than the calibration ones.
4. Kept: of the pairs within CAL_REJECT, the one that refuses the most calibration non-digits
   (real and generated, half each).
5. Reported, never used to choose: UNIPEN dev digits (random replay), UNIPEN dev non-digits, and
   a separate generated set (seed 0), per kind.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np

from digits.data import (DEV_PATH, NONDIGIT_DEV_PATH, UNIPEN_NONDIGIT_TRAIN, UNIPEN_TRAIN_FILES, DataError,
                         Sample, load_mnist, read_strokes)
from digits.inference import StrokeNetwork, file_sha256
from digits.model import MODEL_PATH, Predictor
from digits.doodles import nondigit_inputs
from digits.preprocess import preprocess_canvas
from digits.answer import (DIGIT, STROKES_NAME, Calibration, Reader, apply_temperature,
                           expected_calibration_error, fit_temperature, fuse, nll)
from digits.render import draw, replay_layout
from digits.strokes import as_sent, sequence
from digits.training.split import nondigit_split, validation_writers

REPLAYS = 3
CAL_REJECT = 0.0075
BIASES = np.round(np.arange(-6.0, 3.01, 0.1), 2)  # added to the "not a digit" logit
WEIGHTS = np.round(np.arange(0.0, 2.01, 0.1), 2)  # the trajectory model's weight when fused
THRESHOLDS = np.round(np.arange(0.5, 0.951, 0.025), 3)  # the shown probability a named digit needs
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
    samples = read_strokes(UNIPEN_TRAIN_FILES)
    writers = validation_writers(samples)
    held = [s for s in samples if s.writer in writers]
    recorded = training.get("data", {}).get("strokes_val")
    if recorded != 2 * len(held):  # mnist_and_strokes renders each validation sample twice
        raise DataError(f"{report_path} records {recorded} validation stroke images, expected "
                        f"{2 * len(held)}: this model was not trained with the full default split, "
                        "so its held-out writers are unknown. Retrain it with `python train.py`.")
    return held


def replays(samples: list[Sample], n: int = REPLAYS) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each sample replayed `n` times (the layout differs per replay): the 28x28 inputs as the app
    makes them, the pen paths as the canvas would send them, and the labels."""
    rows = list(replay_rows(samples, n))
    return (np.stack([x for _, _, x, _ in rows]), np.stack([q for _, _, _, q in rows]).astype(np.float32),
            np.asarray([samples[i].label for _, i, _, _ in rows]))


def replay_rows(samples: list[Sample], n: int = REPLAYS) -> Iterator[tuple[int, int, np.ndarray, np.ndarray]]:
    """(replay, sample index, 28x28 input, pen path) for each drawing `replays` keeps (the
    visitor simulation of digits.evaluation.adapt replays the same drawings)."""
    for r in range(n):
        for i, s in enumerate(samples):
            layout = replay_layout(s.strokes, 100_000 * (r + 1) + i, "random")
            x = preprocess_canvas(draw(layout))
            if x is not None:
                yield r, i, x, sequence(as_sent(layout))


def rejected(cal: Calibration, probs: np.ndarray) -> float:
    return float((cal.verdicts(probs) != DIGIT).mean()) if len(probs) else 0.0


def measure(predictor: Predictor, model_path: Path, held: list[Sample], dev: Path | None,
            nondigits_dev: Path | None, reject_rate: float = CAL_REJECT) -> tuple[Calibration, dict]:
    """Fit both paths' calibrations (the bitmap alone; fused with the trajectory graph beside the
    model, when there is one) and measure them."""
    from digits.evaluation.evaluate import evaluate_nondigits, evaluate_strokes

    x_d, s_d, y_d = replays(held)
    _, nd_held = nondigit_split(read_strokes(UNIPEN_NONDIGIT_TRAIN))
    x_n, s_n, y_n = replays(nd_held, 1)
    samples, mnist = read_strokes(UNIPEN_TRAIN_FILES), load_mnist(verbose=False)
    gen = {name: nondigit_inputs(N_PER_KIND, seed, samples, mnist)
           for name, seed in (("tune", TUNE_SEED), ("report", REPORT_SEED))}
    raw = {"digits": predictor.probabilities(x_d), "nondigits": predictor.probabilities(x_n),
           "tune": [predictor.probabilities(x) for x, _ in gen["tune"].values()]}
    fig: dict = {"calibration_digits": len(y_d), "calibration_nondigits": len(y_n),
                 "calibration_reject_rate": reject_rate}
    sha = file_sha256(model_path)
    cal = fit_path(raw, y_d, y_n, reject_rate, sha, fig)
    raw_report = {k: predictor.probabilities(x) for k, (x, _) in gen["report"].items()}  # read once, both paths
    fig["generated"] = {k: round(rejected(cal, p), 4) for k, p in raw_report.items()}
    fig["generated_overall"] = round(float(np.mean(list(fig["generated"].values()))), 4)

    strokes_path = Path(model_path).with_name(STROKES_NAME)
    net = None
    if strokes_path.is_file():  # the fused path: the weight, then its own temperature and rule
        net = StrokeNetwork.load(strokes_path)
        st_d, st_n = net.probabilities(s_d), net.probabilities(s_n)
        weight = fit_weight(raw["digits"], raw["nondigits"], st_d, st_n, y_d, y_n)
        fused = {"digits": fuse(raw["digits"], st_d, weight), "nondigits": fuse(raw["nondigits"], st_n, weight),
                 "tune": [fuse(r, net.probabilities(s), weight) if s is not None else r
                          for r, (_, s) in zip(raw["tune"], gen["tune"].values())]}
        sfig: dict = {"stroke_weight": weight, "trajectory_alone_accuracy_calibration_digits":
                      round(float((st_d[:, :10].argmax(1) == y_d).mean()), 4)}
        scal = replace(fit_path(fused, y_d, y_n, reject_rate, file_sha256(strokes_path), sfig), stroke_weight=weight)
        sfig["generated"] = {
            k: round(rejected(scal, fuse(raw_report[k], net.probabilities(s), weight) if s is not None
                              else raw_report[k]), 4)
            for k, (_, s) in gen["report"].items()}
        sfig["generated_overall"] = round(float(np.mean(list(sfig["generated"].values()))), 4)
        fig["strokes"] = sfig
        cal = replace(cal, strokes=replace(scal, figures=sfig))
    cal = replace(cal, model_sha256=sha)
    reader = Reader(predictor, cal, net)  # the trajectory graph loaded above, not a second time
    if dev is not None:  # the figures `evaluate --strokes` and `--nondigits` print
        fig["dev"] = dev_figures(evaluate_strokes(reader, dev, "random"),
                                 ("n", "accuracy", "rejected", "not_a_digit", "not_sure", "accuracy_answered", "wrong"))
    if nondigits_dev is not None:
        fig["nondigits_dev"] = dev_figures(evaluate_nondigits(reader, nondigits_dev, "random"), ("n", "rejected"))
    return replace(cal, figures=fig), fig


def dev_figures(result: dict, keys: tuple[str, ...]) -> dict:
    """Those keys of an evaluate result, and of its bitmap-only half when there is one."""
    out = {k: result[k] for k in keys}
    if "bitmap_only" in result:
        out["bitmap_only"] = {k: result["bitmap_only"][k] for k in keys}
    return out


def fit_weight(bitmap_d: np.ndarray, bitmap_n: np.ndarray, strokes_d: np.ndarray, strokes_n: np.ndarray,
               y_d: np.ndarray, y_n: np.ndarray) -> float:
    """The trajectory model's weight in the fused log-probabilities: the one (on a grid, each
    with its best temperature) with the lowest NLL on the held-out writers."""
    bitmap, strokes = np.concatenate([bitmap_d, bitmap_n]), np.concatenate([strokes_d, strokes_n])
    labels = np.concatenate([y_d, y_n])

    def loss(w: float) -> float:
        fused = fuse(bitmap, strokes, w)
        return nll(apply_temperature(fused, fit_temperature(fused, labels)), labels)

    return float(min(WEIGHTS, key=loss))


def fit_path(raw: dict, y_d: np.ndarray, y_n: np.ndarray, reject_rate: float, sha: str, fig: dict) -> Calibration:
    """One path's calibration from its raw probabilities on the held-out writers' digits and
    non-digits and the tuning doodles: the temperature, then the bias and threshold."""
    raw_cal, y_cal = np.concatenate([raw["digits"], raw["nondigits"]]), np.concatenate([y_d, y_n])
    t = round(fit_temperature(raw_cal, y_cal), 6)  # as stored: thresholds are compared bit for bit
    p_cal = apply_temperature(raw_cal, t)
    fig.update({"temperature": round(t, 4),
                "nll": [round(nll(raw_cal, y_cal), 4), round(nll(p_cal, y_cal), 4)],
                "ece": [round(expected_calibration_error(raw_cal, y_cal), 4),
                        round(expected_calibration_error(p_cal, y_cal), 4)]})
    return fit_rule(t, raw["digits"], raw["nondigits"], raw["tune"], reject_rate, sha, fig)


def fit_rule(temperature: float, raw_digits: np.ndarray, raw_nondigits: np.ndarray,
             raw_generated: list[np.ndarray], reject_rate: float, sha: str, fig: dict) -> Calibration:
    """The "not a digit" bias and the threshold: of the pairs that refuse at most `reject_rate`
    of the calibration digits, the one that refuses the most calibration non-digits (real and
    generated, half each); if none does, the one that refuses the fewest digits."""
    candidates = []
    for bias in BIASES:
        for threshold in THRESHOLDS:
            cal = Calibration(temperature, float(bias), float(threshold), sha)
            digits_refused = rejected(cal, raw_digits)
            generated = float(np.mean([rejected(cal, p) for p in raw_generated]))
            candidates.append((digits_refused <= reject_rate, 0.5 * rejected(cal, raw_nondigits) + 0.5 * generated,
                               -digits_refused, cal))
    ok, objective, minus_refused, cal = max(candidates, key=lambda c: (c[0], c[1] if c[0] else c[2], c[2]))
    fig["chosen"] = {"nondigit_bias": cal.nondigit_bias, "threshold": cal.threshold, "within_budget": bool(ok),
                     "nondigits_rejected_calibration": round(objective, 4),
                     "calibration_digits_rejected": round(-minus_refused, 4),
                     "calibration_nondigits_rejected": round(rejected(cal, raw_nondigits), 4)}
    fig.update(threshold=cal.threshold, nondigit_bias=cal.nondigit_bias)
    return cal


def summary(fig: dict) -> dict:
    """The headline figures as one JSON line (what tests and scripts read)."""
    return {"temperature": fig["temperature"], **{k: fig["chosen"][k] for k in ("nondigit_bias", "threshold")},
            "dev_rejected": fig.get("dev", {}).get("rejected"),
            "nondigits_dev_rejected": fig.get("nondigits_dev", {}).get("rejected"),
            "generated_rejected": fig["generated"], "generated_rejected_overall": fig["generated_overall"],
            "stroke_weight": fig.get("strokes", {}).get("stroke_weight")}


def format_figures(fig: dict) -> str:
    ch = fig["chosen"]
    lines = [
        f"Calibration: {fig['calibration_digits']} replays of the digits and {fig['calibration_nondigits']} "
        "of the letters and symbols of the UNIPEN-train writers held out from training.",
        f"Temperature T = {fig['temperature']:.3f}: NLL {fig['nll'][0]:.4f} -> {fig['nll'][1]:.4f}, "
        f"ECE {fig['ece'][0]:.2%} -> {fig['ece'][1]:.2%}",
        f"Rule chosen: 'not a digit' bias {ch['nondigit_bias']:+.2f}, a digit named from {ch['threshold']:.1%} "
        f"(budget {fig['calibration_reject_rate']:.1%}{'' if ch['within_budget'] else ', NOT met'}); "
        f"calibration digits refused {ch['calibration_digits_rejected']:.2%}, "
        f"calibration non-digits refused {ch['calibration_nondigits_rejected']:.1%}.",
    ]
    if "strokes" in fig:
        sf, sc = fig["strokes"], fig["strokes"]["chosen"]
        lines.append(
            f"With the pen's path (fused, trajectory weight {sf['stroke_weight']:.1f}): T = {sf['temperature']:.3f}, "
            f"'not a digit' bias {sc['nondigit_bias']:+.2f}, a digit named from {sc['threshold']:.1%}; calibration "
            f"digits refused {sc['calibration_digits_rejected']:.2%}, non-digits refused "
            f"{sc['calibration_nondigits_rejected']:.1%}; generated (report set) refused {sf['generated_overall']:.1%}.")
    lines += ["", f"Generated non-digits rejected, picture alone (report set, seed {REPORT_SEED}, {N_PER_KIND} per kind):"]
    lines += [f"  {k:<16}{v:>7.1%}" for k, v in fig["generated"].items()]
    lines.append(f"  {'overall':<16}{fig['generated_overall']:>7.1%}")
    if "dev" in fig:
        d = fig["dev"]
        verdict = "meets" if d["rejected"] <= DIGIT_BUDGET else "MISSES"
        lines += ["", f"UNIPEN dev ({d['n']} digits, random replay): {d['rejected']:.2%} rejected "
                      f"({d['not_a_digit']:.2%} 'not a digit', {d['not_sure']:.2%} 'not sure'; {verdict} the "
                      f"{DIGIT_BUDGET:.0%} budget); accuracy {d['accuracy']:.2%} overall, "
                      f"{d['accuracy_answered']:.2%} on the answered ones; named wrong {d['wrong']:.2%}."]
    if "nondigits_dev" in fig:
        lines.append(f"UNIPEN dev non-digits ({fig['nondigits_dev']['n']}): {fig['nondigits_dev']['rejected']:.1%} rejected.")
    return "\n".join(lines)
