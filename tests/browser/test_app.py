"""The real app in Chromium: draw with the mouse, read the answer, clear, switch pages."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from bench.browser import CANVAS, PREDICTION, clear, draw, wait_answer, wait_cleared

pytestmark = pytest.mark.browser

HINT = "Draw a digit on the black square"
ONE = [[(140, 40), (140, 240)]]  # one vertical stroke
# One stroke, as most people draw a 7: two strokes would send the bar alone on the first
# pen-up, and that intermediate answer ("not sure") could be read before the final one.
SEVEN = [[(70, 50), (210, 50), (115, 240)]]


@pytest.mark.parametrize(("digit", "strokes"), [("1", ONE), ("7", SEVEN)], ids=["one", "seven"])
def test_drawing_shows_the_digit(page: Page, digit: str, strokes) -> None:
    expect(page.get_by_text(HINT)).to_be_visible()
    draw(page, strokes)
    assert wait_answer(page).value == digit
    expect(page.get_by_text("what the model sees")).to_be_visible()


def test_reset_brings_the_hint_back(page: Page) -> None:
    draw(page, ONE)
    assert wait_answer(page).value is not None
    clear(page)
    wait_cleared(page)
    expect(page.locator(PREDICTION)).to_have_count(0)
    expect(page.get_by_text(HINT)).to_be_visible()


def test_model_page_shows_accuracy_and_figures(page: Page) -> None:
    page.get_by_test_id("stTopNavLink").filter(has_text="Model").click()
    metrics = page.get_by_test_id("stMetric")
    expect(metrics.first).to_contain_text("digits read right")  # real drawings by new writers first
    for label in ("digits read right", "letters and symbols recognised as not a digit", "MNIST test accuracy"):
        value = metrics.filter(has_text=label).get_by_test_id("stMetricValue")
        expect(value).to_have_text(re.compile(r"^\d{1,3}\.\d\d?%$"))
    images = page.get_by_test_id("stImage").locator("img")
    expect(images.first).to_be_visible()
    # every figure has actually loaded (a broken image has no natural size)
    assert images.evaluate_all("els => els.every(e => e.complete && e.naturalWidth > 0)")
    expect(page.get_by_test_id("stException")).to_have_count(0)


def test_number_page_toolbar_leaves_the_instructions_readable(page: Page) -> None:
    """The canvas' toolbar shows above the canvas while the pointer is over it: it must not
    cover the caption above."""
    page.get_by_test_id("stTopNavLink").filter(has_text="Number").click()
    caption = page.get_by_text("Write a few digits side by side")
    expect(caption).to_be_visible()
    canvas = page.locator(CANVAS)
    expect(canvas).to_have_count(1)
    box = canvas.bounding_box()
    page.mouse.move(box["x"] + 60, box["y"] + 60)
    undo = page.locator("button[aria-label='Undo']").first  # the canvas toolbar
    expect(undo).to_be_visible()
    assert undo.bounding_box()["y"] - 4 >= caption.bounding_box()["y"] + caption.bounding_box()["height"]
