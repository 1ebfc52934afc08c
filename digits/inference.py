"""Serving without TensorFlow: the network `train.py` saves, run in plain NumPy.

Why: in the web server `import tensorflow` alone costs ~5 s and ~550 MB of RSS, and with Keras
imported Streamlit clears the Keras session (and collects garbage) after every script run. The
network is a straight chain of convolutions, batch norms, ReLUs, a global average and a dense
softmax, which NumPy runs in ~1 ms per drawing. So the app, the CLI and the evaluations read the
same `model/digits.keras` file (its `config.json` and `model.weights.h5`) into this engine;
Keras itself is only needed to train. tests/test_inference.py pins its answers to Keras'.

Loading is safe by construction: the file's config is read as data, only the layer kinds below
are accepted (no Lambda, no custom objects), and the weights are plain arrays.
"""

from __future__ import annotations

import io
import json
import os
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np


class UnsupportedModel(ValueError):
    """The file is a Keras model, but not a chain of the layers this engine runs."""


@dataclass
class Conv:
    """Conv2D with its batch norm folded in (one matmul per call) and an optional ReLU."""

    name: str
    kernel: np.ndarray  # (kh, kw, C, F)
    bias: np.ndarray  # (F,)
    stride: int
    same: bool
    relu: bool = False

    def _pads(self, size: int) -> tuple[int, int]:
        """TensorFlow's "same" padding: the odd pixel goes after, not before."""
        k = self.kernel.shape[0]
        if not self.same:
            return 0, 0
        out = -(-size // self.stride)
        total = max((out - 1) * self.stride + k - size, 0)
        return total // 2, total - total // 2

    def __call__(self, x: np.ndarray) -> np.ndarray:
        kh, kw, c, f = self.kernel.shape
        n, h, w, _ = x.shape
        (top, bottom), (left, right) = self._pads(h), self._pads(w)
        xp = np.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)))
        ho, wo = (h + top + bottom - kh) // self.stride + 1, (w + left + right - kw) // self.stride + 1
        s = self.stride
        # im2col in (kh, kw, C) order, which is how Keras lays out its kernel.
        cols = np.stack([xp[:, i: i + s * ho: s, j: j + s * wo: s, :]
                         for i in range(kh) for j in range(kw)], axis=3)
        y = cols.reshape(n * ho * wo, kh * kw * c) @ self.kernel.reshape(kh * kw * c, f) + self.bias
        y = y.reshape(n, ho, wo, f)
        return np.maximum(y, 0, out=y) if self.relu else y

    def input_gradient(self, grad: np.ndarray, out: np.ndarray, in_shape: tuple) -> np.ndarray:
        """d(score)/d(input) from d(score)/d(output) (col2im of grad @ kernel^T)."""
        kh, kw, c, f = self.kernel.shape
        n, h, w, _ = in_shape
        if self.relu:
            grad = grad * (out > 0)
        (top, bottom), (left, right) = self._pads(h), self._pads(w)
        _, ho, wo, _ = grad.shape
        s = self.stride
        cols = (grad.reshape(-1, f) @ self.kernel.reshape(kh * kw * c, f).T).reshape(n, ho, wo, kh, kw, c)
        gp = np.zeros((n, h + top + bottom, w + left + right, c), np.float32)
        for i in range(kh):
            for j in range(kw):
                gp[:, i: i + s * ho: s, j: j + s * wo: s, :] += cols[:, :, :, i, j, :]
        return gp[:, top: top + h, left: left + w, :]


@dataclass
class Affine:
    """A batch norm that has no convolution right before it: per-channel scale and shift."""

    name: str
    scale: np.ndarray
    shift: np.ndarray
    relu: bool = False

    def __call__(self, x: np.ndarray) -> np.ndarray:
        y = x * self.scale + self.shift
        return np.maximum(y, 0) if self.relu else y

    def input_gradient(self, grad: np.ndarray, out: np.ndarray, in_shape: tuple) -> np.ndarray:
        return (grad * (out > 0) if self.relu else grad) * self.scale


@dataclass
class GlobalAverage:
    name: str

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return x.mean(axis=(1, 2))

    def input_gradient(self, grad: np.ndarray, out: np.ndarray, in_shape: tuple) -> np.ndarray:
        n, h, w, c = in_shape
        return np.broadcast_to(grad[:, None, None, :] / (h * w), in_shape).astype(np.float32)


