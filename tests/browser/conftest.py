"""Browser tests: one app server and one Chromium per session, a fresh page (session) per test.

The drawing and waiting helpers live in bench/browser.py, shared with the benchmarks.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from bench.browser import Server, close_page, launch_chromium, new_page, streamlit_server

ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"


@pytest.fixture(scope="session")
def app_server() -> Iterator[Server]:
    with streamlit_server("app.py") as server:
        yield server


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with sync_playwright() as pw:
        chromium = launch_chromium(pw)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Browser, app_server: Server) -> Iterator[Page]:
    """The app in a new browser context, loaded and idle."""
    page = new_page(browser, app_server.url)
    yield page
    close_page(page)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    """A failing browser test leaves a screenshot in tests/artifacts/ (git-ignored)."""
    report = yield
    page = getattr(item, "funcargs", {}).get("page")
    if report.when == "call" and report.failed and page is not None and not page.is_closed():
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / (re.sub(r"[^\w.-]+", "_", item.nodeid) + ".png")
        try:
            page.screenshot(path=path, full_page=True)
            report.sections.append(("screenshot", str(path)))
        except Exception as exc:  # a dead page must not hide the test's own failure
            report.sections.append(("screenshot", f"failed: {exc}"))
    return report
