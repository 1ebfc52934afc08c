"""Real pen strokes drawn with the mouse on the real canvas agree with the offline pipeline.

`digits evaluate --strokes` replays UNIPEN samples with OpenCV; this checks that the browser
(Fabric.js smoothing, PNG transfer, the app's own preprocessing) reads them the same way.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Page

from bench.browser import clear, draw, wait_answer, wait_cleared
from bench.samples import VARIANT, canvas_strokes, dev_samples

pytestmark = [pytest.mark.browser, pytest.mark.slow]

N = 30
MIN_AGREE = 29  # one miss allowed: Fabric smooths strokes into curves, OpenCV draws polylines


@pytest.fixture(scope="module")
def offline() -> list:
    """(label, strokes on the canvas, offline prediction) for the first N dev samples."""
    from digits.model import Predictor
    from digits.preprocess import preprocess_canvas
    from digits.render import render_sample

    predictor = Predictor.load()
    return [(s.label, canvas_strokes(s, i),
             predictor.predict(preprocess_canvas(render_sample(s.strokes, i, VARIANT))).digit)
            for i, s in enumerate(dev_samples(N))]


def test_browser_agrees_with_offline_replay(page: Page, offline: list, capsys) -> None:
    misses = []
    for i, (label, strokes, expected) in enumerate(offline):
        draw(page, strokes, step_px=None)  # the pen's own samples, exactly
        got = wait_answer(page).value
        if got != str(expected):
            misses.append(f"sample {i} (label {label}): browser {got}, offline {expected}")
        clear(page)
        wait_cleared(page)
    agree = N - len(misses)
    with capsys.disabled():
        print(f"\nreplay agreement browser vs offline: {agree}/{N}" + "".join(f"\n  {m}" for m in misses))
    assert agree >= MIN_AGREE, f"{agree}/{N} agree:\n" + "\n".join(misses)
