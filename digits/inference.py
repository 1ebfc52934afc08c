"""Serving: the ONNX graph `train.py` exports, run by ONNX Runtime. No TensorFlow.

Why: in the web server `import tensorflow` alone costs ~5 s and ~550 MB of RSS, and with Keras
imported Streamlit clears the Keras session (and collects garbage) after every script run.
`train.py` exports the trained Keras members as one ONNX graph (digits.training.export): the ensemble's
averaged probabilities, plus the first convolution block's maps for "What the network sees".
ONNX Runtime is a maintained runtime with wheels for Linux and macOS; one drawing takes a
fraction of a millisecond. tests/test_inference.py pins its answers to Keras'.

The graph carries the sha256 of each Keras file it was exported from (metadata "keras_sha256"),
so a model folder whose .onnx and .keras files disagree is detected.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np

PROBABILITIES, FIRST_LAYER, FEATURES_OUT = "probabilities", "first_layer", "features"
INPUT = "image"  # the bitmap graph's input (N, 28, 28, 1)
STROKES_IN = "strokes"  # the trajectory graph's input (N, 64, 5): digits.strokes.sequence


class UnsupportedModel(ValueError):
    """The file is an ONNX graph, but not one this app can serve (inputs, outputs, shapes)."""


class Network:
    """One ONNX Runtime session over an exported graph: the bitmap graph (input "image":
    probabilities and first-layer maps) or the trajectory graph (input "strokes")."""

    input_name = INPUT

    def __init__(self, session, metadata: dict[str, str]) -> None:
        self.session = session
        self.metadata = metadata
        outputs = {o.name: o.shape for o in session.get_outputs()}
        inputs = {i.name: i.shape for i in session.get_inputs()}
        if list(inputs) != [self.input_name] or PROBABILITIES not in outputs:
            raise UnsupportedModel(f"it has inputs {list(inputs)} and outputs {list(outputs)}, "
                                   f"not {self.input_name!r} -> {PROBABILITIES!r}")
        self.input_shape = tuple(inputs[self.input_name][1:])
        self.classes = outputs[PROBABILITIES][-1]
        self.has_first_layer = FIRST_LAYER in outputs
        self.has_features = FEATURES_OUT in outputs

    @classmethod
    def load(cls, path: str | os.PathLike) -> "Network":
        import onnxruntime as ort

        options = ort.SessionOptions()
        # One drawing's work is tiny: splitting it over threads is slower and takes the other
        # core from the other visitors (measured with the NumPy engine before, and here).
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        return cls(session, dict(session.get_modelmeta().custom_metadata_map))

    @property
    def keras_sha256(self) -> dict[str, str]:
        """Keras file name -> sha256 of the members this graph was exported from."""
        return json.loads(self.metadata.get("keras_sha256", "{}"))

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        """(N, *input_shape) float32 -> (N, classes) probabilities."""
        return self.session.run([PROBABILITIES], {self.input_name: np.ascontiguousarray(x, np.float32)})[0]

    def probabilities_and_features(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(N, *input_shape) -> ((N, classes) probabilities, (N, D) pooled features) in one run."""
        p, f = self.session.run([PROBABILITIES, FEATURES_OUT], {self.input_name: np.ascontiguousarray(x, np.float32)})
        return p, f

    def first_layer(self, x: np.ndarray) -> np.ndarray:
        """(N, 28, 28, 1) -> (N, 28, 28, C): the first convolution block's output (after ReLU)."""
        if not self.has_first_layer:
            raise UnsupportedModel(f"the graph has no {FIRST_LAYER!r} output")
        return self.session.run([FIRST_LAYER], {INPUT: np.ascontiguousarray(x, np.float32)})[0]


class StrokeNetwork(Network):
    """The trajectory graph (digits.training.trajectory): pen path in, 11 probabilities out."""

    input_name = STROKES_IN


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax, stable for any logits."""
    z = np.asarray(logits, np.float64)
    z = np.exp(z - z.max(axis=-1, keepdims=True))
    return z / z.sum(axis=-1, keepdims=True)


def file_sha256(path: str | os.PathLike) -> str:
    """Ties a calibration, and the served graph, to the exact files they were made from."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()
