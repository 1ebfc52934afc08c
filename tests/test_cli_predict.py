"""`python -m digits predict IMAGE ...`: the output formats, in process and in a real process."""

import json
import re
import subprocess
import sys

import numpy as np
import pytest

from digits.cli import main
from tests.conftest import REPO
from tests.samples import photo_of, save

LINE = re.compile(r"^(?P<file>.+): (?P<digit>\d) \((?P<pct>\d+\.\d)%\)  "
                  + " ".join(rf"{d}:(?P<p{d}>[01]\.\d{{3}})" for d in range(10))
                  + r" not-a-digit:(?P<nd>[01]\.\d{3})$")


@pytest.fixture(scope="module")
def files(mnist, tmp_path_factory):
    """Four photo-like files of MNIST test digits 7, 2, 1, 0, as JPEG and PNG."""
    folder = tmp_path_factory.mktemp("predict")
    rng = np.random.default_rng(7)
    return [save(photo_of(mnist.x_test[i], rng), folder / f"digit{i}.{ext}")
            for i, ext in zip(range(4), ("jpg", "png", "jpg", "png"))], [7, 2, 1, 0]


def test_predict_in_a_real_process(files, tmp_path):
    """Good photos around a damaged file: every good one is read, the bad one named, exit code 2."""
    paths, digits = files
    damaged = tmp_path / "damaged.png"
    damaged.write_bytes(paths[1].read_bytes()[:3000])
    run = subprocess.run([sys.executable, "-m", "digits", "predict", *map(str, paths[:2]), str(damaged),
                          *map(str, paths[2:])], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert run.returncode == 2
    lines = run.stdout.splitlines()
    assert len(lines) == len(paths)
    for line, path, digit in zip(lines, paths, digits):
        m = LINE.match(line)
        assert m, line
        probs = [float(m[f"p{d}"]) for d in range(10)]
        assert m["file"] == str(path) and int(m["digit"]) == digit == int(np.argmax(probs))
        assert abs(sum(probs) + float(m["nd"]) - 1) < 0.01 and float(m["pct"]) == pytest.approx(100 * probs[digit], abs=0.1)
    assert f"error: {damaged}: the image data is truncated or corrupt (" in run.stderr
    assert "error: 1 of 5 files could not be read" in run.stderr
    assert "Traceback" not in run.stderr


def test_predict_json_is_one_object_per_line(files, capsys):
    paths, digits = files
    assert main(["predict", "--json", *map(str, paths)]) == 0
    out, err = capsys.readouterr()
    objects = [json.loads(line) for line in out.splitlines()]
    assert [o["file"] for o in objects] == list(map(str, paths))
    assert [o["digit"] for o in objects] == digits
    for o in objects:
        assert set(o) == {"file", "answer", "digit", "probabilities"} and len(o["probabilities"]) == 11
        assert o["answer"] == "digit"
        assert abs(sum(o["probabilities"]) - 1) < 1e-4 and o["digit"] == int(np.argmax(o["probabilities"][:10]))
    assert err == ""


def test_one_bad_file_among_good_ones(files, tmp_path, capsys):
    paths, digits = files
    bad = tmp_path / "scan.png"
    bad.write_bytes(b"not really a scan")
    assert main(["predict", str(paths[0]), str(bad), str(paths[1])]) == 2
    out, err = capsys.readouterr()
    assert [LINE.match(line)["digit"] for line in out.splitlines()] == ["7", "2"]
    assert err == (f"error: {bad}: not an image (or not a PNG, JPEG, BMP, TIFF, WebP or GIF file)\n"
                   "error: 1 of 3 files could not be read\n")


def test_a_missing_model_is_explained(files, tmp_path, capsys):
    assert main(["predict", str(files[0][0]), "--model", str(tmp_path / "none.keras")]) == 2
    assert "No model file at" in capsys.readouterr().err


def test_usage_errors_exit_2(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["predict"])
    assert exit_.value.code == 2 and "IMAGE" in capsys.readouterr().err
