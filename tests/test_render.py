"""The stroke replay protocol: fixed, reproducible, inside the canvas, drawn like the browser."""

import numpy as np
import pytest

from digits.data import read_strokes
from digits.render import (CANVAS, EASY_S, MARGIN, S_MAX, S_MIN, STROKE_WIDTH, draw,
                           render_sample, replay_layout)
from tests.conftest import stroke

SAMPLE = [stroke((100, -116), (97, -117), (90, -80)), stroke((137, -110), (120, -60))]


def box(strokes):
    pts = np.concatenate(strokes)
    return pts.min(axis=0), pts.max(axis=0)


@pytest.mark.parametrize("index", range(20))
def test_random_layout_follows_the_protocol(index):
    lo, hi = box(replay_layout(SAMPLE, index, "random"))
    assert S_MIN - 1e-6 <= (hi - lo).max() <= S_MAX + 1e-6
    assert (lo >= MARGIN - 1e-6).all() and (hi <= CANVAS - MARGIN + 1e-6).all()


def test_random_layout_is_the_same_every_run_and_differs_between_samples():
    a, b = replay_layout(SAMPLE, 3), replay_layout(SAMPLE, 3)
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    c = replay_layout(SAMPLE, 4)
    assert not np.allclose(a[0], c[0])


def test_layout_uses_default_rng_of_the_sample_index():
    rng = np.random.default_rng(7)
    size = rng.uniform(S_MIN, S_MAX)
    lo, hi = box(replay_layout(SAMPLE, 7))
    assert (hi - lo).max() == pytest.approx(size)


def test_easy_variant_is_big_and_centred():
    lo, hi = box(replay_layout(SAMPLE, 0, "easy"))
    assert (hi - lo).max() == pytest.approx(EASY_S)
    assert (lo + hi) / 2 == pytest.approx((CANVAS / 2, CANVAS / 2))


def test_unknown_variant_is_refused():
    with pytest.raises(ValueError, match="variant"):
        replay_layout(SAMPLE, 0, "hard")


def test_draw_is_white_on_opaque_black_with_round_caps():
    img = draw([stroke((50, 140), (230, 140))])
    assert img.shape == (CANVAS, CANVAS, 4) and img.dtype == np.uint8
    assert (img[..., 3] == 255).all() and (img[..., 0] == img[..., 1]).all()
    row = img[:, :, 0][:, 140]
    assert (row > 127).sum() == pytest.approx(STROKE_WIDTH, abs=2)
    # Round cap: ink reaches about half a pen width beyond the end point, on the axis only.
    assert img[140, 50 - STROKE_WIDTH // 2 + 2, 0] > 127
    assert img[140 - STROKE_WIDTH // 2 + 1, 50 - STROKE_WIDTH // 2 + 1, 0] < 128
    # Anti-aliased: edge pixels have intermediate values.
    assert ((img[..., 0] > 0) & (img[..., 0] < 255)).any()


def test_a_single_point_draws_a_dot():
    img = draw([stroke((140, 140))])
    assert img[140, 140, 0] == 255 and img[140, 140 + STROKE_WIDTH, 0] == 0


def test_real_samples_render(unipen_dev):
    samples = read_strokes(unipen_dev)[:5]
    for i, s in enumerate(samples):
        img = render_sample(s.strokes, i)
        assert img[..., 0].max() == 255
