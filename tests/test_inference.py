"""The served ONNX graph against Keras itself: same members, same answers; the file ties."""

import subprocess
import sys

import numpy as np
import pytest

from digits.inference import Network, file_sha256
from digits.model import MODEL_DIR, NUM_CLASSES, ModelError, Predictor
from digits.training.network import load_model, member_paths
from digits.preprocess import preprocess_canvas
from digits.render import render_sample
from tests.conftest import REPO


@pytest.fixture(scope="module")
def members():
    return [load_model(p) for p in member_paths(MODEL_DIR)]


@pytest.fixture(scope="module")
def pen_drawings(unipen_dev, unipen_nondigit_dev) -> np.ndarray:
    """300 real pen digits and 100 letters/symbols from the dev writers, replayed like the app."""
    from digits.data import read_strokes

    samples = read_strokes(unipen_dev)[:300] + read_strokes(unipen_nondigit_dev)[::22]
    images = [preprocess_canvas(render_sample(s.strokes, i, "random")) for i, s in enumerate(samples)]
    return np.stack([im for im in images if im is not None])


def test_served_graph_gives_the_keras_ensembles_answers(predictor, members, mnist, pen_drawings):
    x = np.concatenate([mnist.x_test[:2000].astype(np.float32) / 255, pen_drawings])
    ours = predictor.network.probabilities(x[..., None])
    theirs = np.mean([np.asarray(m.predict_on_batch(x[..., None])) for m in members], axis=0)
    assert ours.shape == (len(x), NUM_CLASSES)
    assert np.abs(ours - theirs).max() < 1e-5
    np.testing.assert_array_equal(ours.argmax(axis=1), theirs.argmax(axis=1))


def test_predictions_average_the_tta_views_through_the_graph(predictor, members, pen_drawings):
    from digits.model import TTA_VIEWS, tta_views

    x = pen_drawings[:16]
    views = tta_views(x)
    assert views.shape == (len(TTA_VIEWS), 16, 28, 28)
    np.testing.assert_array_equal(views[0], x)  # the plain view first
    keras_tta = np.mean([np.mean([m.predict_on_batch(v[..., None]) for m in members], axis=0) for v in views], axis=0)
    np.testing.assert_allclose(predictor.probabilities(x), keras_tta, atol=1e-5)


def test_first_layer_output_is_the_first_members_first_block(predictor, members, pen_drawings):
    import keras

    first = next(layer for layer in members[0].layers if isinstance(layer, keras.layers.Activation))
    probe = keras.Model(members[0].inputs, first.output)
    x = pen_drawings[:8, ..., None]
    np.testing.assert_allclose(predictor.network.first_layer(x), probe.predict_on_batch(x), atol=1e-5)


def test_the_graph_names_the_exact_keras_files_it_came_from(predictor):
    recorded = predictor.network.keras_sha256
    on_disk = {p.name: file_sha256(p) for p in member_paths(MODEL_DIR)}
    assert recorded == on_disk and len(on_disk) >= 1, "re-export with `python train.py --finish-only`"


def test_export_of_fresh_members_matches_keras(tmp_path):
    """The exporter on two untrained members: averaged, named outputs, hashes recorded."""
    from digits.training.export import export_onnx
    from digits.training.network import build_model

    paths = []
    for seed in (0, 1):
        paths.append(tmp_path / f"member-{seed}.keras")
        build_model(seed).save(paths[-1])
    export_onnx(paths, tmp_path / "digits.onnx")
    net = Network.load(tmp_path / "digits.onnx")
    x = np.random.default_rng(0).random((4, 28, 28, 1), dtype=np.float32)
    expected = np.mean([load_model(p).predict_on_batch(x) for p in paths], axis=0)
    np.testing.assert_allclose(net.probabilities(x), expected, atol=1e-5)
    assert net.first_layer(x).shape == (4, 28, 28, 32)
    assert set(net.keras_sha256) == {"member-0.keras", "member-1.keras"}


@pytest.mark.parametrize("content", [b"", b"not an onnx graph", b"\x08\x07" + b"\x00" * 50])
def test_damaged_graphs_are_refused_with_the_reason(tmp_path, content):
    path = tmp_path / "digits.onnx"
    path.write_bytes(content)
    with pytest.raises(ModelError, match="python train.py"):
        Predictor.load(path)


def test_a_graph_for_other_inputs_is_refused(tmp_path):
    import keras

    inputs = keras.Input((32, 32, 3), name="image")
    x = keras.layers.GlobalAveragePooling2D()(keras.layers.Conv2D(4, 3)(inputs))
    model = keras.Model(inputs, keras.layers.Dense(11, activation="softmax")(x))
    model(np.zeros((1, 32, 32, 3), np.float32))
    model.export(tmp_path / "other.onnx", format="onnx", verbose=False)
    with pytest.raises(ModelError, match="cannot serve"):
        Predictor.load(tmp_path / "other.onnx")


def test_serving_never_imports_tensorflow():
    """The web server's prediction path loads and predicts without TensorFlow or Keras."""
    code = (
        "import sys, numpy as np\n"
        "from digits.answer import Reader\n"
        "from digits.explain import explain\n"
        "import webapp.widgets\n"
        "r = Reader.load()\n"
        "r.read_image(np.zeros((28, 28), np.float32)); explain(r.predictor, np.ones((28, 28), np.float32))\n"
        "print(sorted(m for m in ('tensorflow', 'keras', 'tf2onnx', 'onnx') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_the_app_starts_where_tensorflow_cannot_be_imported(tmp_path):
    """Community Cloud installs only requirements.txt: the server's import path and a prediction
    work when `import tensorflow` fails (a stub that raises ImportError shadows it)."""
    for name in ("tensorflow", "keras"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "__init__.py").write_text(f"raise ImportError('no {name} here')\n")
    code = (
        "import numpy as np\n"
        "from streamlit.testing.v1 import AppTest\n"
        "from digits.model import Predictor\n"
        "Predictor.load().predict(np.zeros((28, 28), np.float32))\n"
        "at = AppTest.from_file('app.py', default_timeout=60).run()\n"
        "assert not at.exception, at.exception\n"
        "print('ok')\n"
    )
    env = {"PYTHONPATH": f"{tmp_path}:{REPO}", "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True,
                         timeout=180, env=env)
    assert out.returncode == 0 and out.stdout.strip().endswith("ok"), out.stderr[-2000:]
