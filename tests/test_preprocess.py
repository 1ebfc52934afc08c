"""Each step of the MNIST-style preprocessing, pinned."""

import numpy as np
import pytest

from digits.preprocess import (BOX, SIZE, canvas_to_gray, center_digit, center_of_mass,
                               preprocess_canvas)
from digits.render import draw
from tests.conftest import stroke

SEVEN = [stroke((0, 0), (60, 0), (25, 100)), stroke((15, 50), (50, 50))]


def moved(strokes, scale, dx, dy):
    return [s * scale + (dx, dy) for s in strokes]


def ink_box(img, level=0.05):
    ys, xs = np.nonzero(img > level)
    return ys.min(), ys.max(), xs.min(), xs.max()


def test_empty_canvas_gives_no_input():
    blank = np.zeros((280, 280, 4), np.uint8)
    blank[..., 3] = 255
    assert preprocess_canvas(blank) is None
    assert preprocess_canvas(None) is None


def test_ink_is_read_from_rgb_not_alpha():
    rgba = draw([stroke((100, 100), (100, 180))])
    assert (rgba[..., 3] == 255).all()  # opaque everywhere, like the browser canvas
    gray = canvas_to_gray(rgba)
    assert gray.shape == (280, 280) and gray.max() == 255 and gray[0, 0] == 0


def test_transparent_background_is_not_ink():
    rgba = np.zeros((50, 50, 4), np.uint8)
    rgba[..., :3] = 255  # white but fully transparent
    assert canvas_to_gray(rgba).max() == 0


def test_small_digit_in_a_corner_ends_up_centred_and_20px_tall():
    rgba = draw(moved(SEVEN, 0.4, 10, 10), width=6)  # ~40 px tall, top-left corner
    x = preprocess_canvas(rgba)
    assert x.shape == (SIZE, SIZE) and x.dtype == np.float32
    assert 0.0 <= x.min() and x.max() == pytest.approx(1.0)
    top, bottom, left, right = ink_box(x)
    assert bottom - top + 1 in (BOX, BOX + 1)  # the longer side is 20 px (+1 for anti-aliasing)
    cy, cx = center_of_mass(x)
    assert abs(cy - SIZE / 2) <= 0.5 and abs(cx - SIZE / 2) <= 0.5


def test_wide_digit_keeps_its_aspect_ratio():
    rgba = draw([stroke((20, 140), (260, 140))], width=10)  # a dash, 24:1
    x = preprocess_canvas(rgba)
    top, bottom, left, right = ink_box(x)
    assert right - left + 1 in (BOX, BOX + 1)
    assert bottom - top + 1 <= 3


def test_invariant_to_position():
    a = preprocess_canvas(draw(moved(SEVEN, 1.5, 20, 30)))
    b = preprocess_canvas(draw(moved(SEVEN, 1.5, 100, 110)))
    assert np.abs(a - b).max() < 0.05


def test_invariant_to_size_when_the_pen_scales_too():
    small = preprocess_canvas(draw(moved(SEVEN, 0.8, 30, 40), width=8))
    big = preprocess_canvas(draw(moved(SEVEN, 2.4, 60, 20), width=24))
    assert np.abs(small - big).mean() < 0.03
    assert np.abs(small - big).max() < 0.35  # anti-aliased edges differ by a fraction of a pixel


def test_a_single_dot_is_still_an_input():
    x = preprocess_canvas(draw([stroke((140, 140))]))
    assert x is not None and x.max() == pytest.approx(1.0)


def test_lopsided_shape_keeps_all_its_ink():
    # An "L" drags the centre of mass into its corner; the shift is bounded so no ink is
    # pushed out (or wrapped round): the ink still spans exactly the 20 px box.
    gray = np.zeros((100, 100), np.uint8)
    gray[:, :4] = 255
    gray[96:, :] = 255
    top, bottom, left, right = ink_box(center_digit(gray))
    assert bottom - top + 1 in (BOX, BOX + 1) and right - left + 1 in (BOX, BOX + 1)


@pytest.mark.parametrize("shape", [(0, 0), (5,), (4, 4, 2)])
def test_bad_shapes_are_refused_clearly(shape):
    with pytest.raises(ValueError, match="expected"):
        canvas_to_gray(np.zeros(shape, np.uint8)) if len(shape) != 2 else center_digit(np.zeros(shape))
