"""Train the CNN and write the model with its report.

Data: MNIST's 60k training images plus UNIPEN training writers' pen strokes rendered through
the canvas pipeline (random size, position and pen width), so the model has seen what the app
sees; and an 11th class, "not a digit": UNIPEN training writers' letters and symbols rendered
the same way, plus generated doodles (digits.doodles: smileys, shapes, scribbles, crossed-out
and overlaid digits, two digits side by side). A writer-disjoint slice of the strokes is held
out for validation and calibration; MNIST's 10k test set is only used for the final figures.
"""

from __future__ import annotations

import json
import os
import platform
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from digits.data import NOT_A_DIGIT, REPO, UNIPEN_NONDIGIT_TRAIN, UNIPEN_TRAIN_FILES, Mnist, Sample, read_strokes
from digits.model import MODEL_DIR, NUM_CLASSES
from digits.training.network import build_model, save_atomic
from digits.preprocess import preprocess_canvas
from digits.render import S_MAX, S_MIN, draw, random_layout
from digits.training.split import SPLIT_SEED, hold_out_writers, nondigit_split

GENERATED_PER_KIND = 800  # generated "not a digit" drawings of each digits.doodles kind


@dataclass
class TrainData:
    x_train: np.ndarray  # (N, 28, 28) float32 in [0, 1]
    y_train: np.ndarray  # (N,) int
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    description: dict = field(default_factory=dict)


def to_float(images: np.ndarray) -> np.ndarray:
    return images.astype(np.float32) / 255.0


def render_training_strokes(samples: list[Sample], copies: int, seed: int,
                            stream: int = 7919) -> tuple[np.ndarray, np.ndarray]:
    """Each sample drawn `copies` times at a random size, place and pen width, then preprocessed.

    The random stream is separate from the evaluation protocol's (default_rng(i) per sample).
    """
    rng = np.random.default_rng([seed, stream])
    xs, ys = [], []
    for sample in samples:
        for _ in range(copies):
            layout = random_layout(sample.strokes, rng, (S_MIN * 0.8, S_MAX * 1.1))
            image = preprocess_canvas(draw(layout, width=rng.uniform(10, 28)))
            if image is not None:
                xs.append(image)
                ys.append(sample.label)
    return np.asarray(xs, np.float32).reshape(-1, 28, 28), np.asarray(ys, np.int64)


def mnist_and_strokes(mnist: Mnist, strokes_path: Path | tuple[Path, ...] | None = UNIPEN_TRAIN_FILES, copies: int = 8,
                      seed: int = 0, val_mnist: int = 5000, val_writer_share: float = 0.1,
                      limit: int | None = None,
                      nondigits_path: Path | None = UNIPEN_NONDIGIT_TRAIN,
                      generated_per_kind: int = GENERATED_PER_KIND) -> TrainData:
    """MNIST (+ rendered strokes when the file is there, + the "not a digit" class), with
    writer-disjoint validation. The split comes from SPLIT_SEED, the renders from `seed`.

    `limit` keeps only that many MNIST training images (quick smoke runs).
    """
    rng = np.random.default_rng(SPLIT_SEED)
    order = rng.permutation(len(mnist.x_train))
    val_idx, train_idx = order[:val_mnist], order[val_mnist:][:limit]
    x_train, y_train = to_float(mnist.x_train[train_idx]), mnist.y_train[train_idx].astype(np.int64)
    x_val, y_val = to_float(mnist.x_train[val_idx]), mnist.y_train[val_idx].astype(np.int64)
    desc = {"mnist_source": mnist.source, "mnist_train": len(train_idx), "mnist_val": len(val_idx)}

    paths = strokes_path if isinstance(strokes_path, tuple) else (strokes_path,)
    if strokes_path is not None and all(Path(p).is_file() for p in paths):
        samples = read_strokes(strokes_path)[:limit]
        held = hold_out_writers(samples, rng, val_writer_share)
        tr = [s for s in samples if s.writer not in held]
        va = [s for s in samples if s.writer in held]
        xs_tr, ys_tr = render_training_strokes(tr, copies, seed)
        xs_va, ys_va = render_training_strokes(va, 2, seed + 1)
        # Slashed zeros (Ø) are zeros: the training writers' zeros with a slash, for each split.
        xz_tr, xz_va = slashed_zeros(tr, generated_per_kind, seed), slashed_zeros(va, 100, seed + 1)
        x_train = np.concatenate([x_train, xs_tr, xz_tr])
        y_train = np.concatenate([y_train, ys_tr, np.zeros(len(xz_tr), np.int64)])
        x_val = np.concatenate([x_val, xs_va, xz_va])
        y_val = np.concatenate([y_val, ys_va, np.zeros(len(xz_va), np.int64)])
        desc.update(strokes_files=[_shown(p) for p in paths], strokes_writers=len({s.writer for s in samples}),
                    strokes_train=len(xs_tr), strokes_val=len(xs_va), stroke_copies=copies,
                    strokes_val_writers=len(held), slashed_zeros_train=len(xz_tr), slashed_zeros_val=len(xz_va))

        if nondigits_path is not None and Path(nondigits_path).is_file():
            nd_tr, nd_va = nondigit_split(read_strokes(nondigits_path)[:limit])
            gen_tr, gen_va = generated_nondigits(samples, mnist, generated_per_kind, seed)
            xn_tr, yn_tr = render_balanced(nd_tr, seed, stream=4243)
            xn_va, yn_va = render_training_strokes(nd_va, 1, seed + 1, stream=4243)
            x_train = np.concatenate([x_train, xn_tr, gen_tr])
            y_train = np.concatenate([y_train, yn_tr, np.full(len(gen_tr), NOT_A_DIGIT)])
            x_val = np.concatenate([x_val, xn_va, gen_va])
            y_val = np.concatenate([y_val, yn_va, np.full(len(gen_va), NOT_A_DIGIT)])
            desc.update(nondigits_file=_shown(nondigits_path), nondigits_train=len(xn_tr),
                        nondigits_val=len(xn_va), generated_train=len(gen_tr), generated_val=len(gen_va))
    return TrainData(x_train, y_train, x_val, y_val, to_float(mnist.x_test),
                     mnist.y_test.astype(np.int64), desc)


