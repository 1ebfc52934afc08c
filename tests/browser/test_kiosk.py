"""Kiosk mode on a phone and a tablet (portrait, touch), and a challenge round, in real Chromium.

Touch strokes go through the DevTools protocol (Input.dispatchTouchEvent): Playwright's own
touchscreen API only taps. The server, browser and mouse helpers are the shared ones.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from bench.browser import _PROBE, CANVAS, PREDICTION, STEP_PX, Server, clear, draw, wait_answer, wait_cleared, wait_ready
from digits.data import read_strokes
from digits.render import replay_layout
from digits.text import with_article
from tests.browser.conftest import ARTIFACTS
from tests.conftest import UNIPEN_NONDIGIT_DEV
from tests.digit_strokes import DIGITS
from webapp.widgets import LARGE_CANVAS

pytestmark = pytest.mark.browser

# Playwright's "Pixel 7" and "Galaxy Tab S4" descriptors (portrait), written out so the test
# does not depend on the descriptor table of a given Playwright release.
PHONE = dict(viewport={"width": 412, "height": 839}, device_scale_factor=2.625, is_mobile=True, has_touch=True,
             user_agent="Mozilla/5.0 (Linux; Android 14; Pixel 7) AppleWebKit/537.36 (KHTML, like Gecko) "
                        "Chrome/130.0.0.0 Mobile Safari/537.36")
TABLET = dict(viewport={"width": 712, "height": 1138}, device_scale_factor=2.25, is_mobile=True, has_touch=True,
              user_agent="Mozilla/5.0 (Linux; Android 8.1.0; SM-T837A) AppleWebKit/537.36 (KHTML, like Gecko) "
                         "Chrome/130.0.0.0 Safari/537.36")
IDLE_S = 4  # ?idle= for the test; the default is 60 s
HINT = "Draw a digit, 0–9, in the black square."
# Any white-ish pixel on the canvas' drawing layers (ink is white on black).
INKED = """c => [...c.parentElement.querySelectorAll('canvas.lower-canvas')].some(l => {
  const d = l.getContext('2d').getImageData(0, 0, l.width, l.height).data;
  for (let i = 0; i < d.length; i += 4) if (d[i] > 128) return true;
  return false; })"""


@pytest.fixture
def device_page(request, browser: Browser, app_server: Server) -> Iterator[Page]:
    """The kiosk on the device given by the test's parameter, loaded and idle."""
    context = browser.new_context(**request.param)
    context.add_init_script(_PROBE)  # the shared answer-timing probe (pointerup also fires for touch)
    page = context.new_page()
    page.set_default_timeout(60_000)
    page.goto(f"{app_server.url}/?kiosk=1&idle={IDLE_S}")
    wait_ready(page)
    yield page
    context.close()


def touch_draw(page: Page, strokes, scale: float) -> None:
    """Finger strokes (280-px canvas coordinates, scaled to the canvas shown) as real touch events."""
    cdp = page.context.new_cdp_session(page)
    box = page.locator(CANVAS).bounding_box()

    def touch(kind: str, p=None) -> None:
        points = [] if p is None else [{"x": box["x"] + p[0] * scale, "y": box["y"] + p[1] * scale,
                                        "radiusX": 4, "radiusY": 4, "force": 1}]
        cdp.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": points})

    for stroke in strokes:
        touch("touchStart", stroke[0])
        for a, b in zip(stroke, stroke[1:]):
            steps = max(1, math.ceil(math.dist(a, b) * scale / STEP_PX))
            for i in range(1, steps + 1):
                touch("touchMove", (a[0] + (b[0] - a[0]) * i / steps, a[1] + (b[1] - a[1]) * i / steps))
        touch("touchEnd")
    cdp.detach()


def real_letter(char: str = "W") -> list[list[tuple[float, float]]]:
    """The first pen-drawn `char` of UNIPEN dev's letters, big and centred on a 280 px canvas."""
    sample = next(s for s in read_strokes(UNIPEN_NONDIGIT_DEV) if s.char == char)
    return [[(float(x), float(y)) for x, y in stroke] for stroke in replay_layout(sample.strokes, 0, "easy")]


def assert_on_first_screen(page: Page) -> None:
    """The answer and the whole chart ("not a digit" label included: the chart's lower edge)
    are inside the viewport, without scrolling."""
    height = page.viewport_size["height"]
    assert page.evaluate("window.scrollY") == 0
    for name, locator in (("answer", page.locator(PREDICTION)), ("chart", page.get_by_test_id("stVegaLiteChart"))):
        box = locator.bounding_box()
        assert box is not None and box["y"] >= 0 and box["y"] + box["height"] <= height, \
            f"the {name} ends at {box['y'] + box['height']:.0f} px, below the first screen ({height} px)"


def assert_kiosk_chrome_hidden(page: Page) -> None:
    expect(page.get_by_test_id("stSidebar")).to_have_count(0)
    expect(page.get_by_test_id("stSidebarNav")).to_have_count(0)
    expect(page.get_by_test_id("stTopNav")).to_have_count(0)
    expect(page.get_by_test_id("stHeader")).to_be_hidden()
    expect(page.get_by_test_id("stToolbar")).to_be_hidden()


