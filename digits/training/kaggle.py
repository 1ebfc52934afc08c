"""Kaggle "Digit Recognizer": train from its train.csv, write a submission for its test.csv.

Its images are MNIST's format already (28x28, digit centred by centre of mass), so they reach
the model as pixel / 255 with no re-centring.
"""

from __future__ import annotations

import csv
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

from digits.data import DataError, iter_kaggle_csv, read_kaggle_csv
from digits.model import MODEL_PATH, Predictor
from digits.evaluation.report import forced_digit
from digits.training.fit import TrainData, to_float


def kaggle_train_data(path: str | os.PathLike, seed: int = 0, val_share: float = 0.2,
                      limit: int | None = None) -> TrainData:
    """train.csv -> TrainData with a stratified 80/20 split; the 20 % is also the report's test set.

    `limit` keeps only that many training rows (quick smoke runs).
    """
    x, y = read_kaggle_csv(path, labels=True)
    train_idx, val_idx = stratified_split(y, val_share, seed)
    if len(val_idx) == 0:
        raise DataError(f"{path}: {len(y)} rows are too few for a {val_share:.0%} validation split")
    train_idx = train_idx[:limit]
    x_val, y_val = to_float(x[val_idx]), y[val_idx].astype(np.int64)
    return TrainData(to_float(x[train_idx]), y[train_idx].astype(np.int64), x_val, y_val, x_val, y_val,
                     {"kaggle_csv": str(path), "kaggle_train": len(train_idx), "kaggle_val": len(val_idx),
                      "test_set": "the 20 % validation split of the CSV"})


def stratified_split(labels: np.ndarray, share: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Shuffled (train, held-out) indices; each digit gives `share` of its rows to the held-out part."""
    rng = np.random.default_rng(seed)
    held = []
    for digit in np.unique(labels):
        rows = rng.permutation(np.flatnonzero(labels == digit))
        held.append(rows[: int(round(share * len(rows)))])
    held_idx = np.concatenate(held) if held else np.zeros(0, np.int64)
    train_idx = np.setdiff1d(np.arange(len(labels)), held_idx)
    return rng.permutation(train_idx), rng.permutation(held_idx)


def predict_csv(csv_path: str | os.PathLike, out: str | os.PathLike, predictor: Predictor | None = None,
                model: str | os.PathLike = MODEL_PATH, show_progress: bool | None = None) -> int:
    """Write Kaggle's submission format (`ImageId,Label`, ids from 1) for every row; returns the count.

    Reads and predicts a chunk at a time, so memory stays flat for any file size. The output is
    written beside the target and renamed at the end: a failure never leaves half a file. The
    model is loaded (unless given) once the first rows have parsed, so bad input fails at once.
    """
    out = Path(out)
    if not out.parent.is_dir():
        raise DataError(f"{out.parent}: no such folder for the output")
    bar = _Progress(f"Predicting {csv_path}", sys.stderr.isatty() if show_progress is None else show_progress)
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
    count = 0
    try:
        with os.fdopen(fd, "w", newline="") as f:
            writer = csv.writer(f, lineterminator="\n")
            writer.writerow(["ImageId", "Label"])
            for images, _ in iter_kaggle_csv(csv_path, labels=None, progress=bar.update):
                predictor = predictor or Predictor.load(model)
                digits = forced_digit(predictor.probabilities(to_float(images)))  # the format needs a digit
                writer.writerows(zip(range(count + 1, count + len(digits) + 1), digits.tolist()))
                count += len(digits)
        os.chmod(tmp, 0o644)  # mkstemp makes it private; a submission is an ordinary file
        os.replace(tmp, out)
    finally:
        bar.close()
        if os.path.exists(tmp):
            os.remove(tmp)
    return count


class _Progress:
    """A one-line bar on stderr, redrawn in place; silent when stderr is not a terminal."""

    def __init__(self, title: str, enabled: bool) -> None:
        self.title, self.enabled, self.drawn = title, enabled, False

    def update(self, share: float) -> None:
        if self.enabled:
            filled = int(30 * share)
            print(f"\r{self.title} [{'#' * filled}{'.' * (30 - filled)}] {share:4.0%}",
                  end="", file=sys.stderr, flush=True)
            self.drawn = True

    def close(self) -> None:
        if self.drawn:
            print(file=sys.stderr)
