"""Any drawing or image -> the 28x28 float input the model reads, the way MNIST was made.

MNIST digits were cropped to their ink, scaled so the longer side is 20 px (keeping the aspect
ratio, anti-aliased), then placed in a 28x28 field with the centre of mass at the centre.
Doing exactly this to a canvas drawing is what makes a small, off-centre digit readable.
"""

from __future__ import annotations

import cv2
import numpy as np

SIZE = 28  # model input side
BOX = 20  # the longer side of the digit inside the 28x28 field
INK_LEVEL = 16  # a pixel brighter than this (0-255) counts as ink when cropping


def canvas_to_gray(rgba: np.ndarray) -> np.ndarray:
    """Canvas image (H, W, 4) uint8, white ink on black -> (H, W) uint8 ink intensity.

    The canvas sends alpha 255 everywhere when the background is opaque, so ink is read from
    RGB; a transparent background (alpha 0, RGB 0) reads as no ink either way.
    """
    rgba = np.asarray(rgba)
    if rgba.ndim != 3 or rgba.shape[2] not in (3, 4):
        raise ValueError(f"expected an (H, W, 3|4) image, got shape {rgba.shape}")
    gray = cv2.max(cv2.max(rgba[..., 0], rgba[..., 1]), rgba[..., 2])  # ~10x numpy's max(axis=2)
    if rgba.shape[2] == 4:
        alpha = rgba[..., 3]
        if alpha.min() < 255:  # composite onto black; skipped for the usual opaque canvas
            gray = cv2.multiply(gray, alpha, scale=1 / 255)
    return gray


def center_digit(gray: np.ndarray) -> np.ndarray | None:
    """(H, W) ink-bright image -> (28, 28) float32 in [0, 1], or None when there is no ink.

    Crop to the ink, fit the longer side to 20 px, put the centre of mass at (14, 14).
    """
    gray = np.asarray(gray)
    if gray.ndim != 2 or gray.size == 0:
        raise ValueError(f"expected a non-empty 2-D image, got shape {gray.shape}")
    gray = gray.astype(np.float32)
    if gray.max() > 1.0:
        gray /= 255.0
    ys, xs = np.nonzero(gray > INK_LEVEL / 255.0)
    if len(xs) == 0:
        return None
    crop = gray[ys.min(): ys.max() + 1, xs.min(): xs.max() + 1]

    h, w = crop.shape
    scale = BOX / max(h, w)
    new_w, new_h = max(1, round(w * scale)), max(1, round(h * scale))
    # INTER_AREA averages when shrinking (like MNIST's anti-aliasing); enlarging a tiny
    # drawing (a dot) uses linear interpolation instead, which INTER_AREA falls back to.
    small = cv2.resize(crop, (new_w, new_h), interpolation=cv2.INTER_AREA)

    field = np.zeros((SIZE, SIZE), np.float32)
    top, left = (SIZE - new_h) // 2, (SIZE - new_w) // 2
    field[top: top + new_h, left: left + new_w] = small
    cy, cx = center_of_mass(field)
    # Shift the centre of mass to the centre by whole pixels (a sub-pixel shift would blur the
    # strokes, and MNIST's are sharp), but never push ink out of the field: a lopsided shape
    # keeps all its ink rather than an exact centre.
    dx = int(np.clip(round(SIZE / 2 - cx), -left, SIZE - new_w - left))
    dy = int(np.clip(round(SIZE / 2 - cy), -top, SIZE - new_h - top))
    field = np.roll(field, (dy, dx), axis=(0, 1))  # the clip above keeps ink from wrapping
    peak = field.max()
    if peak <= 0:
        return None
    return np.clip(field / peak, 0.0, 1.0)


def center_of_mass(img: np.ndarray) -> tuple[float, float]:
    """(row, column) of the centre of mass, in pixel-centre coordinates offset by 0.5.

    Pixel i covers [i, i+1), so a field whose mass sits in the middle has centre (14, 14).
    """
    img = np.asarray(img, np.float32)
    total = img.sum()
    rows = np.arange(img.shape[0], dtype=np.float32) + 0.5
    cols = np.arange(img.shape[1], dtype=np.float32) + 0.5
    return float(rows @ img.sum(axis=1) / total), float(cols @ img.sum(axis=0) / total)


def preprocess_canvas(rgba: np.ndarray | None) -> np.ndarray | None:
    """Canvas RGBA (white ink on black) -> model input (28, 28) float32, or None if empty."""
    if rgba is None:
        return None
    return center_digit(canvas_to_gray(rgba))


def naive_resize(rgba: np.ndarray) -> np.ndarray:
    """The usual tutorial recipe, kept only as a baseline: squash the whole canvas to 28x28."""
    gray = canvas_to_gray(rgba).astype(np.float32) / 255.0
    return cv2.resize(gray, (SIZE, SIZE), interpolation=cv2.INTER_AREA)
