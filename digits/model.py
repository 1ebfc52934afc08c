"""The served model: load the exported graph safely and predict (digits.training.network builds
and trains the Keras members it comes from).

Serving notes (measured, see docs/performance.md): every prediction goes through
digits/inference.py, ONNX Runtime over the graph train.py exports from the Keras members.
TensorFlow is imported only to train and to check the served answers against Keras (tests): in
the web server it would cost ~5 s of start-up and ~550 MB, and with Keras imported Streamlit
clears the Keras session and runs a full garbage collection after every script run.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from digits.inference import Network, UnsupportedModel

# Quiet TensorFlow's C++ start-up chatter before it is imported anywhere.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

MODEL_DIR = Path(__file__).resolve().parent.parent / "model"
MODEL_PATH = MODEL_DIR / "digits.onnx"  # what the app and the CLI serve: the graph exported from the members (one ships)
MEMBERS_DIR = MODEL_DIR / "members"  # the Keras members it was exported from (train.py)
REPORT_PATH = MODEL_DIR / "report.json"
TRAIN_HINT = "Train one with `python train.py` (about 30 minutes on 2 CPU cores)."
NUM_CLASSES = 11  # the digits 0-9 and "not a digit" (digits.data.NOT_A_DIGIT)


class ModelError(RuntimeError):
    """The model file is missing or unusable; the message says what to do."""


def check_file(path: Path) -> None:
    if not path.is_file():
        raise ModelError(f"No model file at {path}. {TRAIN_HINT}")
    if path.stat().st_size == 0:
        raise ModelError(f"{path} is empty. {TRAIN_HINT}")


@dataclass
class Prediction:
    digit: int  # the best of the ten digits (a forced choice, even for a letter)
    probabilities: np.ndarray  # (11,) float32, sums to 1: the digits 0-9, then "not a digit"

    @property
    def confidence(self) -> float:
        return float(self.probabilities[self.digit])


# Test-time augmentation: each input is also read turned by +8° and -8° (one of the changes the
# training augmentation makes), and the three readings are averaged. Measured with one member
# (docs/reading-real-drawings.md): MNIST test 99.50 -> 99.66 %, UNIPEN dev random 98.90 ->
# 99.07 %, easy 99.03 -> 99.13 %. Adding the scales 0.9 and 1.1 (five views) was no better on
# the dev digits and, measured when two members shipped, took the answer over the 5 ms budget per
# drawing (5.3 ms p50); one member ships now.
TTA_VIEWS = ((0.0, 1.0), (8.0, 1.0), (-8.0, 1.0))  # (degrees, scale)


def tta_views(x: np.ndarray) -> np.ndarray:
    """(N, 28, 28) -> (V, N, 28, 28): every input under each of TTA_VIEWS."""
    views = []
    for degrees, scale in TTA_VIEWS:
        if (degrees, scale) == (0.0, 1.0):
            views.append(x)
            continue
        m = cv2.getRotationMatrix2D((14.0, 14.0), degrees, scale)
        views.append(np.stack([cv2.warpAffine(img, m, (28, 28), flags=cv2.INTER_LINEAR) for img in x]))
    return np.stack(views)


class Predictor:
    """The one way the app, the CLI and the evaluations predict: the exported graph run by
    digits.inference (ONNX Runtime, no TensorFlow), averaged over the TTA views."""

    def __init__(self, network: Network, path: Path = MODEL_PATH) -> None:
        self.network = network
        self.path = path  # the calibration beside it is made for this exact file

    @classmethod
    def load(cls, path: str | os.PathLike = MODEL_PATH) -> "Predictor":
        path = Path(path)
        check_file(path)
        try:
            network = Network.load(path)
            if network.input_shape != (28, 28, 1):
                raise UnsupportedModel(f"it takes {network.input_shape} images, not 28x28x1")
            if network.classes != NUM_CLASSES:
                raise UnsupportedModel(f"it has {network.classes} outputs, not {NUM_CLASSES}")
            return cls(network, path)
        except UnsupportedModel as exc:
            raise ModelError(f"{path} is a model this app cannot serve: {exc}. {TRAIN_HINT}") from exc
        except Exception as exc:  # ONNX Runtime raises its own types for a damaged graph
            raise ModelError(f"Cannot load {path}: {exc}. {TRAIN_HINT}") from exc

    @property
    def has_features(self) -> bool:
        """The graph also outputs the pooled features a visitor's memory compares drawings on."""
        return self.network.has_features

    def probabilities(self, images: np.ndarray, batch_size: int = 256) -> np.ndarray:
        """(28, 28) or (N, 28, 28) float in [0, 1] -> (N, 11) probabilities."""
        return self._run(images, batch_size, False)[0]

    def probabilities_and_features(self, images: np.ndarray, batch_size: int = 256) -> tuple[np.ndarray, np.ndarray]:
        """(N, 28, 28) -> ((N, 11) probabilities, (N, D) pooled features), both averaged over
        the TTA views, from the same runs of the graph (needs `has_features`)."""
        return self._run(images, batch_size, True)

    def _run(self, images: np.ndarray, batch_size: int, features: bool) -> tuple[np.ndarray, np.ndarray | None]:
        x = np.asarray(images, np.float32).reshape(-1, 28, 28)
        probs, feats = [], []
        for i in range(0, len(x), batch_size):
            views = tta_views(x[i: i + batch_size])  # one run of the graph for all views
            v, n = views.shape[:2]
            flat = views.reshape(v * n, 28, 28, 1)
            if features:
                p, f = self.network.probabilities_and_features(flat)
                feats.append(f.reshape(v, n, -1).mean(axis=0))
            else:
                p = self.network.probabilities(flat)
            probs.append(p.reshape(v, n, -1).mean(axis=0))
        if not probs:
            return np.zeros((0, NUM_CLASSES), np.float32), np.zeros((0, 0), np.float32) if features else None
        return np.concatenate(probs), np.concatenate(feats) if features else None

    def predict(self, image: np.ndarray) -> Prediction:
        """One (28, 28) input -> the best digit and the 11 probabilities."""
        probs = self.probabilities(image)[0]
        return Prediction(int(np.argmax(probs[:10])), probs)
