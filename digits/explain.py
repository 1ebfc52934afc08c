"""What the network sees: first-layer activation maps and a saliency map for one drawing.

Saliency is gradient x input of the winning digit's logit (the score before the softmax): large
where a stroke's ink pushes the answer up. Both come from one traced function, built once per
model (the app caches it), so a drawing costs one forward and one backward pass (~ms).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class Explanation:
    digit: int
    activations: np.ndarray  # (28, 28, C) first convolution block's output (after ReLU)
    saliency: np.ndarray  # (28, 28) in [0, 1]
    layer: str  # the name of the layer shown


class Explainer:
    """Holds a model that exposes the first activation maps and the logits, and a traced function."""

    def __init__(self, model) -> None:
        import keras
        import tensorflow as tf

        first = _first_activation(model)
        head = model.get_layer("probabilities")  # Dense + softmax; its input gives the logits
        self.layer = first.name
        probe = keras.Model(model.inputs, [first.output, head.input])
        kernel, bias = head.kernel, head.bias

        def run(x):
            with tf.GradientTape() as tape:
                tape.watch(x)
                acts, features = probe(x, training=False)
                logits = tf.matmul(features, kernel) + bias
                top = tf.argmax(logits[0])
                score = logits[0, top]
            return acts[0], top, tape.gradient(score, x)[0, ..., 0]

        self._run = tf.function(run, input_signature=[tf.TensorSpec((1, 28, 28, 1), tf.float32)])
        self._run(tf.zeros((1, 28, 28, 1)))  # trace once now

    def explain(self, image28: np.ndarray) -> Explanation:
        x = np.asarray(image28, np.float32).reshape(1, 28, 28, 1)
        acts, top, grad = self._run(x)
        # Only ink can drive the answer in gradient x input; keep the part that pushes it up.
        sal = np.maximum(grad.numpy() * x[0, ..., 0], 0)
        peak = sal.max()
        return Explanation(int(top), acts.numpy(), sal / peak if peak > 0 else sal, self.layer)


def _first_activation(model):
    """The output of the first convolution block: its activation layer, else the convolution itself."""
    import keras

    layers = model.layers
    conv = next(i for i, l in enumerate(layers) if isinstance(l, keras.layers.Conv2D))
    for layer in layers[conv + 1: conv + 4]:
        if isinstance(layer, keras.layers.Activation):
            return layer
    return layers[conv]


def activation_grid(acts: np.ndarray, columns: int = 8, scale: int = 3, pad: int = 2) -> np.ndarray:
    """(H, W, C) maps -> one uint8 image of C tiles, each stretched to its own range."""
    h, w, c = acts.shape
    rows = -(-c // columns)
    th, tw = h * scale, w * scale
    grid = np.full((rows * (th + pad) - pad, columns * (tw + pad) - pad), 255, np.uint8)
    for k in range(c):
        a = acts[..., k]
        span = a.max() - a.min()
        tile = ((a - a.min()) / span * 255 if span > 0 else np.zeros_like(a)).astype(np.uint8)
        r, col = divmod(k, columns)
        grid[r * (th + pad): r * (th + pad) + th, col * (tw + pad): col * (tw + pad) + tw] = \
            cv2.resize(tile, (tw, th), interpolation=cv2.INTER_NEAREST)
    return grid


def saliency_overlay(image28: np.ndarray, saliency: np.ndarray, size: int = 140) -> np.ndarray:
    """RGB (size, size, 3): the input in grey, saliency as a red-yellow heat over it."""
    grey = np.clip(np.asarray(image28, np.float32), 0, 1) * 0.45
    heat = cv2.applyColorMap((np.clip(saliency, 0, 1) * 255).astype(np.uint8), cv2.COLORMAP_HOT)
    heat = cv2.cvtColor(heat, cv2.COLOR_BGR2RGB).astype(np.float32) / 255
    alpha = np.clip(saliency, 0, 1)[..., None]
    rgb = grey[..., None] * (1 - alpha) + heat * alpha
    return cv2.resize((rgb * 255).astype(np.uint8), (size, size), interpolation=cv2.INTER_NEAREST)
