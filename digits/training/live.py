"""The live model: a tiny CNN the browser runs while the pen moves (webapp/live_model.js).

It is distilled from the served picture graph (model/digits.onnx, through digits.model.Predictor:
the same 3 test-time views the server averages): trained with Keras on training images against
the teacher's 11 probabilities (the digits and "not a digit"), not on the labels, so that its
guess is the server's guess, mistakes included. The final answer stays the server's; this model
only spares the server the live reruns (about 16 ms of CPU each, docs/performance.md).

`export_live` writes model/live.json: the architecture as a list of layers, the weights as one
base64 float16 blob, and the sha256 of the digits.onnx it was distilled from. The server hands it
to the page once (webapp/live_canvas.py); the page uses it only while that sha256 is the served
graph's. `forward` is the same network in NumPy (tests compare it with the JavaScript).
"""

from __future__ import annotations

import base64
import json
import os
import time
from pathlib import Path

import numpy as np

from digits.inference import file_sha256
from digits.model import MODEL_DIR, NUM_CLASSES, Predictor

LIVE_NAME = "live.json"  # beside digits.onnx
FORMAT = "digits-live/1"
# Three 3x3 conv blocks (16, 32, 64 maps, each halved by a 2x2 max-pool) and a 64-unit dense
# layer: ~61 k parameters (122 kB in float16), ~2 M multiply-adds, a few ms in plain JavaScript.
# (16, 32, 32) for 3 epochs agreed with the server's shown answer on only 94.5 % of dev drawings.
FILTERS = (16, 32, 64)
DENSE = 64
TRAIN_IMAGES = 60_000  # a subset of the training images: distillation stays a few minutes on 2 cores
EPOCHS = 8
CHECK_IMAGES = 5_000  # validation images the agreement with the teacher is measured on
DEV_DRAWINGS = 1_000  # UNIPEN dev drawings the page's live answer is compared on


def build_student(seed: int = 0):
    """The Keras network (no batch norm, no dropout: the JavaScript stays ~100 lines)."""
    import keras
    from keras import layers

    keras.utils.set_random_seed(seed)
    inputs = keras.Input(shape=(28, 28, 1), name="image")
    x = inputs
    for f in FILTERS:
        x = layers.Conv2D(f, 3, padding="same", activation="relu")(x)
        x = layers.MaxPooling2D(2)(x)  # 28 -> 14 -> 7 -> 3 (floor, as the JavaScript does)
    x = layers.Flatten()(x)
    x = layers.Dense(DENSE, activation="relu")(x)
    outputs = layers.Dense(NUM_CLASSES, activation="softmax", name="probabilities")(x)
    return keras.Model(inputs, outputs, name="digits_live")


def distill(x_train: np.ndarray, teacher: Predictor, x_check: np.ndarray | None = None,
            epochs: int = EPOCHS, seed: int = 0, batch_size: int = 128, verbose: int = 2):
    """Train the student on (N, 28, 28) images against the teacher's probabilities.
    Returns (model, figures): the student and its agreement with the teacher on x_check."""
    import keras

    start = time.time()
    soft = teacher.probabilities(x_train)
    teacher_s = time.time() - start
    model = build_student(seed)
    steps = epochs * int(np.ceil(len(x_train) / batch_size))
    model.compile(optimizer=keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(3e-3, steps)),
                  loss=keras.losses.KLDivergence())
    model.fit(x_train[..., None], soft, batch_size=batch_size, epochs=epochs, verbose=verbose, shuffle=True)
    figures = {"train_images": int(len(x_train)), "epochs": epochs, "params": int(model.count_params()),
               "teacher_seconds": round(teacher_s, 1), "seconds": round(time.time() - start, 1)}
    if x_check is not None and len(x_check):
        t = teacher.probabilities(x_check)
        s = model.predict(x_check[..., None], batch_size=1024, verbose=0)
        figures["check_images"] = int(len(x_check))
        figures["agreement"] = round(float((t.argmax(1) == s.argmax(1)).mean()), 4)  # the top of the 11
        figures["mean_abs_diff"] = round(float(np.abs(t - s).mean()), 5)
    return model, figures


