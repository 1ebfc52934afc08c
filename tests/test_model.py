"""The model wrapper and the committed model's accuracy (real model, real MNIST)."""

import json
import shutil

import numpy as np
import pytest

from digits.model import MODEL_DIR, MODEL_PATH, NUM_CLASSES, REPORT_PATH, ModelError, Predictor
from digits.training.network import build_model, load_model, member_paths
from digits.evaluation.report import forced_digit


def test_built_model_takes_28x28_and_gives_11_probabilities():
    model = build_model(seed=0)
    assert model.input_shape == (None, 28, 28, 1) and model.output_shape == (None, NUM_CLASSES)
    assert model.count_params() < 1_000_000


def test_predict_single_matches_batch_and_keras(predictor, mnist):
    x = mnist.x_test[:8].astype(np.float32) / 255
    batch = predictor.probabilities(x)
    singles = np.concatenate([predictor.probabilities(img) for img in x])
    keras_out = np.mean([load_model(p).predict(x[..., None], verbose=0) for p in member_paths()], axis=0)
    np.testing.assert_allclose(singles, batch, atol=1e-5)
    # The plain view through the graph is the Keras ensemble (the TTA average: test_inference).
    np.testing.assert_allclose(predictor.network.probabilities(x[..., None]), keras_out, atol=1e-5)
    np.testing.assert_allclose(singles.sum(axis=1), 1.0, atol=1e-5)


def test_prediction_is_the_best_digit(predictor, mnist):
    p = predictor.predict(mnist.x_test[0].astype(np.float32) / 255)
    assert p.digit == int(np.argmax(p.probabilities[:10])) and p.confidence == p.probabilities[:10].max()
    assert p.digit == mnist.y_test[0] and len(p.probabilities) == NUM_CLASSES


def test_committed_model_reaches_the_mnist_target(predictor, mnist):
    x = mnist.x_test.astype(np.float32) / 255
    accuracy = float((forced_digit(predictor.probabilities(x)) == mnist.y_test).mean())
    assert accuracy >= 0.996, f"MNIST test accuracy {accuracy:.4f}"
    report = json.loads(REPORT_PATH.read_text())
    assert report["test_accuracy"] == pytest.approx(accuracy, abs=1e-4)


def test_shipped_model_files_are_small():
    """The served graph and the Keras members it was exported from: 25 MB in all at most."""
    files = [MODEL_PATH, *member_paths(MODEL_DIR)]
    assert sum(f.stat().st_size for f in files) <= 25 * 1024 * 1024


LOADERS = pytest.mark.parametrize("load, name", [(load_model, "m.keras"), (Predictor.load, "digits.onnx")],
                                  ids=["keras", "serving"])


@LOADERS
@pytest.mark.parametrize("content", [None, b"", b"not a zip at all", b"PK\x03\x04broken"])
def test_missing_or_corrupt_model_says_how_to_train(tmp_path, content, load, name):
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(ModelError, match="python train.py"):
        load(path)


@LOADERS
def test_truncated_model_file_says_how_to_train(tmp_path, load, name):
    path = tmp_path / name
    data = (MODEL_PATH if name.endswith(".onnx") else member_paths()[0]).read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelError, match="python train.py"):
        load(path)


def test_model_file_with_a_lambda_is_refused(tmp_path):
    """Keras' safe mode refuses the pickled function (the served ONNX graph holds no code)."""
    import keras

    inputs = keras.Input((28, 28, 1))
    outputs = keras.layers.Lambda(lambda t: t * 2)(inputs)
    path = tmp_path / "evil.keras"
    keras.Model(inputs, outputs).save(path)
    with pytest.raises(ModelError, match="python train.py"):
        load_model(path)


def test_loaded_copy_predicts_identically(tmp_path, predictor, mnist):
    copy = tmp_path / "digits.onnx"
    shutil.copy(MODEL_PATH, copy)
    x = mnist.x_test[:50].astype(np.float32) / 255
    np.testing.assert_array_equal(Predictor.load(copy).probabilities(x), predictor.probabilities(x))