@dataclass
class Dense:
    name: str
    kernel: np.ndarray  # (in, out)
    bias: np.ndarray
    relu: bool = False

    def __call__(self, x: np.ndarray) -> np.ndarray:
        y = x @ self.kernel + self.bias
        return np.maximum(y, 0) if self.relu else y

    def input_gradient(self, grad: np.ndarray, out: np.ndarray, in_shape: tuple) -> np.ndarray:
        return (grad * (out > 0) if self.relu else grad) @ self.kernel.T


def softmax(logits: np.ndarray) -> np.ndarray:
    e = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


class Network:
    """The saved chain as NumPy steps; the last step gives the logits (softmax is applied after)."""

    def __init__(self, steps: list, input_shape: tuple[int, ...]) -> None:
        self.steps = steps
        self.input_shape = input_shape

    @classmethod
    def load(cls, path: str | os.PathLike) -> "Network":
        """Read a `.keras` file. Raises zipfile/KeyError/OSError for a damaged file and
        UnsupportedModel for layers this engine does not run."""
        import h5py

        with zipfile.ZipFile(Path(path)) as archive:
            config = json.loads(archive.read("config.json"))
            weights = archive.read("model.weights.h5")
        with h5py.File(io.BytesIO(weights), "r") as h5:
            def variables(key: str) -> list[np.ndarray]:
                group = h5.get(f"layers/{key}/vars")
                if group is None:
                    return []
                return [np.asarray(group[k], np.float32) for k in sorted(group, key=int)]

            return cls._from_config(config, variables)

    @classmethod
    def _from_config(cls, config: dict, variables) -> "Network":
        if config.get("class_name") != "Functional":  # what build_model makes
            raise UnsupportedModel(f"a {config.get('class_name')!r} model (expected a Keras Functional model)")
        layers = config["config"]["layers"]
        steps: list = []
        input_shape: tuple[int, ...] | None = None
        previous = None
        ends_in_softmax = False
        seen: dict[str, int] = {}
        for layer in layers:
            kind, name, cfg = layer["class_name"], layer["config"]["name"], layer["config"]
            weights_of = _weights_key(kind, seen)
            if ends_in_softmax:
                raise UnsupportedModel(f"layer {name!r} after the softmax")
            _check_chain(layer, previous)
            previous = name
            if kind == "InputLayer":
                input_shape = tuple(cfg.get("batch_shape") or cfg.get("batch_input_shape"))[1:]
            elif kind == "Conv2D":
                _require(cfg, name, data_format="channels_last", groups=1)
                if tuple(cfg["dilation_rate"]) != (1, 1) or len(set(cfg["strides"])) != 1:
                    raise UnsupportedModel(f"{name}: dilation or unequal strides")
                if cfg["padding"] not in ("same", "valid"):
                    raise UnsupportedModel(f"{name}: padding {cfg['padding']!r}")
                values = variables(weights_of)
                kernel = values[0]
                bias = values[1] if cfg["use_bias"] else np.zeros(kernel.shape[-1], np.float32)
                steps.append(Conv(name, kernel, bias, int(cfg["strides"][0]), cfg["padding"] == "same"))
                ends_in_softmax = _activate(steps, cfg["activation"], name)
            elif kind == "BatchNormalization":
                if cfg["axis"] not in (-1, [-1], 3, [3]):
                    raise UnsupportedModel(f"{name}: batch norm over axis {cfg['axis']}")
                values = variables(weights_of)
                gamma = values.pop(0) if cfg["scale"] else 1.0
                beta = values.pop(0) if cfg["center"] else 0.0
                mean, var = values
                scale = (gamma / np.sqrt(var + np.float32(cfg["epsilon"]))).astype(np.float32)
                shift = (beta - mean * scale).astype(np.float32)
                last = steps[-1] if steps else None
                if isinstance(last, (Conv, Dense)) and not last.relu:
                    # Fold into the weights: (x*W + b)*scale + shift = x*(W*scale) + (b*scale + shift)
                    last.kernel = (last.kernel * scale).astype(np.float32)
                    last.bias = (last.bias * scale + shift).astype(np.float32)
                else:
                    steps.append(Affine(name, scale, shift))
            elif kind == "Activation":
                ends_in_softmax = _activate(steps, cfg["activation"], name)
            elif kind == "ReLU" and not cfg.get("max_value") and not cfg.get("negative_slope") \
                    and not cfg.get("threshold"):
                _activate(steps, "relu", name)
            elif kind == "Dropout":
                continue  # identity at inference
            elif kind == "GlobalAveragePooling2D":
                _require(cfg, name, data_format="channels_last", keepdims=False)
                steps.append(GlobalAverage(name))
            elif kind == "Dense":
                values = variables(weights_of)
                bias = values[1] if cfg["use_bias"] else np.zeros(values[0].shape[-1], np.float32)
                steps.append(Dense(name, values[0], bias))
                ends_in_softmax = _activate(steps, cfg["activation"], name)
            else:
                raise UnsupportedModel(f"layer {name!r} of kind {kind!r}")
        if input_shape is None or not ends_in_softmax or not isinstance(steps[-1], Dense):
            raise UnsupportedModel("the model must take an image and end in a dense softmax layer")
        return cls(steps, input_shape)

    def forward(self, x: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
        """(N, 28, 28, 1) float32 -> logits (N, 10) and every step's output (for explanations)."""
        outputs = []
        for step in self.steps:
            x = step(x)
            outputs.append(x)
        return x, outputs

    def logits(self, x: np.ndarray) -> np.ndarray:
        for step in self.steps:
            x = step(x)
        return x

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        return softmax(self.logits(np.asarray(x, np.float32)))

    def input_gradient(self, x: np.ndarray, outputs: list[np.ndarray], digit: int) -> np.ndarray:
        """d(logit of `digit`)/d(input) for one image, by walking the steps backwards."""
        grad = np.zeros_like(outputs[-1])
        grad[:, digit] = 1
        inputs = [x] + outputs[:-1]
        for step, out, inp in zip(reversed(self.steps), reversed(outputs), reversed(inputs)):
            grad = step.input_gradient(grad, out, inp.shape)
        return grad


def serve_single_threaded() -> None:
    """One BLAS thread for the whole process. A drawing's matmuls are small: OpenBLAS handing
    them to 2 threads made one prediction slower (p50 1.99 -> 1.39 ms, p99 3.3 -> 1.6 ms) and
    takes the second core from the other visitors and the browser."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(1, user_api="blas")


def _activate(steps: list, activation: str, name: str) -> bool:
    """Apply an activation to the last step; True when it is the final softmax."""
    if activation == "linear":
        return False
    if activation == "softmax":
        return True
    last = steps[-1] if steps else None
    if activation != "relu" or getattr(last, "relu", True):
        raise UnsupportedModel(f"{name}: activation {activation!r} here")
    last.relu = True
    return False


def _weights_key(kind: str, seen: dict[str, int]) -> str:
    """Where Keras 3 stores a layer's weights: its class name in snake case, numbered from the
    second of a kind ("conv2d", "conv2d_1", ...), in layer order (keras saving_lib)."""
    snake = re.sub("([a-z])([A-Z])", r"\1_\2", re.sub("(.)([A-Z][a-z]+)", r"\1_\2", kind)).lower()
    count = seen.get(snake)
    seen[snake] = 0 if count is None else count + 1
    return snake if count is None else f"{snake}_{count + 1}"


def _require(cfg: dict, name: str, **expected) -> None:
    for key, value in expected.items():
        if key in cfg and cfg[key] != value:
            raise UnsupportedModel(f"{name}: {key}={cfg[key]!r}")


def _check_chain(layer: dict, previous: str | None) -> None:
    """Each layer must take exactly the previous layer's output: a straight chain."""
    nodes = layer.get("inbound_nodes") or []
    if previous is None:
        if nodes:
            raise UnsupportedModel(f"{layer['config']['name']!r} before the input")
        return
    sources = [arg["config"]["keras_history"][0] for node in nodes for arg in node.get("args", [])
               if isinstance(arg, dict) and arg.get("class_name") == "__keras_tensor__"]
    if sources != [previous]:
        raise UnsupportedModel(f"layer {layer['config']['name']!r} is not fed by {previous!r} alone")
