"""The real app in Chromium: draw with the mouse, read the answer, clear, switch pages."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from bench.browser import CANVAS, PREDICTION, clear, draw, wait_answer, wait_cleared, wait_ready

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


def test_number_page_controls_leave_the_instructions_readable(page: Page) -> None:
    """After the Draw page, the Number page's canvas gets its own controls: the hover toolbar
    (which covered the caption above the canvas) stays hidden while the pointer is over the
    canvas, and Undo / Redo / Clear sit under the canvas, clear of the caption."""
    page.get_by_test_id("stTopNavLink").filter(has_text="Number").click()
    caption = page.get_by_text("Write a few digits side by side")
    expect(caption).to_be_visible()
    canvas = page.locator(CANVAS)
    expect(canvas).to_have_count(1)
    wait_ready(page)
    box = canvas.bounding_box()
    page.mouse.move(box["x"] + 60, box["y"] + 60)
    expect(page.locator(".lc")).to_have_attribute("data-live-status", "attached")
    expect(page.locator(".dc-toolbar")).to_be_hidden()
    undo = page.get_by_role("button", name="Undo", exact=True)
    expect(undo).to_be_visible()
    assert undo.bounding_box()["y"] >= box["y"] + box["height"], "the controls are under the canvas"
    top = caption.bounding_box()
    hit = page.evaluate("([x, y]) => document.elementFromPoint(x, y)?.textContent || ''",
                        [top["x"] + 5, top["y"] + top["height"] / 2])
    assert "Write a few digits" in hit, "nothing covers the caption"
