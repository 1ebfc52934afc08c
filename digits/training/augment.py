"""Training-time augmentation that makes MNIST look like canvas drawings.

Runs on whole batches inside the tf.data pipeline: one random affine warp per image (rotation,
shear, scale, translation) and a random stroke thickness change (grey dilation or erosion).
"""

from __future__ import annotations

import math

import tensorflow as tf

ROTATION_DEG = 12.0
SHEAR = 0.2
SCALE = (0.85, 1.1)
SHIFT_PX = 2.0
THICKEN, THIN = 0.25, 0.15  # share of images whose strokes get thicker / thinner


def augment_batch(images: tf.Tensor, seed: tf.Tensor | None = None) -> tf.Tensor:
    """(N, 28, 28, 1) float32 in [0, 1] -> the same, randomly warped and re-inked."""
    n = tf.shape(images)[0]
    angle = tf.random.uniform([n], -1.0, 1.0) * ROTATION_DEG * math.pi / 180
    shear = tf.random.uniform([n], -SHEAR, SHEAR)
    scale = tf.random.uniform([n], *SCALE)
    tx, ty = (tf.random.uniform([n], -SHIFT_PX, SHIFT_PX) for _ in range(2))

    # Output pixel (x, y) samples input at A @ (x - c, y - c) + c + t: rotation, shear and
    # scale about the centre c, so the digit stays centred as preprocessing put it.
    cos, sin = tf.cos(angle) / scale, tf.sin(angle) / scale
    a0, a1 = cos, -sin + shear * cos
    b0, b1 = sin, cos + shear * sin
    c = 14.0
    a2 = c - a0 * c - a1 * c + tx
    b2 = c - b0 * c - b1 * c + ty
    zeros = tf.zeros([n])
    transforms = tf.stack([a0, a1, a2, b0, b1, b2, zeros, zeros], axis=1)
    warped = tf.raw_ops.ImageProjectiveTransformV3(
        images=images, transforms=transforms, output_shape=tf.constant([28, 28]),
        fill_value=0.0, interpolation="BILINEAR", fill_mode="CONSTANT",
    )

    # Stroke thickness: people draw with a fixed pen at any size, so after fitting to 20 px
    # a small drawing has fat strokes and a big one thin strokes.
    thick = tf.nn.max_pool2d(warped, 3, 1, "SAME")
    thin = -tf.nn.max_pool2d(-warped, 2, 1, "SAME")
    u = tf.random.uniform([n, 1, 1, 1])
    out = tf.where(u < THICKEN, thick, tf.where(u < THICKEN + THIN, thin, warped))
    return tf.clip_by_value(out, 0.0, 1.0)
