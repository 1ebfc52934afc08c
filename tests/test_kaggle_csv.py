"""Kaggle "Digit Recognizer" CSVs built from MNIST: reading, the split, predict-csv, train.py."""

import json
import subprocess
import sys

import numpy as np
import pytest

from digits.cli import main
from digits.data import iter_kaggle_csv, read_kaggle_csv
from digits.training.kaggle import kaggle_train_data, predict_csv, stratified_split
from digits.training.network import load_model
from tests.conftest import REPO
from tests.samples import kaggle_csv

N = 400


@pytest.fixture(scope="module")
def train_csv(mnist, tmp_path_factory):
    return kaggle_csv(tmp_path_factory.mktemp("kaggle") / "train.csv", mnist.x_train[:N], mnist.y_train[:N])


@pytest.fixture(scope="module")
def test_csv(mnist, tmp_path_factory):
    return kaggle_csv(tmp_path_factory.mktemp("kaggle") / "test.csv", mnist.x_test[:N])


def test_reading_gives_back_the_exact_pixels_and_labels(mnist, train_csv, test_csv):
    x, y = read_kaggle_csv(train_csv)
    assert np.array_equal(x, mnist.x_train[:N]) and np.array_equal(y, mnist.y_train[:N])
    x, y = read_kaggle_csv(test_csv, labels=False)
    assert np.array_equal(x, mnist.x_test[:N]) and y is None
    chunks = list(iter_kaggle_csv(test_csv, chunk_rows=64))
    assert [len(c[0]) for c in chunks] == [64] * 6 + [16]
    assert np.array_equal(np.concatenate([c[0] for c in chunks]), mnist.x_test[:N])


def test_progress_reaches_the_end(test_csv):
    seen = []
    for _ in iter_kaggle_csv(test_csv, chunk_rows=100, progress=seen.append):
        pass
    assert seen == sorted(seen) and seen[-1] == 1.0 and len(seen) == 5


def test_the_split_is_stratified_and_disjoint(mnist):
    y = mnist.y_train[:5000]
    train, held = stratified_split(y, 0.2, seed=0)
    assert len(np.intersect1d(train, held)) == 0 and len(train) + len(held) == len(y)
    for digit in range(10):
        assert abs((y[held] == digit).sum() - 0.2 * (y == digit).sum()) <= 0.5
    again, _ = stratified_split(y, 0.2, seed=0)
    assert np.array_equal(train, again)  # the same seed, the same split


def test_train_data_tests_on_the_held_out_fifth(train_csv):
    data = kaggle_train_data(train_csv, seed=0)
    assert len(data.x_train) + len(data.x_val) == N and abs(len(data.x_val) - N / 5) <= 5
    assert data.x_test is data.x_val and data.y_test is data.y_val
    assert data.x_train.dtype == np.float32 and 0 <= data.x_train.min() and data.x_train.max() <= 1


def test_predict_csv_writes_kaggles_format(mnist, test_csv, tmp_path, capsys):
    out = tmp_path / "submission.csv"
    assert main(["predict-csv", str(test_csv), "--out", str(out)]) == 0
    assert capsys.readouterr().out == f"Wrote {N} predictions to {out}\n"
    text = out.read_bytes().decode("ascii")
    lines = text.split("\n")
    assert lines[0] == "ImageId,Label" and lines[-1] == "" and "\r" not in text
    rows = [tuple(map(int, line.split(","))) for line in lines[1:-1]]
    assert [r[0] for r in rows] == list(range(1, N + 1))  # 1-based, in file order
    labels = np.array([r[1] for r in rows])
    assert set(labels) <= set(range(10))
    assert (labels == mnist.y_test[:N]).mean() >= 0.98  # MNIST pixels go to the model unchanged


def test_predict_csv_shows_progress_on_a_terminal(test_csv, tmp_path, predictor, capsys):
    assert predict_csv(test_csv, tmp_path / "s.csv", predictor, show_progress=True) == N
    bar = capsys.readouterr().err
    assert bar.startswith(f"\rPredicting {test_csv} [") and bar.endswith("] 100%\n")


def test_predict_csv_in_a_real_process(test_csv, tmp_path):
    out = tmp_path / "submission.csv"
    run = subprocess.run([sys.executable, "-m", "digits", "predict-csv", str(test_csv), "--out", str(out)],
                         cwd=REPO, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout == f"Wrote {N} predictions to {out}\n"
    assert len(out.read_text().splitlines()) == N + 1


@pytest.mark.slow
def test_train_py_on_a_kaggle_csv(train_csv, mnist, tmp_path):
    n_val = len(stratified_split(mnist.y_train[:N], 0.2, seed=0)[1])
    run = subprocess.run([sys.executable, "train.py", "--kaggle-csv", str(train_csv), "--epochs", "1",
                          "--members", "1", "--out", str(tmp_path)], cwd=REPO, capture_output=True, text=True,
                         timeout=600)
    assert run.returncode == 0, run.stderr[-2000:]
    assert f"Training on {N - n_val} images, validating on {n_val}, testing on {n_val}." in run.stdout
    assert "Test accuracy" in run.stdout
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["test"]["n"] == n_val and 0 <= report["test_accuracy"] <= 1
    assert report["training"]["data"]["kaggle_csv"] == str(train_csv)
    assert report["training"]["epochs"] == 1
    load_model(tmp_path / "members" / "member-0.keras")  # a real model file, loadable in safe mode
    assert (tmp_path / "digits.onnx").stat().st_size > 0 and not (tmp_path / "calibration.json").exists()
