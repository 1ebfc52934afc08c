"""The trajectory model: a small 1-D CNN on the pen's path (digits.strokes.sequence).

Data: the UNIPEN training writers' digits (slashed zeros added as zeros), letters and symbols,
and the stroke kinds of the generated doodles, each drawn through the replay protocol at a
random size and place, bent a little (the whole drawing and each stroke: rotation, slant,
aspect, shift, wobble), and given the points the canvas would send for them
(digits.strokes.as_sent: whole pixels, Fabric's path through them). The writers held out from the bitmap members are held out here too: the fusion and
its calibration are fitted on them (digits.training.calibrate).

Exported to model/strokes.onnx (input "strokes", outputs "probabilities" and "features"), with
the sha256 of the Keras file in its metadata, and served by ONNX Runtime like the bitmap graph.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np

from digits.data import NOT_A_DIGIT, UNIPEN_NONDIGIT_TRAIN, UNIPEN_TRAIN_FILES, Sample, read_strokes
from digits.inference import FEATURES_OUT, PROBABILITIES, STROKES_IN, file_sha256
from digits.model import NUM_CLASSES
from digits.render import S_MAX, S_MIN, random_layout
from digits.strokes import FEATURES, SEQ_LEN, as_sent, sequence
from digits.training.split import nondigit_split, validation_writers

KERAS_NAME = "strokes.keras"
ONNX_NAME = "strokes.onnx"


def bend(strokes: list[np.ndarray], rng: np.random.Generator) -> list[np.ndarray]:
    """A drawing as another hand might make it: a random affine of the whole (rotation ±12°,
    slant, aspect), a small shift and turn of each stroke, and a slow wobble along it."""
    allp = np.concatenate(strokes)
    centre = (allp.min(axis=0) + allp.max(axis=0)) / 2
    size = max(float((allp.max(axis=0) - allp.min(axis=0)).max()), 1e-6)
    a = np.radians(rng.uniform(-12, 12))
    m = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]]) @ np.array(
        [[rng.uniform(0.85, 1.15), rng.uniform(-0.25, 0.25)], [0, rng.uniform(0.85, 1.15)]])
    out = []
    for s in strokes:
        p = (s - centre) @ m.T
        b = np.radians(rng.normal(0, 3))
        c = p.mean(axis=0)
        p = (p - c) @ np.array([[np.cos(b), -np.sin(b)], [np.sin(b), np.cos(b)]]).T + c
        p = p + rng.normal(0, 0.03 * size, 2)
        if len(p) > 4:  # a hand wavers slowly: smoothed noise
            noise = rng.normal(0, 0.012 * size, (len(p) + 6, 2))
            p = p + np.stack([np.convolve(noise[:, j], np.ones(7) / 7, "valid") for j in (0, 1)], axis=1)
        out.append(p + centre)
    return out


def canvas_sequences(drawings: list[list[np.ndarray]], rng: np.random.Generator, augment: bool = True) -> np.ndarray:
    """Each drawing placed on the canvas at a random size and place (bent if `augment`), sent
    through the canvas' Fabric encoding, and read back as the model's input."""
    out = []
    for strokes in drawings:
        strokes = [np.asarray(s, np.float64).reshape(-1, 2) for s in strokes if len(s)]
        if augment:
            strokes = bend(strokes, rng)
        layout = random_layout(strokes, rng, (S_MIN * 0.8, S_MAX * 1.1))
        out.append(sequence(as_sent(layout)))  # = strokes_from_fabric(fabric_json(layout))
    return np.asarray(out, np.float32).reshape(-1, SEQ_LEN, FEATURES)


def stroke_data(seed: int = 0, copies: int = 6, generated_per_kind: int = 800) -> dict:
    """{"train": (x, y), "held": (x, y)}: held = the held-out writers, two plain replays each."""
    from digits.doodles import STROKE_KINDS, slashed_zero

    rng = np.random.default_rng([seed, 5003])
    digits = read_strokes(UNIPEN_TRAIN_FILES)
    held_writers = validation_writers(digits)
    tr = [s for s in digits if s.writer not in held_writers]
    va = [s for s in digits if s.writer in held_writers]
    nd_tr, nd_va = nondigit_split(read_strokes(UNIPEN_NONDIGIT_TRAIN))

    def drawings(samples: list[Sample], k: int) -> tuple[list, list]:
        return [s.strokes for s in samples for _ in range(k)], [s.label for s in samples for _ in range(k)]

    xs, ys = [], []
    d, y = drawings(tr, copies)
    zeros = [s for s in tr if s.label == 0]
    d += [slashed_zero(rng, zeros) for _ in range(generated_per_kind)]
    y += [0] * generated_per_kind
    n, yn = drawings(nd_tr, 2)
    d += n
    y += [NOT_A_DIGIT] * len(yn)
    for make in STROKE_KINDS.values():
        d += [make(rng, tr) for _ in range(generated_per_kind)]
        y += [NOT_A_DIGIT] * generated_per_kind
    xs, ys = canvas_sequences(d, rng), np.asarray(y, np.int64)
    hd, hy = drawings(va, 2)
    hn, _ = drawings(nd_va, 1)
    x_held = canvas_sequences(hd + hn, rng, augment=False)
    y_held = np.asarray(hy + [NOT_A_DIGIT] * len(hn), np.int64)
    return {"train": (xs, ys), "held": (x_held, y_held)}


def build_stroke_model(seed: int = 0):
    """Dilated 1-D convolutions over the 64 points, then the mean and max of the last maps
    ("features", what the visitor's memory compares), then 11 probabilities."""
    import keras
    from keras import layers

    keras.utils.set_random_seed(seed)

    def block(x, filters, kernel, strides=1, dilation=1):
        x = layers.Conv1D(filters, kernel, strides=strides, dilation_rate=dilation, padding="same", use_bias=False)(x)
        x = layers.BatchNormalization()(x)
        return layers.Activation("relu")(x)

    inputs = keras.Input((SEQ_LEN, FEATURES), name=STROKES_IN)
    x = block(inputs, 48, 5)
    x = block(x, 48, 5, dilation=2)
    x = block(x, 96, 5, strides=2)
    x = block(x, 96, 3, dilation=2)
    x = block(x, 128, 3, strides=2)
    x = block(x, 128, 3, dilation=2)
    features = layers.Concatenate(name="features")([layers.GlobalAveragePooling1D()(x), layers.GlobalMaxPooling1D()(x)])
    x = layers.Dropout(0.4)(features)
    outputs = layers.Dense(NUM_CLASSES, activation="softmax", name="probabilities")(x)
    return keras.Model(inputs, outputs, name="strokes_cnn")


def train_stroke_model(out_dir: str | os.PathLike, epochs: int = 12, seed: int = 0, verbose: int = 2) -> dict:
    """Train, save out_dir/members/strokes.keras, export out_dir/strokes.onnx; the run's record."""
    import keras

    from digits.training.network import save_atomic

    start = time.time()
    data = stroke_data(seed)
    x, y = data["train"]
    x_val, y_val = data["held"]
    model = build_stroke_model(seed)
    steps = epochs * int(np.ceil(len(x) / 128))
    schedule = keras.optimizers.schedules.CosineDecay(2e-4, steps, warmup_target=2e-3, warmup_steps=steps // 20)
    model.compile(optimizer=keras.optimizers.Adam(schedule),
                  loss=keras.losses.CategoricalCrossentropy(label_smoothing=0.05), metrics=["accuracy"])
    onehot = lambda labels: keras.utils.to_categorical(labels, NUM_CLASSES)  # noqa: E731
    history = model.fit(x, onehot(y), batch_size=128, epochs=epochs, shuffle=True, verbose=verbose,
                        validation_data=(x_val, onehot(y_val)))
    members = Path(out_dir) / "members"
    members.mkdir(parents=True, exist_ok=True)
    save_atomic(model, members / KERAS_NAME)
    export_stroke_model(members / KERAS_NAME, Path(out_dir) / ONNX_NAME)
    return {"epochs": epochs, "seed": seed, "train": len(y), "held": len(y_val),
            "seconds": round(time.time() - start, 1),
            "history": {k: [float(v) for v in vals] for k, vals in history.history.items()}}


def export_stroke_model(keras_path: Path, out: Path) -> None:
    """The Keras trajectory model -> an ONNX graph with "probabilities" and "features" outputs."""
    import keras

    from digits.training.export import write_onnx
    from digits.training.network import load_model

    model = load_model(keras_path)
    graph = keras.Model(model.inputs, [model.output, model.get_layer("features").output], name="strokes")
    graph(np.zeros((1, SEQ_LEN, FEATURES), np.float32))
    write_onnx(graph, out, [PROBABILITIES, FEATURES_OUT],
               {"keras_sha256": json.dumps({Path(keras_path).name: file_sha256(keras_path)})})
