"""Drive the real app in headless Chromium: start a server, open pages, draw, read the answer.

Shared by tests/browser and the benchmarks, so both draw and time the same way. Facts this
relies on (see ../shared/notes/streamlit-canvas-facts.md):
- the canvas sits in an open shadow root; Playwright's CSS locators pierce it;
- a press that comes right after the pointer enters the canvas is lost: enter, wait, press;
- the canvas sends the drawing 200 ms after the last pen-up (debounce), then Streamlit reruns.

Timing is taken inside the page by probe.js: performance.now() at pointerup, Streamlit's own
rerun request and run start/end messages (read off its websocket), and a MutationObserver for
the answer. "Final" is decided from those events, never from a sleep, and Playwright's round
trips are not part of any latency figure.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from playwright.sync_api import Browser, BrowserContext, Page, Playwright
from playwright.sync_api import Error as PlaywrightError

REPO = Path(__file__).resolve().parent.parent

CANVAS = "canvas.upper-canvas"  # the drawing surface (the component also has lower-canvas layers)
PREDICTION = "[data-testid='prediction']"  # the big digit (real app) or ink count (bare app)
IDLE = '.stApp[data-test-script-state="notRunning"]'
RESET = "Reset canvas & history"  # toolbar button's aria-label
CLEAR = "Clear the canvas"  # the live canvas' visible Clear button (the toolbar is hidden there)
ENTER_DELAY_S = 0.25  # pointer on the canvas -> press; under ~100 ms the stroke is lost
STEP_PX = 4.0  # mouse moves at most this far per event, like a real pointer
MIN_MOVE_PX = 0.5  # nearer points are one pixel for the canvas: skip the event

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]

Point = Sequence[float]
Strokes = Sequence[Sequence[Point]]  # canvas coordinates (CSS px from the canvas' top-left)


class AppError(AssertionError):
    """The page showed a Python exception, or never answered."""


# --------------------------------------------------------------------------- server


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    proc: subprocess.Popen
    url: str
    log: Path
    started: float  # time.time() at launch

    def rss_mb(self) -> float:
        """Resident memory of the streamlit process (VmRSS), in MB."""
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        raise RuntimeError("no VmRSS")

    def cpu_s(self) -> float:
        """CPU seconds the streamlit process has used so far (all threads, user + system)."""
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def log_tail(self, lines: int = 30) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


@contextmanager
def streamlit_server(app: str | Path = "app.py", *, timeout_s: float = 60,
                     extra_args: Sequence[str] = ()) -> Iterator[Server]:
    """`streamlit run app` on a free localhost port; yields once /_stcore/health answers.

    The server runs in its own process group and is stopped on exit, also after an error.
    """
    port = free_port()
    log = Path(tempfile.mkstemp(prefix="streamlit-", suffix=".log")[1])
    cmd = [sys.executable, "-m", "streamlit", "run", str(app),
           "--server.port", str(port), "--server.address", "127.0.0.1",
           "--server.headless", "true", "--server.fileWatcherType", "none",
           "--client.showErrorDetails", "full",  # tests must see the traceback, not "an error"
           "--browser.gatherUsageStats", "false", *extra_args]
    started = time.time()
    with log.open("w") as out:
        proc = subprocess.Popen(cmd, cwd=REPO, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
    server = Server(proc, f"http://127.0.0.1:{port}", log, started)
    try:
        _wait_healthy(server, timeout_s)
        yield server
    finally:
        _stop(proc)
        log.unlink(missing_ok=True)


def _wait_healthy(server: Server, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            raise RuntimeError(f"streamlit exited with {server.proc.returncode}:\n{server.log_tail()}")
        try:
            with urllib.request.urlopen(server.url + "/_stcore/health", timeout=2) as r:
                if r.read() == b"ok":
                    return
        except OSError:
            pass
        time.sleep(0.05)  # polling a port: there is nothing to wait on
    raise RuntimeError(f"streamlit not healthy after {timeout_s:.0f} s:\n{server.log_tail()}")


def _stop(proc: subprocess.Popen) -> None:
    """SIGTERM the server's process group (ours alone: start_new_session), SIGKILL if it lingers."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(10)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)
    except ProcessLookupError:
        pass


# --------------------------------------------------------------------------- browser


def chromium_path() -> str:
    path = os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not path:
        raise RuntimeError("Chromium not found: install it (apt-get install chromium) or set CHROMIUM")
    return path


def launch_chromium(pw: Playwright) -> Browser:
    # Playwright cannot download its own browser here; Debian's Chromium works headless.
    return pw.chromium.launch(executable_path=chromium_path(), headless=True, args=CHROMIUM_ARGS)


# Logs pen-ups, rerun requests, script runs and the answer's text inside the page; see probe.js.
_PROBE = (f"window.__digitsConfig = {json.dumps({'prediction': PREDICTION})};\n"
          + (Path(__file__).with_name("probe.js")).read_text())


def new_page(browser: Browser, url: str, *, idle: bool = True, timeout_s: float = 60,
             device: dict | None = None) -> Page:
    """A fresh context (a new Streamlit session) with the probe, the canvas shown and (idle)
    the first script run over. `device`: Playwright context options (a phone), else a 1280x900 screen."""
    context: BrowserContext = browser.new_context(**(device or {"viewport": {"width": 1280, "height": 900},
                                                                 "device_scale_factor": 1}))
    context.add_init_script(_PROBE)
    page = context.new_page()
    page.set_default_timeout(timeout_s * 1000)
    page.goto(url)
    if idle:
        wait_ready(page, timeout_s)
    else:
        page.locator(CANVAS).wait_for(timeout=timeout_s * 1000)
    return page


