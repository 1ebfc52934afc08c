"""The NumPy serving engine against Keras itself: same file, same answers, same gradients."""

import subprocess
import sys

import numpy as np
import pytest

from digits.inference import Affine, Conv, Network, UnsupportedModel
from digits.model import MODEL_PATH, ModelError, Predictor, build_model, load_model
from digits.preprocess import preprocess_canvas
from digits.render import render_sample
from tests.conftest import REPO


@pytest.fixture(scope="module")
def keras_model():
    return load_model(MODEL_PATH)


@pytest.fixture(scope="module")
def pen_digits(unipen_dev) -> np.ndarray:
    """300 real pen digits from the dev writers, replayed through the canvas protocol."""
    from digits.data import read_strokes

    samples = read_strokes(unipen_dev)[:300]
    images = [preprocess_canvas(render_sample(s.strokes, i, "random")) for i, s in enumerate(samples)]
    return np.stack([im for im in images if im is not None])


def test_committed_model_gives_keras_answers(predictor, keras_model, mnist, pen_digits):
    x = np.concatenate([mnist.x_test[:2000].astype(np.float32) / 255, pen_digits])
    ours = predictor.probabilities(x)
    theirs = np.asarray(keras_model.predict_on_batch(x[..., None]))
    assert np.abs(ours - theirs).max() < 1e-5
    np.testing.assert_array_equal(ours.argmax(axis=1), theirs.argmax(axis=1))


def test_saliency_gradient_and_activations_match_tensorflow(predictor, keras_model, pen_digits):
    import keras
    import tensorflow as tf

    net = predictor.network
    first = keras_model.get_layer("activation")  # conv -> batch norm -> ReLU
    probe = keras.Model(keras_model.inputs, [first.output, keras_model.get_layer("probabilities").input])
    head = keras_model.get_layer("probabilities")
    for image in pen_digits[:5]:
        x = image.reshape(1, 28, 28, 1).astype(np.float32)
        logits, outputs = net.forward(x)
        top = int(np.argmax(logits[0]))
        xt = tf.constant(x)
        with tf.GradientTape() as tape:
            tape.watch(xt)
            acts, features = probe(xt, training=False)
            score = (tf.matmul(features, head.kernel) + head.bias)[0, top]
        np.testing.assert_allclose(outputs[0], acts.numpy(), atol=1e-5)
        grad = tape.gradient(score, xt).numpy()
        np.testing.assert_allclose(net.input_gradient(x, outputs, top), grad, atol=1e-4 * np.abs(grad).max())


def _save(model, tmp_path, name="m.keras"):
    path = tmp_path / name
    model.save(path)
    return path


def test_every_supported_layer_kind_matches_keras(tmp_path):
    """A small zoo model: conv with bias and valid padding, batch norm after a ReLU (not
    foldable), an odd-sized stride-2 "same" conv, a ReLU layer, a dense ReLU, softmax as a layer."""
    import keras
    from keras import layers

    keras.utils.set_random_seed(1)
    inputs = keras.Input((28, 28, 1))
    x = layers.Conv2D(8, 3, padding="valid", activation="relu")(inputs)  # 26x26
    x = layers.BatchNormalization()(x)
    x = layers.Conv2D(8, 4, strides=2, padding="same", use_bias=False)(x)  # 13x13
    x = layers.BatchNormalization(center=False)(x)
    x = layers.ReLU()(x)
    x = layers.Conv2D(16, 3, strides=2, padding="same")(x)  # 7x7, asymmetric padding
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dense(12, activation="relu")(x)
    x = layers.Dense(10)(x)
    outputs = layers.Activation("softmax")(x)
    model = keras.Model(inputs, outputs)
    # Non-trivial batch-norm statistics, so folding them in is really tested.
    for layer in model.layers:
        if isinstance(layer, layers.BatchNormalization):
            layer.moving_mean.assign(np.random.default_rng(2).normal(0, 0.5, layer.moving_mean.shape))
            layer.moving_variance.assign(np.random.default_rng(3).uniform(0.5, 2, layer.moving_variance.shape))
    net = Network.load(_save(model, tmp_path))
    assert any(isinstance(s, Affine) for s in net.steps), "the batch norm after a ReLU stays a step"
    x = np.random.default_rng(4).random((16, 28, 28, 1), dtype=np.float32)
    np.testing.assert_allclose(net.probabilities(x), np.asarray(model.predict_on_batch(x)), atol=1e-5)


def test_freshly_built_network_matches_keras(tmp_path):
    model = build_model(seed=0)
    net = Network.load(_save(model, tmp_path))
    assert sum(isinstance(s, Conv) for s in net.steps) == 7 and not any(isinstance(s, Affine) for s in net.steps)
    x = np.random.default_rng(0).random((4, 28, 28, 1), dtype=np.float32)
    np.testing.assert_allclose(net.probabilities(x), np.asarray(model.predict_on_batch(x)), atol=1e-5)


def _branching(keras):
    inputs = keras.Input((28, 28, 1))
    a = keras.layers.Conv2D(4, 3, padding="same")(inputs)
    b = keras.layers.Conv2D(4, 3, padding="same")(inputs)
    x = keras.layers.GlobalAveragePooling2D()(keras.layers.Add()([a, b]))
    return keras.Model(inputs, keras.layers.Dense(10, activation="softmax")(x))


def _pooling(keras):
    inputs = keras.Input((28, 28, 1))
    x = keras.layers.MaxPooling2D()(keras.layers.Conv2D(4, 3)(inputs))
    x = keras.layers.Flatten()(x)
    return keras.Model(inputs, keras.layers.Dense(10, activation="softmax")(x))


def _no_softmax(keras):
    inputs = keras.Input((28, 28, 1))
    x = keras.layers.GlobalAveragePooling2D()(keras.layers.Conv2D(4, 3)(inputs))
    return keras.Model(inputs, keras.layers.Dense(10)(x))


def _wrong_input(keras):
    inputs = keras.Input((32, 32, 3))
    x = keras.layers.GlobalAveragePooling2D()(keras.layers.Conv2D(4, 3)(inputs))
    return keras.Model(inputs, keras.layers.Dense(10, activation="softmax")(x))


def _sequential(keras):
    return keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Conv2D(4, 3), keras.layers.GlobalAveragePooling2D(),
                             keras.layers.Dense(10, activation="softmax")])


@pytest.mark.parametrize("make", [_branching, _pooling, _no_softmax, _wrong_input, _sequential])
def test_models_it_cannot_run_are_refused_with_the_reason(tmp_path, make):
    import keras

    path = _save(make(keras), tmp_path)
    if make is not _wrong_input:  # a chain the engine runs, but not on 28x28 digits
        with pytest.raises(UnsupportedModel):
            Network.load(path)
    with pytest.raises(ModelError, match="cannot serve.*python train.py"):
        Predictor.load(path)


def test_serving_never_imports_tensorflow():
    """The web server's prediction path loads and predicts without TensorFlow or Keras."""
    code = (
        "import sys, numpy as np\n"
        "from digits.model import Predictor\n"
        "from digits.explain import explain\n"
        "from digits.inference import serve_single_threaded\n"
        "import webapp.widgets\n"
        "serve_single_threaded()\n"
        "p = Predictor.load()\n"
        "p.predict(np.zeros((28, 28), np.float32)); explain(p.network, np.ones((28, 28), np.float32))\n"
        "print(sorted(m for m in ('tensorflow', 'keras') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
