"""The live canvas (webapp/live_canvas.py) in real Chromium: a guess while the pen moves, the
final answer from the companion's picture (the same pixels as the canvas' own), strokes that
start at every edge and corner by mouse and by touch, the visible controls and their keys.

If an upgrade of streamlit-drawable-canvas changes the DOM the companion reads, the first test
fails with the selector that found nothing.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from bench.browser import CANVAS, ENTER_DELAY_S, PREDICTION, Server, close_page, new_page, streamlit_server, \
    wait_ready
from tests.browser.test_kiosk import PHONE, touch_draw
from tests.digit_strokes import DIGITS

pytestmark = pytest.mark.browser

COMPANION = ".lc"  # the companion's root, inside its own shadow root (Playwright pierces it)
EMPTY = "[data-testid='empty']"
READS = "[data-testid='reads']"


@pytest.fixture(scope="module")
def live_server() -> Iterator[Server]:
    with streamlit_server("tests/browser/live_app.py") as server:
        yield server


@pytest.fixture
def live_page(browser: Browser, live_server: Server) -> Iterator[Page]:
    page = new_page(browser, live_server.url)
    yield page
    close_page(page)


def assert_attached(page: Page) -> None:
    companion = page.locator(COMPANION)
    expect(companion).to_have_attribute("data-live-status", "attached", timeout=15_000)
    # Waits for the state (the companion re-attaches when Streamlit swaps the canvas' DOM).
    expect(page.locator(".dc-toolbar")).to_have_css("display", "none")


def objects(page: Page) -> int:
    return int(page.locator(READS).inner_text().rsplit("objects=", 1)[1])


def slow_stroke(page: Page, points, pause_s: float = 0.03):
    """Press, move slowly through the points; the pen stays down (the caller lifts it)."""
    box = page.locator(CANVAS).bounding_box()
    page.mouse.move(box["x"] + points[0][0], box["y"] + points[0][1])
    time.sleep(ENTER_DELAY_S)  # input pacing the canvas needs (see bench/browser.py)
    page.mouse.down()
    for a, b in zip(points, points[1:]):
        for i in range(1, 11):
            page.mouse.move(box["x"] + a[0] + (b[0] - a[0]) * i / 10, box["y"] + a[1] + (b[1] - a[1]) * i / 10)
            time.sleep(pause_s)  # a slow hand, so guesses can come while the pen is down


def test_companion_finds_the_canvas_and_shows_its_controls(page: Page) -> None:
    """Draw page: the companion attached to the canvas, the controls visible and big enough."""
    assert_attached(page)
    for name in ("Undo", "Redo", "Clear the canvas"):
        button = page.get_by_role("button", name=name, exact=True)
        expect(button).to_be_visible()
        assert button.bounding_box()["height"] >= 44, f"{name} is at least 44 px tall"
    canvas, clear = page.locator(CANVAS).bounding_box(), page.get_by_role("button", name="Clear the canvas").bounding_box()
    assert clear["y"] >= canvas["y"] + canvas["height"], "the controls sit under the canvas"
    expect(page.locator("[aria-live='polite']")).to_have_count(1)


@pytest.mark.parametrize("nav", ["Number", "Challenge"])
def test_controls_on_the_other_drawing_pages(page: Page, nav: str) -> None:
    page.get_by_test_id("stTopNavLink").filter(has_text=nav).click()
    if nav == "Challenge":
        page.get_by_role("button", name="Start").click()
    wait_ready(page)
    assert_attached(page)
    expect(page.get_by_role("button", name="Clear the canvas")).to_be_visible()
    expect(page.get_by_role("button", name="Undo", exact=True)).to_be_visible()


def test_a_slow_stroke_is_read_before_the_pen_lifts(page: Page) -> None:
    assert_attached(page)
    slow_stroke(page, [(70, 50), (210, 50), (115, 240)])
    live = page.locator(f"{PREDICTION}[data-live='1']")
    expect(live).to_be_visible(timeout=30_000)  # while the pen is still down
    page.mouse.up()
    final = page.locator(f"{PREDICTION}:not([data-live])")
    expect(final).to_have_text("7", timeout=30_000)
    expect(page.get_by_test_id("stVegaLiteChart")).to_be_visible()
    expect(page.locator("[aria-live='polite']")).to_have_text("The model reads a 7.")


def test_live_off_sends_only_the_final_picture(browser: Browser, live_server: Server) -> None:
    page = new_page(browser, live_server.url + "/?live=0")
    try:
        assert_attached(page)
        slow_stroke(page, [(140, 40), (140, 240)], pause_s=0.02)
        page.mouse.up()
        expect(page.locator(PREDICTION)).to_have_attribute("data-kind", "final", timeout=30_000)
        expect(page.locator(READS)).to_contain_text("live=0 final=1")
    finally:
        close_page(page)


def test_final_picture_is_the_canvas_own_and_comes_with_the_strokes(live_page: Page) -> None:
    page = live_page
    assert_attached(page)
    slow_stroke(page, [(70, 50), (210, 50), (115, 240)], pause_s=0.01)
    page.mouse.up()
    expect(page.locator(PREDICTION)).to_have_attribute("data-source", "final", timeout=30_000)
    expect(page.get_by_test_id("own-diff")).to_have_text("0.0000")  # same 28x28 as the canvas' picture
    expect(page.locator(READS)).to_contain_text("objects=1")  # the strokes in the same run
    expect(page.locator(READS)).to_contain_text("canvas=0")  # the canvas' own value was never needed


EDGE_STROKES = {  # (start, end) in canvas px: starts on the very edge, goes 60 px inward
    "top-left": ((1, 1), (61, 61)), "top": ((200, 1), (200, 61)), "top-right": ((279, 1), (219, 61)),
    "right": ((279, 140), (219, 140)), "bottom-right": ((279, 279), (219, 219)), "bottom": ((140, 279), (140, 219)),
    "bottom-left": ((1, 279), (61, 219)), "left": ((1, 140), (61, 140)),
}


@pytest.mark.parametrize("where", list(EDGE_STROKES))
def test_strokes_from_every_edge_by_mouse(live_page: Page, where: str) -> None:
    page = live_page
    assert_attached(page)
    (x0, y0), (x1, y1) = EDGE_STROKES[where]
    box = page.locator(CANVAS).bounding_box()
    page.mouse.move(box["x"] + x0, box["y"] + y0)
    time.sleep(ENTER_DELAY_S)
    page.mouse.down()
    for i in range(1, 16):
        page.mouse.move(box["x"] + x0 + (x1 - x0) * i / 15, box["y"] + y0 + (y1 - y0) * i / 15)
    page.mouse.up()
    expect(page.locator(PREDICTION)).to_have_attribute("data-kind", "final", timeout=30_000)
    expect(page.locator(READS)).to_contain_text("objects=1")


@pytest.fixture
def touch_page(browser: Browser, live_server: Server) -> Iterator[Page]:
    context = browser.new_context(**PHONE)
    page = context.new_page()
    page.set_default_timeout(60_000)
    page.goto(live_server.url + "/?controls=clear")
    wait_ready(page)
    yield page
    context.close()


def test_strokes_from_every_edge_by_touch(touch_page: Page) -> None:
    page = touch_page
    assert_attached(page)
    clear = page.get_by_role("button", name="Clear the canvas")
    expect(clear).to_be_visible()
    expect(page.get_by_role("button", name="Undo", exact=True)).to_be_hidden()  # kiosk style: one big Clear
    assert clear.bounding_box()["height"] >= 44
    for where, (a, b) in EDGE_STROKES.items():
        touch_draw(page, [[a, b]], scale=1.0)
        expect(page.locator(PREDICTION)).to_have_attribute("data-kind", "final", timeout=30_000)
        expect(page.locator(READS)).to_contain_text("objects=1")
        clear.tap()
        expect(page.locator(EMPTY)).to_be_visible(timeout=30_000)
        expect(page.locator(READS)).to_contain_text("objects=0")


def test_buttons_and_keys_act_on_the_canvas_history(live_page: Page) -> None:
    page = live_page
    assert_attached(page)
    box = page.locator(CANVAS).bounding_box()
    one, seven = DIGITS[1], [[(70, 50), (210, 50)]]
    from bench.browser import draw
    draw(page, one)
    expect(page.locator(READS)).to_contain_text("objects=1", timeout=30_000)
    draw(page, seven)
    expect(page.locator(READS)).to_contain_text("objects=2", timeout=30_000)
    page.keyboard.press("Control+z")
    expect(page.locator(READS)).to_contain_text("objects=1", timeout=30_000)
    page.get_by_role("button", name="Redo", exact=True).click()
    expect(page.locator(READS)).to_contain_text("objects=2", timeout=30_000)
    page.get_by_role("button", name="Undo", exact=True).click()
    expect(page.locator(READS)).to_contain_text("objects=1", timeout=30_000)
    page.mouse.move(box["x"] + 400, box["y"] + 10)  # keys work with the pointer anywhere
    page.keyboard.press("Escape")
    expect(page.locator(EMPTY)).to_be_visible(timeout=30_000)
    expect(page.locator(READS)).to_contain_text("objects=0")


# --------------------------------------------------------------------------- the browser's live guess


def live_route_page(browser: Browser, app_server: Server, route: str) -> Page:
    page = new_page(browser, f"{app_server.url}/?live_route={route}")
    assert_attached(page)
    return page


def test_the_guess_before_pen_up_is_the_browsers(browser: Browser, app_server: Server) -> None:
    """Draw page with the server's live route off: a guess still shows while the pen is down
    (the live model in the browser), no live picture goes to the server, and the final answer
    after pen-up is the server's."""
    page = live_route_page(browser, app_server, "browser")
    try:
        expect(page.locator(COMPANION)).to_have_attribute("data-browser-model", "ready", timeout=15_000)
        slow_stroke(page, [(70, 50), (210, 50), (115, 240)])
        guess = page.locator(f"{PREDICTION}[data-live='1'][data-source='browser']")
        expect(guess).to_be_visible(timeout=10_000)  # while the pen is still down
        expect(guess).to_have_text("7")
        assert page.locator(COMPANION).get_attribute("data-live-route") == "browser"
        assert page.evaluate("() => window.__digitsLiveSent || 0") == 0, "no live picture went to the server"
        assert page.evaluate("() => window.__digitsBrowserGuesses") >= 3
        page.mouse.up()
        final = page.locator(f"{PREDICTION}:not([data-live])")
        expect(final).to_have_text("7", timeout=30_000)
        expect(guess).to_have_count(0)  # the final answer replaced the browser's guess
        expect(page.get_by_test_id("stVegaLiteChart")).to_be_visible()
    finally:
        close_page(page)


def test_without_the_browser_model_the_server_reads_while_the_pen_moves(browser: Browser, app_server: Server) -> None:
    page = live_route_page(browser, app_server, "server")
    try:
        expect(page.locator(COMPANION)).to_have_attribute("data-browser-model", "off")
        slow_stroke(page, [(70, 50), (210, 50), (115, 240)])
        guess = page.locator(f"{PREDICTION}[data-live='1']")
        expect(guess).to_be_visible(timeout=30_000)  # while the pen is still down
        assert guess.get_attribute("data-source") is None, "the server's live guess"
        assert page.evaluate("() => window.__digitsLiveSent || 0") >= 1
        assert page.evaluate("() => window.__digitsBrowserGuesses || 0") == 0
        page.mouse.up()
        expect(page.locator(f"{PREDICTION}:not([data-live])")).to_have_text("7", timeout=30_000)
    finally:
        close_page(page)
