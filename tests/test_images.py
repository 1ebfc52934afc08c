"""Image files -> the model input: photo-like pictures read right, canvas PNGs match the canvas."""

import io
import json

import numpy as np
import pytest
from PIL import Image

from digits.cli import predict_images
from digits.data import iter_strokes
from digits.images import extract_ink, read_digit, read_gray
from digits.preprocess import preprocess_canvas
from digits.render import draw, render_sample
from tests.conftest import stroke
from tests.samples import photo_of, save

N_PHOTOS = 300


@pytest.fixture(scope="module")
def photos(mnist, tmp_path_factory):
    """N_PHOTOS MNIST test digits as pen-on-paper photos, half PNG and half JPEG."""
    folder = tmp_path_factory.mktemp("photos")
    rng = np.random.default_rng(2024)
    index = rng.choice(len(mnist.x_test), N_PHOTOS, replace=False)
    paths = []
    for k, i in enumerate(index):
        photo = photo_of(mnist.x_test[i], rng)
        if k % 2:
            paths.append(save(photo, folder / f"{k:03d}.jpg", quality=int(rng.integers(70, 95))))
        else:
            paths.append(save(photo, folder / f"{k:03d}.png", compress_level=1))
    return paths, mnist.y_test[index]


def test_photos_of_digits_on_uneven_paper_read_right(photos, reader, capsys):
    paths, labels = photos
    assert predict_images(paths, reader, as_json=True) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["file"] for line in lines] == [str(p) for p in paths]
    read = np.array([line["digit"] for line in lines])
    accuracy = float((read == labels).mean())
    print(f"photo-like images read right: {accuracy:.1%} of {len(paths)}")
    assert accuracy >= 0.95


def test_dark_on_light_and_light_on_dark_give_the_same_input(mnist):
    photo = photo_of(mnist.x_test[0], np.random.default_rng(0))
    gray = photo.mean(axis=2)
    dark_on_light = read_digit(_png(gray))
    light_on_dark = read_digit(_png(255 - gray))
    assert np.abs(dark_on_light - light_on_dark).mean() < 0.02


def test_uneven_light_is_not_ink():
    """A page twice as bright on one side as on the other, and a blank one, hold no ink."""
    ramp = np.tile(np.linspace(110, 240, 400), (300, 1))
    with pytest.raises(ValueError, match="no digit found"):
        read_digit(_png(ramp))
    one = ramp.copy()
    one[60:240, 195:212] *= 0.35  # a vertical pen stroke in the middle of the gradient
    ink = extract_ink(read_gray(_png(one)))
    assert ink[:, :150].max() == 0 and ink[:, 260:].max() == 0  # the light gradient is gone
    assert ink[100:200, 198:209].min() > 0.9  # the stroke is full ink


def test_canvas_png_gives_exactly_what_the_canvas_gives(unipen_dev):
    """The white-on-black canvas, saved as PNG and read as a file: bit-identical model input."""
    n = 0
    for i, sample in enumerate(iter_strokes(unipen_dev)):
        if i == 60:
            break
        for variant in ("random", "easy"):
            rgba = render_sample(sample.strokes, i, variant)
            assert np.array_equal(read_digit(_png(rgba)), preprocess_canvas(rgba)), (i, variant)
            n += 1
    # Awkward drawings too: a tiny dot, a dash, strokes at the very edge, a dense scribble.
    rng = np.random.default_rng(0)
    odd = [[stroke((140, 140))], [stroke((20, 140), (260, 140))], [stroke((0, 0), (0, 279), (279, 279))]]
    odd += [[rng.uniform(20, 260, (6, 2)) for _ in range(3)] for _ in range(10)]
    for strokes in odd:
        rgba = draw(strokes, width=float(rng.uniform(6, 30)))
        assert np.array_equal(read_digit(_png(rgba)), preprocess_canvas(rgba))
        n += 1
    assert n == 133


def _png(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.clip(array, 0, 255).astype(np.uint8)).save(buf, "PNG", compress_level=1)
    return buf.getvalue()
