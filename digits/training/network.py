"""The Keras network the members are: build it (train.py) and load a member safely (export,
report, tests). The server never imports this module: it serves the exported graph
(digits.model.Predictor)."""

from __future__ import annotations

import os
import tempfile
import zipfile
from pathlib import Path

from digits.model import MODEL_DIR, NUM_CLASSES, TRAIN_HINT, ModelError, check_file


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
    outputs = layers.Dense(NUM_CLASSES, activation="softmax", name="probabilities")(x)
    return keras.Model(inputs, outputs, name="digits_cnn")


def member_paths(model_dir: str | os.PathLike = MODEL_DIR) -> list[Path]:
    """The Keras ensemble members in a model folder, in seed order."""
    return sorted((Path(model_dir) / "members").glob("member-*.keras"),
                  key=lambda p: int(p.stem.split("-")[1]))


def load_model(path: str | os.PathLike):
    """A Keras member, with Keras' safe mode on (a model file cannot run arbitrary code).
    For training, export and tests; predictions go through Predictor."""
    path = Path(path)
    check_file(path)
    if not zipfile.is_zipfile(path):
        raise ModelError(f"{path} is not a Keras model file (corrupt). {TRAIN_HINT}")
    import keras

    try:
        return keras.saving.load_model(path, compile=False, safe_mode=True)
    except Exception as exc:  # Keras raises many types for a damaged file
        raise ModelError(f"Cannot load {path}: {exc}. {TRAIN_HINT}") from exc


def save_atomic(model, path: Path) -> None:
    """Write next to the target, then rename: an interrupted run never leaves a broken model."""
    fd, tmp = tempfile.mkstemp(suffix=".keras", dir=path.parent)
    os.close(fd)
    try:
        model.save(tmp)
        os.chmod(tmp, 0o644)  # mkstemp makes it private; a model file is meant to be shared
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
