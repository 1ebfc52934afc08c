"""What the network sees: first-layer activation maps and a saliency map for one drawing.

Saliency is gradient x input of the winning digit's logit (the score before the softmax): large
where a stroke's ink pushes the answer up. Both come from the serving engine (digits.inference):
one forward pass that keeps each step's output, then one pass backwards (~3 ms), no TensorFlow.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .inference import Conv, Network


@dataclass(frozen=True)
class Explanation:
    digit: int
    activations: np.ndarray  # (28, 28, C) first convolution block's output (after ReLU)
    saliency: np.ndarray  # (28, 28) in [0, 1]
    layer: str  # the name of the layer shown


def explain(network: Network, image28: np.ndarray) -> Explanation:
    x = np.asarray(image28, np.float32).reshape(1, 28, 28, 1)
    logits, outputs = network.forward(x)
    top = int(np.argmax(logits[0]))
    grad = network.input_gradient(x, outputs, top)[0, ..., 0]
    # Only ink can drive the answer in gradient x input; keep the part that pushes it up.
    sal = np.maximum(grad * x[0, ..., 0], 0)
    peak = sal.max()
    first = next(i for i, step in enumerate(network.steps) if isinstance(step, Conv))
    return Explanation(top, outputs[first][0], sal / peak if peak > 0 else sal, network.steps[first].name)


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