def render_balanced(samples: list[Sample], seed: int, stream: int, per_character: int = 300,
                    max_copies: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """Letters and symbols, each character rendered about `per_character` times: the rare
    symbols (`&`, `^`, `>`, `%`: ~80 samples against 400 of a letter) were the ones most often
    read as a digit. At most `max_copies` renders of one sample, at least one."""
    counts: dict[str, int] = {}
    for s in samples:
        counts[s.char] = counts.get(s.char, 0) + 1
    groups: dict[int, list[Sample]] = {}
    for s in samples:
        k = int(np.clip(round(per_character / counts[s.char]), 1, max_copies))
        groups.setdefault(k, []).append(s)
    parts = [render_training_strokes(group, k, seed, stream + k) for k, group in sorted(groups.items())]
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


def slashed_zeros(samples: list[Sample], n: int, seed: int) -> np.ndarray:
    """`n` renders of these writers' zeros with a slash through them (Ø): digits, label 0."""
    from digits.doodles import slashed_zero

    zeros = [s for s in samples if s.label == 0]
    if not zeros:
        return np.zeros((0, 28, 28), np.float32)
    rng = np.random.default_rng([seed, 3001])
    out = []
    for _ in range(n):
        layout = random_layout(slashed_zero(rng, zeros), rng, (S_MIN * 0.8, S_MAX * 1.1))
        out.append(preprocess_canvas(draw(layout, width=rng.uniform(10, 28))))
    return np.asarray([o for o in out if o is not None], np.float32).reshape(-1, 28, 28)


def _shown(path: Path) -> str:
    path = Path(path)
    return str(path.relative_to(REPO) if path.is_relative_to(REPO) else path)


def generated_nondigits(digits: list[Sample], mnist: Mnist, per_kind: int,
                        seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Generated doodles for the "not a digit" class: (training, validation) model inputs.

    Each digits.doodles kind drawn with its own random stream at a random size, place and
    pen width; overlaid digits from MNIST's training images (the test images are what the
    measured sets use).
    """
    from digits.doodles import STROKE_KINDS, overlaid_digits

    rng = np.random.default_rng([seed, 6007])
    out = []
    for kind, make in STROKE_KINDS.items():
        for _ in range(per_kind):
            layout = random_layout(make(rng, digits), rng, (S_MIN * 0.8, S_MAX * 1.1))
            out.append(preprocess_canvas(draw(layout, width=rng.uniform(10, 28))))
    for _ in range(per_kind):
        out.append(preprocess_canvas(overlaid_digits(rng, mnist.x_train, mnist.y_train)))
    x = np.asarray([o for o in out if o is not None], np.float32)
    x = x[rng.permutation(len(x))]
    n_val = len(x) // 10
    return x[n_val:], x[:n_val]


def make_dataset(x: np.ndarray, y: np.ndarray, batch_size: int, augment: bool, seed: int, smoothing: float):
    import tensorflow as tf

    from digits.training.augment import augment_batch

    ds = tf.data.Dataset.from_tensor_slices((x[..., None], y))
    if augment:
        ds = ds.shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch_size)

    def prepare(images, labels):
        if augment:
            images = augment_batch(images)
        return images, tf.one_hot(labels, NUM_CLASSES) * (1 - smoothing) + smoothing / NUM_CLASSES

    return ds.map(prepare, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)


def train(data: TrainData, members: int = 1, epochs: int = 12, seed: int = 0,
          out_dir: str | os.PathLike = MODEL_DIR, batch_size: int = 128, learning_rate: float = 2e-3,
          smoothing: float = 0.05, verbose: int | None = None, calibrate: bool = True) -> dict:
    """Train `members` CNNs from scratch (seeds seed, seed+1, ...; 0 keeps those in out_dir), the
    pen-path model, then `finish` the folder."""
    members_dir = Path(out_dir) / "members"
    members_dir.mkdir(parents=True, exist_ok=True)
    for k in range(seed, seed + members):
        print(f"Member {k - seed + 1} of {members} (seed {k})", flush=True)
        run = train_member(data, members_dir / f"member-{k}.keras", epochs, k, batch_size,
                           learning_rate, smoothing, verbose)
        write_json_atomic(run, members_dir / f"member-{k}.json")
    if calibrate:  # the full default split: the pen-path model trains on the same writers
        from digits.training.trajectory import KERAS_NAME, train_stroke_model

        print("Trajectory model (the pen's path)", flush=True)
        write_json_atomic(train_stroke_model(out_dir, seed=seed, verbose=2 if verbose is None else verbose),
                          members_dir / Path(KERAS_NAME).with_suffix(".json"))
    return finish(data, out_dir, calibrate)


def train_member(data: TrainData, path: Path, epochs: int, seed: int, batch_size: int = 128,
                 learning_rate: float = 2e-3, smoothing: float = 0.05, verbose: int | None = None) -> dict:
    """One CNN, saved to `path`; returns what the report records about its run."""
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(seed)
    # Same seed, same machine -> the same model: deterministic kernels, at a small speed cost.
    tf.config.experimental.enable_op_determinism()
    model = build_model(seed)
    steps = epochs * int(np.ceil(len(data.x_train) / batch_size))
    schedule = keras.optimizers.schedules.CosineDecay(
        learning_rate / 10, steps, warmup_target=learning_rate, warmup_steps=steps // 20)
    model.compile(optimizer=keras.optimizers.Adam(schedule),
                  loss=keras.losses.CategoricalCrossentropy(),
                  metrics=["accuracy"])
    train_ds = make_dataset(data.x_train, data.y_train, batch_size, True, seed, smoothing)
    val_ds = make_dataset(data.x_val, data.y_val, 1024, False, seed, 0.0)

    if verbose is None:  # the progress bar on a terminal, one line per epoch in a log file
        verbose = 1 if sys.stdout.isatty() else 2
    start = time.time()
    history = model.fit(train_ds, validation_data=val_ds, epochs=epochs, verbose=verbose)
    save_atomic(model, path)
    return {"seed": seed, "epochs": epochs, "batch_size": batch_size, "learning_rate": learning_rate,
            "label_smoothing": smoothing, "seconds": round(time.time() - start, 1),
            "history": {k: [float(v) for v in vals] for k, vals in history.history.items()}}


def finish(data: TrainData, out_dir: str | os.PathLike = MODEL_DIR, calibrate: bool = True) -> dict:
    """From the members in out_dir/members: the served ONNX graph, report.json and its
    figures (MNIST test through the served graph), live.json (the browser's live model, distilled
    from that graph), and calibration.json (on the held-out
    writers of the full default split; `calibrate=False` for smoke runs and other data)."""
    from digits.training.calibrate import calibrate_model
    from digits.training.export import export_onnx
    from digits.model import Predictor
    from digits.training.network import load_model, member_paths
    from digits.evaluation.report import build_report, write_figures

    from digits.training.trajectory import KERAS_NAME, ONNX_NAME, export_stroke_model

    out_dir = Path(out_dir)
    paths = member_paths(out_dir)
    runs = [json.loads(p.with_suffix(".json").read_text()) for p in paths]
    start = time.time()
    onnx_path = out_dir / "digits.onnx"
    export_onnx(paths, onnx_path)
    strokes_keras = out_dir / "members" / KERAS_NAME
    strokes_run = {}
    if strokes_keras.is_file():  # the pen-path graph, from the same training run
        export_stroke_model(strokes_keras, out_dir / ONNX_NAME)
        strokes_run = json.loads(strokes_keras.with_suffix(".json").read_text())
    elif (out_dir / ONNX_NAME).exists():
        (out_dir / ONNX_NAME).unlink()  # a graph from another run must not be fused with these members
    probs = Predictor.load(onnx_path).probabilities(data.x_test)
    report = build_report(
        probs, data.y_test, history=runs[0]["history"],
        training={"members": len(runs), "seeds": [r["seed"] for r in runs], "epochs": runs[0]["epochs"],
                  "batch_size": runs[0]["batch_size"], "learning_rate": runs[0]["learning_rate"],
                  "label_smoothing": runs[0]["label_smoothing"],
                  "member_seconds": [r["seconds"] for r in runs],
                  "seconds": round(sum(r["seconds"] for r in runs) + strokes_run.get("seconds", 0), 1),
                  "strokes_model": {k: v for k, v in strokes_run.items() if k != "history"},
                  "data": data.description,
                  "machine": {"cpus": os.cpu_count(), "platform": platform.platform()}},
        model=load_model(paths[0]),
    )
    write_figures(report, data.x_test, data.y_test, probs, out_dir)
    write_json_atomic(report, out_dir / "report.json")
    if calibrate:  # the held-out writers calibrate "not a digit" and "not sure", then the visitor's memory
        from digits.evaluation.adapt import fit_memory

        calibrate_model(onnx_path)
        fit_memory(onnx_path)
        report["real_drawings"] = real_drawing_figures(onnx_path)
    # The browser's live model (model/live.json), distilled from this graph (after the calibration:
    # its dev figures use it): without it, or with one of another graph, the server reads while
    # the pen moves (webapp/live_canvas.py).
    from digits.training.live import CHECK_IMAGES, build_live

    check = data.x_val[np.random.default_rng(SPLIT_SEED).permutation(len(data.x_val))[:CHECK_IMAGES]]
    # A smoke run (no calibration: --limit, other data) distils for one epoch: the file, not its figures.
    report["training"]["live_model"] = build_live(data.x_train, out_dir, check, epochs=None if calibrate else 1)
    report["training"]["finish_seconds"] = round(time.time() - start, 1)
    write_json_atomic(report, out_dir / "report.json")
    return report


def real_drawing_figures(onnx_path: Path) -> dict:
    """The UNIPEN dev figures of the calibrated model (measured, never trained or tuned on), for
    the report and the Model page: what `make evaluate` prints."""
    from digits.data import DEV_PATH, NONDIGIT_DEV_PATH
    from digits.evaluation.evaluate import evaluate_generated, evaluate_nondigits, evaluate_strokes
    from digits.answer import Reader

    reader = Reader.load(onnx_path)
    keep = ("n", "accuracy", "per_label", "confusion", "rejected", "not_a_digit", "not_sure", "accuracy_answered", "wrong")
    out = {f"dev_digits_{v}": {k: r[k] for k in keep}
           for v in ("random", "easy") for r in [evaluate_strokes(reader, DEV_PATH, v)]}
    nd = evaluate_nondigits(reader, NONDIGIT_DEV_PATH, "random")
    out["dev_nondigits_random"] = {k: nd[k] for k in ("n", "rejected", "not_a_digit", "not_sure", "per_kind", "per_char")}
    out["generated_nondigits"] = evaluate_generated(reader, read_strokes(DEV_PATH))
    return out


def write_json_atomic(obj: dict, path: Path) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(obj, indent=2) + "\n")
    os.replace(tmp, path)

