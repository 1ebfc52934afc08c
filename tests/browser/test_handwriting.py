"""The visitor's memory in real Chromium: a dev writer's digit the model misreads is corrected
with "Which digit did you draw?", and that writer's next one is read right, with the reason."""

from __future__ import annotations

import os
from collections.abc import Iterator
from unittest import mock

import pytest
from playwright.sync_api import Browser, Page, expect

from bench.browser import close_page, clear, draw, new_page, streamlit_server, wait_answer, wait_cleared
from digits.render import replay_layout
from digits.text import with_article
from tests.test_handwriting import VARIANT, misread_pair

pytestmark = pytest.mark.browser


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """The Draw page of a server with feedback storage off: the memory learns all the same, and
    the test writes no database."""
    with mock.patch.dict(os.environ, {"DIGITS_FEEDBACK": "0"}), streamlit_server("app.py") as server:
        page = new_page(browser, server.url)
        yield page
        close_page(page)


def test_one_correction_and_the_next_like_it_is_read_that_way(page: Page) -> None:
    first, i, second, j, misread = misread_pair()
    draw(page, replay_layout(first.strokes, i, VARIANT))
    assert wait_answer(page).value != str(first.label)
    page.locator(".st-key-feedback").get_by_role("radio", name=str(first.label), exact=True).click()
    expect(page.get_by_text("Thank you!")).to_be_visible()
    clear(page)
    wait_cleared(page)
    draw(page, replay_layout(second.strokes, j, VARIANT))
    assert wait_answer(page).value == str(second.label)
    expect(page.get_by_test_id("learnt")).to_have_text(f"Read as {with_article(second.label)}, like the {first.label} you showed me.")
    page.get_by_role("button", name="Forget my handwriting").click()
    expect(page.get_by_test_id("learnt")).to_have_count(0)
    assert wait_answer(page).value == str(misread)