@pytest.mark.parametrize("device_page, digit, name", [
    (PHONE, 1, "phone"),
    (TABLET, 7, "tablet"),
], indirect=["device_page"], ids=["phone", "tablet"])
def test_kiosk_in_portrait_with_touch(device_page: Page, digit: int, name: str) -> None:
    page = device_page
    assert_kiosk_chrome_hidden(page)
    expect(page.get_by_text(HINT)).to_be_visible()
    expect(page.get_by_role("switch")).to_have_count(0)  # nothing a visitor could leave off for the next
    viewport = page.viewport_size
    box = page.locator(CANVAS).bounding_box()
    if name == "phone":  # the screen's width, less the kiosk's small margins
        assert box["width"] >= 0.9 * viewport["width"], f"a {box['width']:.0f} px canvas on a {viewport['width']} px phone"
    else:
        assert box["width"] == pytest.approx(LARGE_CANVAS, abs=1), "a tablet gets the big canvas"
    assert 0 <= box["x"] and box["x"] + box["width"] <= viewport["width"], "the canvas fits the screen"

    touch_draw(page, DIGITS[digit], scale=box["width"] / 280)
    assert wait_answer(page).value == str(digit)
    answer = page.locator(PREDICTION).bounding_box()
    assert answer["y"] >= box["y"] + box["height"], "in portrait the answer sits under the canvas"
    expect(page.get_by_test_id("stVegaLiteChart")).to_be_visible()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / f"kiosk-{name}.png")
    if name == "phone":
        assert_on_first_screen(page)
        # A refused letter adds a line of text ("That doesn't look like a digit…"): still all there.
        clear(page)
        wait_cleared(page)
        touch_draw(page, real_letter(), scale=box["width"] / 280)
        assert wait_answer(page).value == "✗"
        expect(page.get_by_text("That doesn't look like a digit.")).to_be_visible()
        assert_on_first_screen(page)
        page.screenshot(path=ARTIFACTS / "kiosk-phone-letter.png")

    # Nobody draws for IDLE_S seconds: the next visitor gets a blank canvas and the hint.
    expect(page.locator(PREDICTION)).to_have_count(0, timeout=(IDLE_S + 10) * 1000)
    expect(page.get_by_text(HINT)).to_be_visible()
    assert not page.locator(CANVAS).evaluate(INKED), "the new canvas has no ink"


def test_one_challenge_round(page: Page) -> None:
    page.get_by_test_id("stTopNavLink").filter(has_text="Challenge").click()
    page.get_by_label("Your name for today's leaderboard (optional)").fill("Kiosk test")
    page.get_by_role("button", name="Start").click()
    heading = page.get_by_role("heading", name=re.compile(r"^Draw an? \d$"))
    expect(heading).to_be_visible()
    asked = int(heading.inner_text()[-1])
    wait_ready(page)
    clock = page.get_by_role("timer")
    expect(clock).to_have_text(re.compile(r"^time \d+ s$"))
    shown = clock.inner_text()
    expect(clock).not_to_have_text(shown, timeout=5000)  # it runs while nobody touches anything
    before = page.locator(CANVAS).bounding_box()
    draw(page, DIGITS[asked])
    assert wait_answer(page).value == str(asked), "the model's reading shows before Check, as on Draw"
    check = page.get_by_role("button", name="Check")
    expect(check).to_be_enabled()  # the run after the pen-up (one stroke: the whole digit)
    expect(check).to_have_attribute("data-testid", "stBaseButton-primary")
    check.click()
    expect(page.get_by_text("Round 2 of 10")).to_be_visible()
    verdict = page.get_by_text(re.compile(rf"^Round 1: you were asked for {with_article(asked)}, the model read an? \d\.$"))
    expect(verdict).to_be_visible()
    assert verdict.inner_text().endswith(f"read {with_article(asked)}."), "a clear drawing of the asked digit"
    wait_ready(page)
    after = page.locator(CANVAS).bounding_box()
    assert after["y"] == pytest.approx(before["y"], abs=1), "the canvas stays put between rounds"
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / "challenge-round.png", full_page=True)


def test_kiosk_on_a_1280_wide_screen_keeps_the_answer_off_the_edge(browser: Browser, app_server: Server) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.add_init_script(_PROBE)
    page = context.new_page()
    page.set_default_timeout(60_000)
    try:
        page.goto(f"{app_server.url}/?kiosk=1")
        wait_ready(page)
        draw(page, DIGITS[7])
        assert wait_answer(page).value == "7"
        chart = page.get_by_test_id("stVegaLiteChart")
        expect(chart).to_be_visible()
        canvas = page.locator(CANVAS).bounding_box()
        for box in (page.locator(".st-key-kiosk_answer").bounding_box(), chart.bounding_box()):
            assert box["x"] >= canvas["x"] + canvas["width"], "beside the canvas on a wide screen"
            assert box["x"] + box["width"] <= 1280 - 48, "the answer stops well short of the right edge"
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=ARTIFACTS / "kiosk-1280x800.png")
    finally:
        context.close()