def wait_ready(page: Page, timeout_s: float = 60) -> None:
    """The canvas is on the page and the script is not running."""
    page.locator(CANVAS).wait_for(timeout=timeout_s * 1000)
    page.locator(IDLE).wait_for(timeout=timeout_s * 1000)


def close_page(page: Page) -> None:
    page.context.close()


# --------------------------------------------------------------------------- drawing


def draw_steps(page: Page, strokes: Strokes, step_px: float | None = STEP_PX) -> Iterator[float]:
    """Mouse down/move/up for a drawing, yielding after each input event so several pages can
    draw in step (see draw_together). Each yield is the seconds to let pass before going on.

    step_px: the longest move per mouse event (points further apart get events in between);
    None moves through the given points only (pen samples are dense already, and each event
    costs a frame, ~20 ms).
    """
    box = page.locator(CANVAS).bounding_box()
    if box is None:
        raise AppError("the canvas is not visible")
    x0, y0 = box["x"], box["y"]
    start = strokes[0][0]
    page.mouse.move(x0 + start[0], y0 + start[1])
    yield ENTER_DELAY_S
    for stroke in strokes:
        page.mouse.move(x0 + stroke[0][0], y0 + stroke[0][1])
        page.mouse.down()
        yield 0
        prev = stroke[0]
        for p in stroke[1:]:
            gap = math.dist(prev, p)
            if gap < MIN_MOVE_PX:
                continue
            steps = 1 if step_px is None else max(1, math.ceil(gap / step_px))
            page.mouse.move(x0 + p[0], y0 + p[1], steps=steps)
            prev = p
            yield 0
        page.mouse.up()
        yield 0


def draw(page: Page, strokes: Strokes, step_px: float | None = STEP_PX) -> None:
    for pause in draw_steps(page, strokes, step_px):
        if pause:
            time.sleep(pause)  # input pacing the canvas needs, not a wait for a result


def draw_together(pages: Sequence[Page], drawings: Sequence[Strokes],
                  step_px: float | None = STEP_PX) -> None:
    """Every page draws its drawing at the same time, one input event per page in turn."""
    live = [draw_steps(p, d, step_px) for p, d in zip(pages, drawings)]
    while live:
        pause, still = 0.0, []
        for gen in live:
            step = next(gen, None)
            if step is not None:
                pause = max(pause, step)
                still.append(gen)
        live = still
        if pause:
            time.sleep(pause)


def clear(page: Page) -> None:
    """Click the visible Clear button (webapp/live_canvas.py), or on a page without it (the bare
    app) the canvas toolbar's reset button; the canvas then sends the empty drawing."""
    ours = page.get_by_role("button", name=CLEAR)
    (ours if ours.count() else page.get_by_role("button", name=RESET)).click()


@dataclass
class Answer:
    value: str | None  # the marker's text; None once the canvas was cleared
    latency_ms: float  # last pen-up (or click) -> the page shows it
    shown_epoch_s: float  # when it was shown, on time.time()'s clock
    sent_ms: float  # pen-up -> the page asked the server for a rerun (the canvas' 200 ms wait)
    started_ms: float  # pen-up -> the run's first message reached the page


def wait_answer(page: Page, timeout_s: float = 30) -> Answer:
    """Wait for the final answer to the last drawing (on the page's own events, not a sleep)."""
    return _settled(page, True, timeout_s)


def wait_cleared(page: Page, timeout_s: float = 30) -> Answer:
    """Wait until the app has rerun for the cleared canvas and shows no answer."""
    return _settled(page, False, timeout_s)


def _settled(page: Page, marker: bool, timeout_s: float) -> Answer:
    try:
        handle = page.wait_for_function("m => window.__digits.settled(m)", arg=marker, polling=20,
                                        timeout=timeout_s * 1000)
    except PlaywrightError as exc:  # a timeout, or the page went away: say what the page showed
        raise AppError(f"no {'answer' if marker else 'cleared page'} within {timeout_s} s: {exc}\n"
                       f"alerts on the page: {_alerts(page)}\nprobe log: {_log(page)}") from None
    r = handle.json_value()
    if "error" in r:
        raise AppError(f"the app raised:\n{r['error']}")
    page.evaluate("() => window.__digits.trim()")  # keep the log short over long runs
    return Answer(r["value"], r["latencyMs"], r["shownEpochMs"] / 1000, r["sentMs"], r["startedMs"])


def _alerts(page: Page) -> list[str]:
    try:
        return page.get_by_test_id("stAlert").all_inner_texts()
    except PlaywrightError:
        return []


def _log(page: Page) -> str:
    try:
        return page.evaluate("() => JSON.stringify(window.__digits)")[-2000:]
    except PlaywrightError:
        return "(page gone)"


def prediction(page: Page) -> str | None:
    """The answer on the page right now (use wait_answer first to be sure it is final)."""
    marker = page.locator(PREDICTION)
    return marker.inner_text().strip() if marker.count() else None
