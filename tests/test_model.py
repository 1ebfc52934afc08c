"""The model wrapper and the committed model's accuracy (real model, real MNIST)."""

import json
import shutil

import numpy as np
import pytest

from digits.model import MODEL_PATH, REPORT_PATH, ModelError, Predictor, build_model, load_model


def test_built_model_takes_28x28_and_gives_10_probabilities():
    model = build_model(seed=0)
    assert model.input_shape == (None, 28, 28, 1) and model.output_shape == (None, 10)
    assert model.count_params() < 1_000_000


def test_predict_single_matches_batch_and_keras(predictor, mnist):
    x = mnist.x_test[:8].astype(np.float32) / 255
    batch = predictor.probabilities(x)
    singles = np.concatenate([predictor.probabilities(img) for img in x])
    keras_out = np.asarray(load_model(MODEL_PATH).predict(x[..., None], verbose=0))
    np.testing.assert_allclose(singles, batch, atol=1e-5)
    np.testing.assert_allclose(singles, keras_out, atol=1e-5)
    np.testing.assert_allclose(singles.sum(axis=1), 1.0, atol=1e-5)


def test_prediction_is_the_argmax(predictor, mnist):
    p = predictor.predict(mnist.x_test[0].astype(np.float32) / 255)
    assert p.digit == int(np.argmax(p.probabilities)) and p.confidence == p.probabilities.max()
    assert p.digit == mnist.y_test[0]


def test_committed_model_reaches_the_mnist_target(predictor, mnist):
    x = mnist.x_test.astype(np.float32) / 255
    accuracy = float((predictor.probabilities(x).argmax(axis=1) == mnist.y_test).mean())
    assert accuracy >= 0.996, f"MNIST test accuracy {accuracy:.4f}"
    report = json.loads(REPORT_PATH.read_text())
    assert report["test_accuracy"] == pytest.approx(accuracy, abs=1e-4)


def test_committed_model_is_small():
    assert MODEL_PATH.stat().st_size <= 5 * 1024 * 1024


LOADERS = pytest.mark.parametrize("load", [load_model, Predictor.load], ids=["keras", "serving"])


@LOADERS
@pytest.mark.parametrize("content", [None, b"", b"not a zip at all", b"PK\x03\x04broken"])
def test_missing_or_corrupt_model_says_how_to_train(tmp_path, content, load):
    path = tmp_path / "digits.keras"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(ModelError, match="python train.py"):
        load(path)


@LOADERS
def test_truncated_model_file_says_how_to_train(tmp_path, load):
    path = tmp_path / "digits.keras"
    data = MODEL_PATH.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelError, match="python train.py"):
        load(path)


@LOADERS
def test_model_file_with_a_lambda_is_refused(tmp_path, load):
    """Keras' safe mode refuses the pickled function; the serving engine refuses the layer kind."""
    import keras

    inputs = keras.Input((28, 28, 1))
    outputs = keras.layers.Lambda(lambda t: t * 2)(inputs)
    path = tmp_path / "evil.keras"
    keras.Model(inputs, outputs).save(path)
    with pytest.raises(ModelError, match="python train.py"):
        load(path)


def test_loaded_copy_predicts_identically(tmp_path, predictor, mnist):
    copy = tmp_path / "digits.keras"
    shutil.copy(MODEL_PATH, copy)
    x = mnist.x_test[:50].astype(np.float32) / 255
    np.testing.assert_array_equal(Predictor.load(copy).probabilities(x), predictor.probabilities(x))
