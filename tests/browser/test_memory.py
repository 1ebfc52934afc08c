"""Memory that stays flat while visitors come and go (the short form of `make soak-sessions`):
each visitor is a new browser session that draws one digit, reads the answer and leaves."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser

from bench.browser import streamlit_server
from bench.soak import churn_rss

pytestmark = pytest.mark.browser

SESSIONS, WARMUP = 12, 4  # ~1.5 min on 2 busy cores (3.6 min with 20 sessions beside a soak run)
# 200 sessions may grow the server by 50 MB (bench/soak.py); these few by far less: a leak of a
# canvas picture or two per visitor (~1-2 MB) would show.
BOUND_MB = 15


def test_sessions_that_come_and_go_leave_the_server_flat(browser: Browser) -> None:
    # Its own server: a short disconnectedSessionTTL, so the closed sessions are dropped in seconds.
    with streamlit_server("app.py", extra_args=["--server.disconnectedSessionTTL", "5"]) as server:
        result = churn_rss(server, browser, SESSIONS, WARMUP)
    assert not result["errors"], result["errors"]
    assert sum(result["answers"].values()) == SESSIONS, "every visitor got an answer"
    assert result["rss_growth_mb"] <= BOUND_MB, result["rss_mb"]
