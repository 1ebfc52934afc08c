"""The network: build it, save it, load it safely, and predict fast.

Serving notes (measured, see README "Performance"):
- `model.predict` costs ~60-90 ms for one image (it builds a data pipeline each call); a
  tf.function with a fixed input shape, traced once at load, costs ~1 ms.
- Streamlit calls `keras.backend.clear_session()` after every script run when Keras is imported.
  That empties TF's eager kernel cache, so even a tf.function held outside Keras re-instantiates
  on its next call (35-50 ms; 70-350 ms inside the busy server, measured with bench/). One image
  therefore runs through a frozen copy of the graph in its own v1 Session, which keeps its own
  executor (~1.3 ms, unaffected).
"""

from __future__ import annotations

import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

# Quiet TensorFlow's C++ start-up chatter before it is imported anywhere.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

MODEL_DIR = Path(__file__).resolve().parent.parent / "model"
MODEL_PATH = MODEL_DIR / "digits.keras"
REPORT_PATH = MODEL_DIR / "report.json"
TRAIN_HINT = "Train one with `python train.py` (about 20 minutes on 2 CPU cores)."


class ModelError(RuntimeError):
    """The model file is missing or unusable; the message says what to do."""


def build_model(seed: int | None = None):
    """A compact CNN: three conv blocks with batch norm, then a small dense head.

    About 0.3 M parameters (1.2 MB): big enough for >99.6 % on MNIST, small enough for ~1 ms
    per drawing on a CPU.
    """
    import keras
    from keras import layers

    if seed is not None:
        keras.utils.set_random_seed(seed)

    def conv_bn(x, filters, kernel=3, strides=1):
        x = layers.Conv2D(filters, kernel, strides=strides, padding="same", use_bias=False)(x)
        x = layers.BatchNormalization()(x)
        return layers.Activation("relu")(x)

    inputs = keras.Input(shape=(28, 28, 1), name="image")
    x = conv_bn(inputs, 32)
    x = conv_bn(x, 32)
    x = conv_bn(x, 32, kernel=5, strides=2)  # 14x14; a learned downsampling beats max-pooling here
    x = layers.Dropout(0.25)(x)
    x = conv_bn(x, 64)
    x = conv_bn(x, 64)
    x = conv_bn(x, 64, kernel=5, strides=2)  # 7x7
    x = layers.Dropout(0.25)(x)
    x = conv_bn(x, 128, kernel=4, strides=1)
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dropout(0.3)(x)
    outputs = layers.Dense(10, activation="softmax", name="probabilities")(x)
    return keras.Model(inputs, outputs, name="digits_cnn")


def load_model(path: str | os.PathLike = MODEL_PATH):
    """Load a saved model with Keras' safe mode on (a model file cannot run arbitrary code)."""
    path = Path(path)
    if not path.is_file():
        raise ModelError(f"No model file at {path}. {TRAIN_HINT}")
    if path.stat().st_size == 0 or not zipfile.is_zipfile(path):
        raise ModelError(f"{path} is not a Keras model file (empty or corrupt). {TRAIN_HINT}")
    import keras

    try:
        return keras.saving.load_model(path, compile=False, safe_mode=True)
    except Exception as exc:  # Keras raises many types for a damaged file
        raise ModelError(f"Cannot load {path}: {exc}. {TRAIN_HINT}") from exc


@dataclass
class Prediction:
    digit: int
    probabilities: np.ndarray  # (10,) float32, sums to 1

    @property
    def confidence(self) -> float:
        return float(self.probabilities[self.digit])


class Predictor:
    """Holds a model and a frozen, fixed-shape inference graph built once at load."""

    def __init__(self, model) -> None:
        import tensorflow as tf
        from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

        self.model = model
        one = tf.function(lambda x: model(x, training=False),
                          input_signature=[tf.TensorSpec((1, 28, 28, 1), tf.float32)])
        # A Session, not the tf.function itself: see the module notes (Streamlit's clear_session).
        frozen = convert_variables_to_constants_v2(one.get_concrete_function())
        graph = tf.Graph()
        with graph.as_default():
            tf.import_graph_def(frozen.graph.as_graph_def(), name="")
        self._session = tf.compat.v1.Session(graph=graph)
        self._feed, self._fetch = frozen.inputs[0].name, frozen.outputs[0].name
        self._one(np.zeros((1, 28, 28, 1), np.float32))  # set up now, not on the first visitor's drawing

    def _one(self, x: np.ndarray) -> np.ndarray:
        return self._session.run(self._fetch, {self._feed: x})

    @classmethod
    def load(cls, path: str | os.PathLike = MODEL_PATH) -> "Predictor":
        return cls(load_model(path))

    def probabilities(self, images: np.ndarray) -> np.ndarray:
        """(28, 28) or (N, 28, 28) float in [0, 1] -> (N, 10) probabilities."""
        x = np.asarray(images, np.float32).reshape(-1, 28, 28, 1)
        if len(x) == 1:
            return self._one(x)
        return np.asarray(self.model.predict_on_batch(x))

    def probabilities_many(self, images: np.ndarray, batch_size: int = 1024) -> np.ndarray:
        """Large arrays in batches (evaluation, CSV prediction)."""
        x = np.asarray(images, np.float32).reshape(-1, 28, 28, 1)
        out = [np.asarray(self.model.predict_on_batch(x[i: i + batch_size]))
               for i in range(0, len(x), batch_size)]
        return np.concatenate(out) if out else np.zeros((0, 10), np.float32)

    def predict(self, image: np.ndarray) -> Prediction:
        """One (28, 28) input -> the digit and its 10 probabilities."""
        probs = self.probabilities(image)[0]
        return Prediction(int(np.argmax(probs)), probs)
