"""Accuracy on MNIST test and on real pen strokes replayed through the canvas pipeline, and how
often drawings that are not digits get "that's not a digit" or "not sure".

Every drawing takes the Draw page's path: the replay protocol draws it on a 280x280 canvas
(digits.render), digits.preprocess makes the 28x28 input, and digits.answer.Reader gives the
calibrated probabilities and the verdict. "Digits right" is the forced choice among 0-9;
refusals ("not a digit", "not sure"), digits named wrong and contradictions (a named digit that
the shown probabilities do not back) are counted separately.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable

import numpy as np

from digits.data import Sample, iter_strokes, load_mnist
from digits.answer import DIGIT, NOT_DIGIT, UNSURE, Reader, contradictions
from digits.preprocess import preprocess_canvas
from digits.render import render_sample, replay_layout
from digits.strokes import FEATURES, SEQ_LEN, as_sent, sequence
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


def replay_sequences(path: str | os.PathLike, variant: str = "random") -> np.ndarray:
    """Every sample's pen path under the same replay, as the canvas would send it: (N, 64, 5)."""
    seqs = [sequence(as_sent(replay_layout(s.strokes, i, variant))) for i, s in enumerate(iter_strokes(path))]
    return np.asarray(seqs, np.float32).reshape(-1, SEQ_LEN, FEATURES)


def replay_inputs(path: str | os.PathLike, variant: str = "random",
                  prepare: Callable[[np.ndarray], np.ndarray | None] = preprocess_canvas,
                  ) -> tuple[np.ndarray, np.ndarray]:
    x, samples = replay(path, variant, prepare)
    return x, np.asarray([s.label for s in samples], np.int64)


def rejection_summary(reader: Reader, probs: np.ndarray, verdicts: np.ndarray, fused: bool = False) -> dict:
    """Shares refused ("not a digit", "not sure") and contradictions, for any set of drawings."""
    n = len(verdicts)
    share = lambda mask: round(float(np.mean(mask)), 4) if n else None  # noqa: E731
    return {"rejected": share(verdicts != DIGIT), "not_a_digit": share(verdicts == NOT_DIGIT),
            "not_sure": share(verdicts == UNSURE),
            "contradictions": int(contradictions(probs, verdicts == DIGIT, reader.threshold(fused)).sum())}


def both_paths(reader: Reader, measure: Callable[[np.ndarray | None], dict], seqs: Callable[[], np.ndarray]) -> dict:
    """`measure` with the pen's path (when the reader has a trajectory model), with the bitmap
    alone under "bitmap_only" beside it, so each gain is visible."""
    if not reader.reads_strokes:
        return {**measure(None), "path": "bitmap"}
    return {**measure(seqs()), "path": "strokes", "bitmap_only": measure(None)}


def evaluate_strokes(reader: Reader, path: str | os.PathLike, variant: str = "random") -> dict:
    """Digit files: forced-choice accuracy, the share refused, the accuracy on the drawings the
    app does answer, and the share named wrong (a digit named, not the one drawn)."""
    x, y = replay_inputs(path, variant)

    def measure(seqs: np.ndarray | None) -> dict:
        probs = reader.probabilities(x, seqs)
        pred = forced_digit(probs)
        verdicts = reader.verdicts(probs, seqs is not None)
        answered = verdicts == DIGIT
        summary = {**accuracy_summary(y, pred), **rejection_summary(reader, probs, verdicts, seqs is not None)}
        summary["accuracy_answered"] = round(float((pred == y)[answered].mean()), 4) if answered.any() else None
        summary["wrong"] = round(float((answered & (pred != y)).mean()), 4) if len(y) else None
        return summary

    result = both_paths(reader, measure, lambda: replay_sequences(path, variant))
    if reader.reads_strokes:  # for the ablation: the pen-path model alone (forced choice)
        alone = reader.strokes.probabilities(replay_sequences(path, variant))
        result["trajectory_only_accuracy"] = round(float((forced_digit(alone) == y).mean()), 4)
    return result


def evaluate_nondigits(reader: Reader, path: str | os.PathLike, variant: str = "random") -> dict:
    """Non-digit files: the share rejected overall, per kind and per character, and the
    characters most often read as a digit (with the digit they are read as)."""
    x, samples = replay(path, variant)
    kinds = np.asarray([s.kind or "other" for s in samples])
    chars = np.asarray([s.char for s in samples])

    def measure(seqs: np.ndarray | None) -> dict:
        probs = reader.probabilities(x, seqs)
        verdicts = reader.verdicts(probs, seqs is not None)
        digits = forced_digit(probs)
        per_kind = {k: round(float((verdicts[kinds == k] != DIGIT).mean()), 4) for k in sorted(set(kinds))}
        per_char = {c: round(float((verdicts[chars == c] != DIGIT).mean()), 4) for c in sorted(set(chars))}
        read_as = {c: Counter(digits[(chars == c) & (verdicts == DIGIT)].tolist()).most_common(1)
                   for c in per_char}
        worst = sorted(per_char, key=lambda c: per_char[c])[:8]
        return {"n": len(samples), **rejection_summary(reader, probs, verdicts, seqs is not None),
                "per_kind": per_kind, "per_char": per_char,
                "read_as_digit": [{"char": c, "rejected": per_char[c],
                                   "read_as": read_as[c][0][0] if read_as[c] else None} for c in worst]}

    return both_paths(reader, measure, lambda: replay_sequences(path, variant))


def evaluate_generated(reader: Reader, digits: list[Sample], n_per_kind: int = 100, seed: int = 0) -> dict:
    """The generated doodles of digits.doodles (a set no member trained on): share
    rejected per kind (kinds drawn with strokes are read with them, as on the Draw page)."""
    from digits.doodles import nondigit_inputs

    sets = nondigit_inputs(n_per_kind, seed, digits, load_mnist(verbose=False))

    def measure(use_strokes: bool) -> dict:
        per_kind, contradicted = {}, 0
        for kind, (x, seqs) in sets.items():
            fused = use_strokes and seqs is not None and reader.reads_strokes
            probs = reader.probabilities(x, seqs if fused else None)
            summary = rejection_summary(reader, probs, reader.verdicts(probs, fused), fused)
            per_kind[kind], contradicted = summary["rejected"], contradicted + summary["contradictions"]
        return {"n": n_per_kind * len(sets), "rejected": round(float(np.mean(list(per_kind.values()))), 4),
                "per_kind": per_kind, "contradictions": contradicted}

    if not reader.reads_strokes:
        return {**measure(False), "path": "bitmap"}
    return {**measure(True), "path": "strokes", "bitmap_only": measure(False)}


def evaluate_mnist(reader: Reader) -> dict:
    """MNIST test, forced choice among 0-9 (the bitmap path)."""
    mnist = load_mnist()
    x = mnist.x_test.astype(np.float32) / 255.0
    return accuracy_summary(mnist.y_test, forced_digit(reader.probabilities(x)))
