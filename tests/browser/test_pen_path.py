"""Every canvas page reads the pen's path on the real page: real dev digits drawn with the mouse
(and a finger on the kiosk) in Chromium, through the real component, come back answered by the
fused path (the answer's data-path), and the server never logs a fallback to the picture alone.

This is what went unnoticed for a release: the component sends Fabric 7's "Path", the parser read
only "path", and every page silently answered from the picture (issue 26)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Page, expect

from bench.browser import CANVAS, PREDICTION, Server, clear, close_page, draw, new_page, wait_answer, wait_cleared, wait_ready
from bench.samples import canvas_strokes, dev_samples
from tests.browser.test_kiosk import PHONE, touch_draw

pytestmark = pytest.mark.browser

N = 4  # drawings per page: each one must be read with its path
FALLBACK = "the pen's path was not read"


def paths_read(page: Page, n: int = N) -> list[str]:
    """Draw the first n dev digits, one after another, and collect each final answer's data-path."""
    out = []
    for i, sample in enumerate(dev_samples(n)):
        draw(page, canvas_strokes(sample, i))
        wait_answer(page)
        out.append(page.locator(PREDICTION).get_attribute("data-path"))
        clear(page)
        wait_cleared(page)
    return out


def no_fallback_logged(server: Server) -> None:
    log = server.log.read_text(errors="replace")
    assert FALLBACK not in log, "the server fell back to the picture alone:\n" + server.log_tail()


def test_draw_page_reads_the_pen_path(page: Page, app_server: Server) -> None:
    assert paths_read(page) == ["strokes"] * N
    no_fallback_logged(app_server)


def test_kiosk_reads_the_pen_path_by_mouse_and_by_touch(browser: Browser, app_server: Server) -> None:
    for device in (None, PHONE):  # a desktop screen with the mouse, a phone with a finger
        page = new_page(browser, f"{app_server.url}/?kiosk=1", device=device)
        try:
            if device is PHONE:
                scale = page.locator(CANVAS).bounding_box()["width"] / 280
                touch_draw(page, canvas_strokes(dev_samples(1)[0], 0), scale)
                wait_answer(page)
                assert page.locator(PREDICTION).get_attribute("data-path") == "strokes"
            else:
                assert paths_read(page, 2) == ["strokes"] * 2
        finally:
            close_page(page)
    no_fallback_logged(app_server)


def test_challenge_reads_the_pen_path(page: Page, app_server: Server) -> None:
    page.get_by_test_id("stTopNavLink").filter(has_text="Challenge").click()
    page.get_by_role("button", name="Start").click()
    expect(page.get_by_role("heading", name=re.compile(r"^Draw an? \d$"))).to_be_visible()
    wait_ready(page)
    sample = dev_samples(1)[0]
    draw(page, canvas_strokes(sample, 0))
    wait_answer(page)
    assert page.locator(PREDICTION).get_attribute("data-path") == "strokes"
    page.get_by_role("button", name="Check").click()
    expect(page.get_by_text("Round 2 of 10")).to_be_visible()
    no_fallback_logged(app_server)
