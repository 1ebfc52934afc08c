"""Replay pen strokes the way the browser canvas draws them (the fixed evaluation protocol).

A sample's points are scaled uniformly so the longer side of their bounding box is S px, moved
inside a 280x280 canvas with a 10 px margin, and drawn white on black with round caps and
joins, anti-aliased. For sample i, S ~ U[84, 224] and the position ~ uniform over all valid
positions, drawn from numpy.random.default_rng(i): every run and every model sees the same
drawings. The "easy" variant draws every sample at S = 200, centred.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

CANVAS = 280
MARGIN = 10
STROKE_WIDTH = 18  # the app's default pen: a 150 px digit then looks like MNIST's 2-3 px strokes
S_MIN, S_MAX = 84, 224
EASY_S = 200
VARIANTS = ("random", "easy")

Points = Sequence[Sequence[float]]


def place_strokes(strokes: Sequence[Points], size: float, left: float, top: float) -> list[np.ndarray]:
    """Scale strokes uniformly so their box's longer side is `size`, with its corner at (left, top)."""
    pts = [np.asarray(s, np.float64).reshape(-1, 2) for s in strokes if len(s)]
    allp = np.concatenate(pts)
    lo = allp.min(axis=0)
    extent = float((allp.max(axis=0) - lo).max())
    scale = size / extent if extent > 0 else 0.0
    return [(p - lo) * scale + (left, top) for p in pts]


def replay_layout(strokes: Sequence[Points], index: int, variant: str = "random",
                  canvas: int = CANVAS) -> list[np.ndarray]:
    """Canvas coordinates of sample `index` under the replay protocol."""
    if variant == "random":
        return random_layout(strokes, np.random.default_rng(index), canvas=canvas)
    if variant != "easy":
        raise ValueError(f"variant must be one of {VARIANTS}, got {variant!r}")
    extent = _extent(strokes)
    w, h = extent * EASY_S / max(float(extent.max()), 1e-9)
    return place_strokes(strokes, EASY_S, (canvas - w) / 2, (canvas - h) / 2)


def random_layout(strokes: Sequence[Points], rng: np.random.Generator, sizes: tuple[float, float] = (S_MIN, S_MAX),
                  canvas: int = CANVAS) -> list[np.ndarray]:
    """Scale to a size drawn from `sizes` and place at a random spot inside the margin (the
    replay protocol with rng = default_rng(index); training with its own stream and sizes)."""
    extent = _extent(strokes)
    size = rng.uniform(*sizes)
    w, h = extent * size / max(float(extent.max()), 1e-9)
    left = rng.uniform(MARGIN, max(MARGIN, canvas - MARGIN - w))
    top = rng.uniform(MARGIN, max(MARGIN, canvas - MARGIN - h))
    return place_strokes(strokes, size, left, top)


def _extent(strokes: Sequence[Points]) -> np.ndarray:
    """Width and height of the strokes' bounding box."""
    pts = np.concatenate([np.asarray(s, np.float64).reshape(-1, 2) for s in strokes if len(s)])
    return pts.max(axis=0) - pts.min(axis=0)


def draw(strokes: Sequence[np.ndarray], canvas: int | tuple[int, int] = CANVAS,
         width: float = STROKE_WIDTH) -> np.ndarray:
    """Draw canvas-coordinate strokes as the canvas would: (H, W, 4) uint8 RGBA, white on black."""
    h, w = (canvas, canvas) if isinstance(canvas, int) else canvas
    img = np.zeros((h, w), np.uint8)
    shift = 4  # sub-pixel precision: coordinates in 1/16 px
    thickness = max(1, int(round(width)))
    for stroke in strokes:
        p = np.rint(np.asarray(stroke, np.float64) * (1 << shift)).astype(np.int32).reshape(-1, 1, 2)
        if len(p) == 1:  # a tap draws a round dot
            cv2.circle(img, tuple(p[0, 0]), int(width / 2 * (1 << shift)), 255, -1, cv2.LINE_AA, shift)
        else:
            # OpenCV draws thick lines with round ends, so consecutive segments give round joins.
            cv2.polylines(img, [p], False, 255, thickness, cv2.LINE_AA, shift)
    rgba = np.empty((h, w, 4), np.uint8)
    rgba[..., :3] = img[..., None]
    rgba[..., 3] = 255
    return rgba


def render_sample(strokes: Sequence[Points], index: int, variant: str = "random",
                  width: float = STROKE_WIDTH) -> np.ndarray:
    """The canvas image (280, 280, 4) of sample `index` under the replay protocol."""
    return draw(replay_layout(strokes, index, variant), CANVAS, width)
