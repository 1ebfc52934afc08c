"""bench/loadgen.py speaks Streamlit's websocket protocol well enough that the real Draw page
answers it: every drawing gets a final answer, read right, with live reading off and on.
(Counts only; no timing is asserted.)"""

import asyncio
from concurrent.futures import ThreadPoolExecutor

import pytest

from bench import loadgen

pytestmark = [pytest.mark.browser, pytest.mark.slow]  # a real server, as the browser tests use


@pytest.mark.parametrize("live, browser", [(False, False), (True, False), (False, True)])
def test_loadgen_sessions_get_right_final_answers(app_server, live, browser):
    # In a thread of its own: Playwright's sync API (the other browser tests) keeps an event loop
    # running in this one.
    with ThreadPoolExecutor(1) as pool:
        out = pool.submit(asyncio.run, loadgen.sweep(app_server.url, [2.0], seconds=2.0, visitors_n=2,
                                                     live=live, browser=browser)).result()
    (step,) = out["steps"][:1]
    assert step["n"] >= 2
    assert step["read_right"] == step["n"]
