"""Accuracy on MNIST test and on real pen strokes replayed through the canvas pipeline, and how
often drawings that are not digits get "that's not a digit" or "not sure".

Every drawing takes the Draw page's path: the replay protocol draws it on a 280x280 canvas
(digits.render), digits.preprocess makes the 28x28 input, the served graph gives 11
probabilities, and the calibration (digits.answer) gives the verdict. "Digits right" is the
forced choice among 0-9; rejection is counted separately.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable

import numpy as np

from digits.data import Sample, iter_strokes, load_mnist
from digits.model import Predictor
from digits.preprocess import preprocess_canvas
from digits.answer import DIGIT, NOT_DIGIT, UNSURE, Calibration
from digits.render import render_sample
from digits.evaluation.report import accuracy_summary, forced_digit


def replay(path: str | os.PathLike, variant: str = "random",
           prepare: Callable[[np.ndarray], np.ndarray | None] = preprocess_canvas,
           ) -> tuple[np.ndarray, list[Sample]]:
    """Every sample of a stroke file rendered by the replay protocol and prepared for the model.

    An empty result (nothing drawn) becomes a blank input.
    """
    xs, samples = [], []
    for i, sample in enumerate(iter_strokes(path)):
        x = prepare(render_sample(sample.strokes, i, variant))
        xs.append(np.zeros((28, 28), np.float32) if x is None else x)
        samples.append(sample)
    return np.asarray(xs, np.float32).reshape(-1, 28, 28), samples


def replay_inputs(path: str | os.PathLike, variant: str = "random",
                  prepare: Callable[[np.ndarray], np.ndarray | None] = preprocess_canvas,
                  ) -> tuple[np.ndarray, np.ndarray]:
    x, samples = replay(path, variant, prepare)
    return x, np.asarray([s.label for s in samples], np.int64)


def rejection_summary(verdicts: np.ndarray) -> dict:
    return {"rejected": round(float((verdicts != DIGIT).mean()), 4) if len(verdicts) else None,
            "not_a_digit": round(float((verdicts == NOT_DIGIT).mean()), 4) if len(verdicts) else None,
            "not_sure": round(float((verdicts == UNSURE).mean()), 4) if len(verdicts) else None}


def evaluate_strokes(predictor: Predictor, path: str | os.PathLike, variant: str = "random",
                     calibration: Calibration | None = None) -> dict:
    """Digit files: forced-choice accuracy, and with a calibration the share rejected and the
    accuracy on the drawings the app does answer."""
    x, y = replay_inputs(path, variant)
    probs = predictor.probabilities(x)
    pred = forced_digit(probs)
    summary = accuracy_summary(y, pred)
    if calibration is not None:
        verdicts = calibration.verdicts(probs)
        answered = verdicts == DIGIT
        summary.update(rejection_summary(verdicts))
        summary["accuracy_answered"] = round(float((pred == y)[answered].mean()), 4) if answered.any() else None
    return summary


def evaluate_nondigits(predictor: Predictor, calibration: Calibration, path: str | os.PathLike,
                       variant: str = "random") -> dict:
    """Non-digit files: the share rejected overall, per kind and per character, and the
    characters most often read as a digit (with the digit they are read as)."""
    x, samples = replay(path, variant)
    probs = predictor.probabilities(x)
    verdicts = calibration.verdicts(probs)
    digits = forced_digit(probs)
    kinds = np.asarray([s.kind or "other" for s in samples])
    chars = np.asarray([s.char for s in samples])
    per_kind = {k: round(float((verdicts[kinds == k] != DIGIT).mean()), 4) for k in sorted(set(kinds))}
    per_char = {c: round(float((verdicts[chars == c] != DIGIT).mean()), 4) for c in sorted(set(chars))}
    read_as = {c: Counter(digits[(chars == c) & (verdicts == DIGIT)].tolist()).most_common(1)
               for c in per_char}
    worst = sorted(per_char, key=lambda c: per_char[c])[:8]
    return {"n": len(samples), **rejection_summary(verdicts), "per_kind": per_kind, "per_char": per_char,
            "read_as_digit": [{"char": c, "rejected": per_char[c],
                               "read_as": read_as[c][0][0] if read_as[c] else None} for c in worst]}


def evaluate_generated(predictor: Predictor, calibration: Calibration, digits: list[Sample],
                       n_per_kind: int = 100, seed: int = 0) -> dict:
    """The generated doodles of digits.evaluation.doodles (a set no member trained on): share rejected per kind."""
    from digits.evaluation.doodles import nondigit_inputs

    sets = nondigit_inputs(n_per_kind, seed, digits, load_mnist(verbose=False))
    per_kind = {k: round(float((calibration.verdicts(predictor.probabilities(x)) != DIGIT).mean()), 4)
                for k, x in sets.items()}
    return {"n": n_per_kind * len(sets), "rejected": round(float(np.mean(list(per_kind.values()))), 4),
            "per_kind": per_kind}


def evaluate_mnist(predictor: Predictor) -> dict:
    mnist = load_mnist()
    x = mnist.x_test.astype(np.float32) / 255.0
    return accuracy_summary(mnist.y_test, forced_digit(predictor.probabilities(x)))
