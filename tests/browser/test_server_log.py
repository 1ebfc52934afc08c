"""The server as `make run` starts it (the repo's .streamlit/config.toml, no test overrides):
every page loads in Chromium and the server's log stays clean (no warnings, no tracebacks, no
"Inotify queue overflowed" from a file watcher)."""

from __future__ import annotations

import re
import subprocess
import tempfile
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from bench.browser import _PROBE, CANVAS, IDLE, REPO, Server, _stop, _wait_healthy, draw, free_port, wait_answer

pytestmark = pytest.mark.browser

PAGES = ["", "upload", "number", "challenge", "model", "feedback", "?kiosk=1"]  # "" is Draw
BAD = re.compile(r"Warning|WARNING|Inotify|Traceback")


@pytest.fixture(scope="module")
def make_run_server():
    """`.venv/bin/streamlit run app.py --server.port PORT --server.headless true`, as `make run`
    (headless only so that it does not try to open a browser); the log is kept for the test."""
    port = free_port()
    log = Path(tempfile.mkstemp(prefix="make-run-", suffix=".log")[1])
    streamlit = REPO / ".venv" / "bin" / "streamlit"
    cmd = [str(streamlit), "run", "app.py", "--server.port", str(port), "--server.headless", "true"]
    with log.open("w") as out:
        proc = subprocess.Popen(cmd, cwd=REPO, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    server = Server(proc, f"http://localhost:{port}", log, 0.0)
    try:
        _wait_healthy(server, 60)
        yield server
    finally:
        _stop(proc)
        log.unlink(missing_ok=True)


def test_every_page_loads_and_the_log_stays_clean(browser: Browser, make_run_server: Server) -> None:
    assert "fileWatcherType = \"none\"" in (REPO / ".streamlit" / "config.toml").read_text()
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.add_init_script(_PROBE)  # wait_answer reads the answer off the page's probe
    page = context.new_page()
    page.set_default_timeout(60_000)
    try:
        for path in PAGES:
            page.goto(f"{make_run_server.url}/{path}")
            if path in ("", "number", "?kiosk=1"):
                page.locator(CANVAS).first.wait_for()
            else:
                page.locator("h1").first.wait_for()
            page.locator(IDLE).wait_for()
            expect(page.get_by_test_id("stException")).to_have_count(0)
            # The menu is at the top; nothing may add Streamlit's automatic sidebar pages.
            expect(page.get_by_test_id("stSidebarNav")).to_have_count(0)
            if path == "":
                draw(page, [[(140, 40), (140, 240)]])
                assert wait_answer(page).value is not None
    finally:
        context.close()
    log = make_run_server.log.read_text(errors="replace")
    bad = [line for line in log.splitlines() if BAD.search(line)]
    assert not bad, "the server logged:\n" + log
