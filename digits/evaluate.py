"""Accuracy on MNIST test and on real pen strokes replayed through the canvas pipeline."""

from __future__ import annotations

import os
from collections.abc import Callable

import numpy as np

from .data import iter_strokes, load_mnist
from .model import Predictor
from .preprocess import preprocess_canvas
from .render import render_sample
from .report import accuracy_summary


def replay_inputs(path: str | os.PathLike, variant: str = "random",
                  prepare: Callable[[np.ndarray], np.ndarray | None] = preprocess_canvas,
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Every sample of a stroke file rendered by the replay protocol and prepared for the model.

    An empty result (nothing drawn) becomes a blank input, which then counts as an error.
    """
    xs, ys = [], []
    for i, sample in enumerate(iter_strokes(path)):
        x = prepare(render_sample(sample.strokes, i, variant))
        xs.append(np.zeros((28, 28), np.float32) if x is None else x)
        ys.append(sample.label)
    return np.asarray(xs, np.float32).reshape(-1, 28, 28), np.asarray(ys, np.int64)


def evaluate_strokes(predictor: Predictor, path: str | os.PathLike, variant: str = "random") -> dict:
    x, y = replay_inputs(path, variant)
    return accuracy_summary(y, predictor.probabilities(x).argmax(axis=1))


def evaluate_mnist(predictor: Predictor) -> dict:
    mnist = load_mnist()
    x = mnist.x_test.astype(np.float32) / 255.0
    return accuracy_summary(mnist.y_test, predictor.probabilities(x).argmax(axis=1))