def describe(model) -> tuple[list[dict], bytes]:
    """The Keras student -> (layers, float16 weight bytes). Conv kernels stay (kh, kw, in, out)
    and dense ones (in, out), Keras' own layouts, flattened in C order."""
    from keras import layers as kl

    spec, blobs, offset = [], [], 0

    def add(array: np.ndarray) -> dict:
        nonlocal offset
        a = np.ascontiguousarray(array, np.float16)
        blobs.append(a.tobytes())
        ref = {"offset": offset, "shape": list(a.shape)}
        offset += a.size
        return ref

    for layer in model.layers:
        if isinstance(layer, kl.InputLayer):
            continue
        if isinstance(layer, kl.Conv2D):
            k, b = layer.get_weights()
            spec.append({"type": "conv2d", "padding": layer.padding, "activation": layer.activation.__name__,
                         "kernel": add(k), "bias": add(b)})
        elif isinstance(layer, kl.MaxPooling2D):
            spec.append({"type": "maxpool", "size": int(layer.pool_size[0])})
        elif isinstance(layer, kl.Flatten):
            spec.append({"type": "flatten"})
        elif isinstance(layer, kl.Dense):
            k, b = layer.get_weights()
            spec.append({"type": "dense", "activation": layer.activation.__name__, "kernel": add(k), "bias": add(b)})
        else:
            raise ValueError(f"the live model cannot hold a {type(layer).__name__} layer")
    return spec, b"".join(blobs)


def export_live(model, onnx_path: Path, out_path: Path, figures: dict | None = None) -> dict:
    """Write the live model (atomically) and return what was written."""
    spec, blob = describe(model)
    doc = {"format": FORMAT, "teacher_sha256": file_sha256(onnx_path), "input": [28, 28],
           "classes": NUM_CLASSES, "dtype": "float16", "layers": spec,
           "weights": base64.b64encode(blob).decode("ascii"), "figures": figures or {}}
    tmp = out_path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(doc, separators=(",", ":")) + "\n")
    os.replace(tmp, out_path)
    return doc


def load_live(path: Path) -> dict:
    return json.loads(Path(path).read_text())


def weights(doc: dict) -> np.ndarray:
    """All the weights, float32 (float16 on disk: the same numbers the JavaScript reads)."""
    return np.frombuffer(base64.b64decode(doc["weights"]), "<f2").astype(np.float32)


