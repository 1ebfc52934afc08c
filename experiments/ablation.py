"""What each design step buys, on MNIST test and on real pen strokes (UNIPEN dev replay).

    python -m experiments.ablation [--cnn NAME=PATH ...]

Rows:
- the seed notebook's recipe: a Dense-128-128 MLP on raw MNIST, fed the whole canvas squashed
  to 28x28 (trained here, 10 epochs, ~1 min);
- the same MLP with MNIST-style preprocessing (crop, fit 20 px, centre of mass);
- each CNN given with --cnn (a Keras file, e.g. the MNIST-only model or one ensemble member, or
  an exported .onnx graph, e.g. the shipped ensemble), with preprocessing.
Writes experiments/ablation.json and prints a Markdown table for docs/reading-real-drawings.md.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from digits.data import load_mnist
from digits.evaluation.evaluate import replay_inputs
from digits.model import MODEL_PATH, Predictor
from digits.training.network import load_model
from digits.preprocess import naive_resize, preprocess_canvas

HERE = Path(__file__).resolve().parent
DEV = HERE.parent / "data" / "unipen-dev.jsonl.gz"


def train_mlp(seed: int = 0):
    """The classic tutorial model, trained on raw MNIST the tutorial way."""
    import keras

    keras.utils.set_random_seed(seed)
    mnist = load_mnist()
    model = keras.Sequential([
        keras.Input((28, 28)), keras.layers.Flatten(),
        keras.layers.Dense(128, activation="relu"), keras.layers.Dense(128, activation="relu"),
        keras.layers.Dense(10, activation="softmax"),
    ])
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(mnist.x_train / 255.0, mnist.y_train, epochs=10, batch_size=128, verbose=2)
    return model


def accuracy(model, x: np.ndarray, y: np.ndarray) -> float:
    if isinstance(model, Predictor):
        probs = model.probabilities(x)
    else:
        shape = (-1, *model.input_shape[1:])
        probs = np.concatenate([np.asarray(model.predict_on_batch(x[i: i + 1024].reshape(shape)))
                                for i in range(0, len(x), 1024)])
    return round(float((probs[:, :10].argmax(axis=1) == y).mean()), 4)  # the forced choice among 0-9


def measure(model, prepare) -> dict:
    mnist = load_mnist()
    row = {"mnist_test": accuracy(model, mnist.x_test / 255.0, mnist.y_test)}
    for variant in ("random", "easy"):
        x, y = replay_inputs(DEV, variant, prepare)
        row[f"unipen_{variant}"] = accuracy(model, x, y)
    return row


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cnn", action="append", default=[], metavar="NAME=PATH",
                   help=f"a CNN to measure (default: shipped={MODEL_PATH})")
    args = p.parse_args()
    cnns = dict(item.split("=", 1) for item in args.cnn) or {"shipped CNN": str(MODEL_PATH)}

    mlp = train_mlp()
    rows = {
        "MLP, naive whole-canvas resize (seed notebook)": measure(mlp, naive_resize),
        "MLP + MNIST-style preprocessing": measure(mlp, preprocess_canvas),
    }
    for name, path in cnns.items():
        rows[name] = measure(Predictor.load(path) if path.endswith(".onnx") else load_model(path),
                             preprocess_canvas)

    (HERE / "ablation.json").write_text(json.dumps(rows, indent=2) + "\n")
    print("| model | MNIST test | UNIPEN dev, random | UNIPEN dev, easy |")
    print("|---|---|---|---|")
    for name, r in rows.items():
        print(f"| {name} | {r['mnist_test']:.2%} | {r['unipen_random']:.2%} | {r['unipen_easy']:.2%} |")


if __name__ == "__main__":
    main()
