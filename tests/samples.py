"""Real files the image and CSV tests make for themselves from MNIST test digits (no mocks)."""

from __future__ import annotations

import io
import zlib
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

KAGGLE_HEADER = ",".join(f"pixel{i}" for i in range(784))


def photo_of(digit: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A 28x28 MNIST digit as a phone photo of pen on paper: (H, W, 3) uint8 RGB.

    300-600 px, the digit 35-70 % of the short side, dark ink, rotated up to 10 degrees,
    paper lit unevenly (a gradient, a dim patch, half the time a shadow's edge), grain, noise and a colour cast.
    """
    h = int(rng.integers(300, 601))
    w = int(h * rng.uniform(0.75, 1.33))
    size = int(min(h, w) * rng.uniform(0.35, 0.7) * 28 / 20)  # MNIST's digit box is 20 of 28 px
    ink = cv2.resize(digit.astype(np.float32) / 255, (size, size), interpolation=cv2.INTER_CUBIC)
    turn = cv2.getRotationMatrix2D((size / 2, size / 2), rng.uniform(-10, 10), 1.0)
    ink = np.clip(cv2.warpAffine(ink, turn, (size, size)), 0, 1)
    layer = np.zeros((h, w), np.float32)
    top, left = int(rng.integers(0, h - size + 1)), int(rng.integers(0, w - size + 1))
    layer[top: top + size, left: left + size] = ink

    yy, xx = np.arange(h, dtype=np.float32)[:, None], np.arange(w, dtype=np.float32)[None, :]
    angle = rng.uniform(0, 2 * np.pi)
    ramp = (np.cos(angle) * xx / w + np.sin(angle) * yy / h + 1) / 2  # 0..1 across the page
    light = rng.uniform(0.75, 1.0) * (1 - rng.uniform(0.1, 0.45) * ramp)
    cy, cx, r = rng.uniform(0, h), rng.uniform(0, w), rng.uniform(0.2, 0.5) * max(h, w)
    light *= 1 - rng.uniform(0, 0.3) * np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * r * r))
    if rng.random() < 0.5:  # a hand's or phone's shadow: a soft edge across the page
        a = rng.uniform(0, 2 * np.pi)
        side = np.cos(a) * (xx - rng.uniform(0, w)) + np.sin(a) * (yy - rng.uniform(0, h))
        light *= 1 - rng.uniform(0.15, 0.4) / (1 + np.exp(-side / rng.uniform(5, 25)))
    grain = cv2.GaussianBlur(rng.standard_normal((h, w), np.float32), (0, 0), 2) * 0.03
    paper = light * (1 + grain)
    darkness = rng.uniform(0.6, 0.92)  # how much light the ink absorbs
    noise = rng.standard_normal((h, w), np.float32) * rng.uniform(0.01, 0.04)
    gray = paper * (1 - darkness * layer) + noise
    tint = np.array([1.0, rng.uniform(0.93, 1.0), rng.uniform(0.82, 0.97)], np.float32)
    return (np.clip(gray[..., None] * tint, 0, 1) * 255).astype(np.uint8)


def save(array: np.ndarray, path: Path, **params) -> Path:
    Image.fromarray(array).save(path, **params)
    return path


def encode(image: Image.Image, fmt: str, **params) -> bytes:
    buf = io.BytesIO()
    image.save(buf, fmt, **params)
    return buf.getvalue()


def png_header(width: int, height: int) -> bytes:
    """A valid PNG signature and IHDR declaring width x height, then one empty IDAT and IEND.

    Costs a few bytes: the decompression bomb must be refused from the header alone.
    """
    def chunk(kind: bytes, data: bytes) -> bytes:
        return len(data).to_bytes(4, "big") + kind + data + zlib.crc32(kind + data).to_bytes(4, "big")

    ihdr = width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes([8, 0, 0, 0, 0])
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b"")


def kaggle_csv(path: Path, images: np.ndarray, labels: np.ndarray | None = None) -> Path:
    """Kaggle Digit Recognizer format: header, then one row of 784 pixels (label first if any)."""
    with open(path, "w", newline="") as f:
        f.write(("label," if labels is not None else "") + KAGGLE_HEADER + "\n")
        for i, img in enumerate(images.reshape(len(images), -1)):
            row = ",".join(map(str, img.tolist()))
            f.write((f"{int(labels[i])}," if labels is not None else "") + row + "\n")
    return path