def forward(doc: dict, x: np.ndarray) -> np.ndarray:
    """The live model in NumPy: (N, 28, 28) -> (N, 11) probabilities, in float32 like the
    JavaScript (same order of operations is not needed: they agree to ~1e-6)."""
    w = weights(doc)
    take = lambda ref: w[ref["offset"]: ref["offset"] + int(np.prod(ref["shape"]))].reshape(ref["shape"])  # noqa: E731
    a = np.asarray(x, np.float32).reshape(-1, 28, 28, 1)
    for layer in doc["layers"]:
        kind = layer["type"]
        if kind == "conv2d":
            k, b = take(layer["kernel"]), take(layer["bias"])
            kh, kw = k.shape[:2]
            n, h, wd, c = a.shape
            pad = np.pad(a, ((0, 0), (kh // 2, kh // 2), (kw // 2, kw // 2), (0, 0)))
            cols = np.stack([pad[:, i:i + h, j:j + wd, :] for i in range(kh) for j in range(kw)], axis=3)
            a = cols.reshape(n, h, wd, kh * kw * c) @ k.reshape(kh * kw * c, -1) + b
        elif kind == "maxpool":
            s = layer["size"]
            n, h, wd, c = a.shape
            a = a[:, : h // s * s, : wd // s * s].reshape(n, h // s, s, wd // s, s, c).max(axis=(2, 4))
        elif kind == "flatten":
            a = a.reshape(len(a), -1)
        elif kind == "dense":
            a = a @ take(layer["kernel"]) + take(layer["bias"])
        else:
            raise ValueError(f"unknown layer {kind!r}")
        act = layer.get("activation")
        if act == "relu":
            a = np.maximum(a, 0)
        elif act == "softmax":
            e = np.exp(a - a.max(axis=-1, keepdims=True))
            a = e / e.sum(axis=-1, keepdims=True)
    return a.astype(np.float32)


def dev_figures(doc: dict, onnx_path: Path, n: int = DEV_DRAWINGS) -> dict:
    """On n UNIPEN dev drawings (new writers, replayed as the canvas draws them): how often the
    answer the page shows from the live model (the served calibration and rule: a digit, ✗ or ?)
    is the server's picture answer (what its live route showed), and how often it is right."""
    from digits.answer import Reader, verdicts
    from digits.data import DEV_PATH, read_strokes
    from digits.preprocess import preprocess_canvas
    from digits.render import render_sample

    if not DEV_PATH.is_file():
        return {}
    reader = Reader.load(onnx_path)
    samples = read_strokes(DEV_PATH)
    pick = np.random.default_rng(0).choice(len(samples), min(n, len(samples)), replace=False)
    x = np.stack([preprocess_canvas(render_sample(samples[i].strokes, int(i))) for i in pick])
    y = np.array([samples[i].label for i in pick])
    cal = reader.calibration

    def shown(p: np.ndarray) -> np.ndarray:
        return np.where(verdicts(p, cal.threshold) == "digit", p[:, :10].argmax(1), -1)

    live, server = shown(cal.calibrate(forward(doc, x))), shown(reader.probabilities(x))
    return {"dev_drawings": len(pick), "dev_same_answer_as_server": round(float((live == server).mean()), 4),
            "dev_right": round(float((live == y).mean()), 4), "dev_server_right": round(float((server == y).mean()), 4)}


def build_live(x_train: np.ndarray, out_dir: str | os.PathLike = MODEL_DIR, x_check: np.ndarray | None = None,
               images: int = TRAIN_IMAGES, epochs: int | None = EPOCHS, seed: int = 0) -> dict:
    """Distil out_dir/digits.onnx into out_dir/live.json from (a random subset of) x_train;
    returns the figures. What train.py's finish and `python -m digits export-live` call."""
    epochs = EPOCHS if epochs is None else epochs
    out_dir = Path(out_dir)
    onnx_path = out_dir / "digits.onnx"
    teacher = Predictor.load(onnx_path)
    rng = np.random.default_rng(seed)
    pick = rng.permutation(len(x_train))[:images]
    model, figures = distill(np.asarray(x_train, np.float32)[pick], teacher, x_check, epochs, seed)
    doc = export_live(model, onnx_path, out_dir / LIVE_NAME, figures)
    check = x_check[:256] if x_check is not None and len(x_check) else np.asarray(x_train[pick[:256]], np.float32)
    # float16 weights: how far the served numbers are from the Keras float32 student
    diff = float(np.abs(forward(doc, check) - model.predict(check[..., None], verbose=0)).max())
    figures["float16_max_diff"] = round(diff, 5)
    figures.update(dev_figures(doc, onnx_path))
    figures["bytes"] = (out_dir / LIVE_NAME).stat().st_size
    doc["figures"] = figures
    export_live(model, onnx_path, out_dir / LIVE_NAME, figures)
    return figures


def add_arguments(p) -> None:
    p.add_argument("--model-dir", type=Path, default=MODEL_DIR,
                   help="the folder with digits.onnx (the teacher); live.json is written there")
    p.add_argument("--images", type=int, default=TRAIN_IMAGES, help=f"training images (default {TRAIN_IMAGES})")
    p.add_argument("--epochs", type=int, default=EPOCHS, help=f"default {EPOCHS}")
    p.add_argument("--copies", type=int, default=1,
                   help="renderings of each UNIPEN training sample for the training images (default 1)")
    p.add_argument("--seed", type=int, default=0)
