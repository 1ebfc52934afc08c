"""What the network sees: first-layer activation maps and a saliency map for one drawing.

Saliency by occlusion (Zeiler & Fergus, 2014): grey out one small patch of the input at a time
and measure how much the answer's probability drops; large where a stroke's ink holds the answer
up. It needs only forward passes, so the serving runtime runs it (one batch of ~170 occluded
copies); the first block's maps are an output of the exported graph. No TensorFlow.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from digits.inference import Network
from digits.model import Predictor

PATCH, STRIDE = 5, 2  # ~stroke-sized patches, overlapping so the map is smooth


@dataclass(frozen=True)
class Explanation:
    digit: int  # the best digit (the saliency is for it)
    activations: np.ndarray  # (28, 28, C) first convolution block's output (after ReLU)
    saliency: np.ndarray  # (28, 28) in [0, 1]


def explain(predictor: Predictor, image28: np.ndarray) -> Explanation:
    """The maps for the digit the app answers (the TTA reading); occlusion on the plain view."""
    x = np.asarray(image28, np.float32).reshape(1, 28, 28, 1)
    top = predictor.predict(image28).digit
    network = predictor.network
    return Explanation(top, network.first_layer(x)[0], occlusion_saliency(network, x[0, ..., 0], top))


def occlusion_saliency(network: Network, image28: np.ndarray, target: int) -> np.ndarray:
    """(28, 28) in [0, 1]: the drop of log p(target) when each patch is blanked, spread over
    the patch's pixels, kept on the ink only."""
    corners = [(r, c) for r in range(0, 28 - PATCH + 1, STRIDE) for c in range(0, 28 - PATCH + 1, STRIDE)]
    batch = np.repeat(image28[None], len(corners), axis=0)
    for k, (r, c) in enumerate(corners):
        batch[k, r: r + PATCH, c: c + PATCH] = 0
    base = np.log(max(float(network.probabilities(image28[None, ..., None])[0, target]), 1e-12))
    occluded = np.log(np.clip(network.probabilities(batch[..., None])[:, target], 1e-12, 1))
    drop = np.maximum(base - occluded, 0)
    heat, hits = np.zeros((28, 28), np.float64), np.zeros((28, 28), np.float64)
    for d, (r, c) in zip(drop, corners):
        heat[r: r + PATCH, c: c + PATCH] += d
        hits[r: r + PATCH, c: c + PATCH] += 1
    sal = np.where(image28 > 0, heat / np.maximum(hits, 1), 0.0)
    peak = sal.max()
    return (sal / peak if peak > 0 else sal).astype(np.float32)


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
