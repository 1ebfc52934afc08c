"""train.py end to end on a small slice (the shipped model is trained the same way, longer)."""

import json
import subprocess
import sys

import keras
import numpy as np
import pytest

from digits.inference import file_sha256
from digits.model import Predictor
from digits.training.network import load_model
from digits.training.network import save_atomic
from tests.conftest import REPO


@pytest.mark.slow
def test_train_writes_model_report_and_figures(tmp_path):
    run = subprocess.run(
        [sys.executable, "train.py", "--members", "2", "--epochs", "1", "--limit", "300", "--stroke-copies", "1",
         "--out", str(tmp_path)],
        cwd=REPO, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "Test accuracy" in run.stdout
    report = json.loads((tmp_path / "report.json").read_text())
    assert 0 <= report["test_accuracy"] <= 1
    assert report["training"]["epochs"] == 1 and report["training"]["data"]["strokes_train"] > 0
    assert report["training"]["members"] == 2 and report["training"]["data"]["nondigits_train"] > 0
    assert np.asarray(report["test"]["confusion"]).sum() == 10000
    assert {"loss", "val_loss", "accuracy", "val_accuracy"} <= set(report["history"])
    for name in report["figures"].values():
        assert (tmp_path / name).stat().st_size > 1000
    members = [load_model(tmp_path / "members" / f"member-{k}.keras") for k in (0, 1)]  # safe mode
    served = Predictor.load(tmp_path / "digits.onnx")  # the exported ensemble
    x = np.random.default_rng(0).random((3, 28, 28), dtype=np.float32)
    expected = np.mean([m.predict_on_batch(x[..., None]) for m in members], axis=0)
    np.testing.assert_allclose(served.network.probabilities(x[..., None]), expected, atol=1e-5)
    live = json.loads((tmp_path / "live.json").read_text())  # the browser's live model, of this graph
    assert live["teacher_sha256"] == file_sha256(tmp_path / "digits.onnx")
    assert report["training"]["live_model"]["params"] < 100_000


def test_bad_arguments_are_refused():
    run = subprocess.run([sys.executable, "train.py", "--epochs", "0"], cwd=REPO,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 2 and "--epochs must be at least 1" in run.stderr


def test_interrupted_save_leaves_the_old_model(tmp_path):
    class Interrupted(keras.Sequential):
        def save(self, path, *args, **kwargs):
            with open(path, "wb") as f:
                f.write(b"PK\x03\x04 half a model")
            raise KeyboardInterrupt  # the user pressed Ctrl-C mid-write

    target = tmp_path / "digits.keras"
    target.write_bytes(b"the previous, good model")
    with pytest.raises(KeyboardInterrupt):
        save_atomic(Interrupted(), target)
    assert target.read_bytes() == b"the previous, good model"
    assert list(tmp_path.iterdir()) == [target]
