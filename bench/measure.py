"""What the benchmark and the soak test share: one timed drawing, statistics, the machine."""

from __future__ import annotations

import json
import os
import platform
import statistics
import time
from datetime import datetime, timezone
from pathlib import Path

from playwright.sync_api import Page

from .browser import REPO, Answer, Strokes, clear, draw, wait_answer, wait_cleared

# Few-vertex digits: pages that draw together take turns, one input event each (~20 ms), so
# short drawings keep every pen lifting within a fraction of a second; the soak test draws
# thousands of them.
SIMPLE: list[Strokes] = [
    [[(140, 40), (140, 240)]],  # 1
    [[(70, 50), (210, 50), (115, 240)]],  # 7
    [[(170, 240), (170, 40), (60, 170), (220, 170)]],  # 4
    [[(140, 40), (80, 80), (70, 160), (100, 230), (170, 235), (210, 160), (200, 80), (140, 40)]],  # 0
]


def simple_drawing(k: int) -> Strokes:
    """The k-th of an endless series of different simple drawings (shape and place vary)."""
    dx, dy = (k * 7) % 41 - 20, (k * 13) % 41 - 20  # within the canvas' margins for every shape
    return [[(x + dx, y + dy) for x, y in stroke] for stroke in SIMPLE[k % len(SIMPLE)]]


def timed_answer(page: Page, strokes: Strokes, timeout_s: float = 60) -> Answer:
    """Draw, wait for the answer, clear and wait for the empty page; the answer and its timing."""
    draw(page, strokes, step_px=None)
    answer = wait_answer(page, timeout_s)
    clear(page)
    wait_cleared(page, timeout_s)
    return answer


def breakdown(answers: list[Answer]) -> dict:
    """Where pen-up -> answer goes (medians): the canvas' wait, until the run's first message
    arrives (server queue and start), until the answer is in the page (run and rendering)."""
    med = lambda xs: round(statistics.median(xs), 1)  # noqa: E731
    return {"to_rerun_request_ms": med([a.sent_ms for a in answers]),
            "request_to_run_start_ms": med([a.started_ms - a.sent_ms for a in answers]),
            "run_start_to_answer_shown_ms": med([a.latency_ms - a.started_ms for a in answers])}


def stats(ms: list[float]) -> dict:
    """n, p50/p95/p99 (nearest rank) and max of a list of milliseconds."""
    s = sorted(ms)
    rank = lambda q: s[min(len(s) - 1, max(0, round(q * len(s)) - 1))]  # noqa: E731
    return {"n": len(s), "p50_ms": round(statistics.median(s), 2), "p95_ms": round(rank(0.95), 2),
            "p99_ms": round(rank(0.99), 2), "max_ms": round(s[-1], 2)}


def machine() -> dict:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    return {"cores": os.cpu_count(), "cpu": cpu, "python": platform.python_version(),
            "platform": platform.platform(), "load_avg_at_start": [round(x, 2) for x in os.getloadavg()]}


def model_info() -> dict:
    """Which model file was served (the figures depend on it only a little, but say which)."""
    from digits.model import MODEL_PATH, REPORT_PATH

    st = MODEL_PATH.stat()
    info = {"path": str(MODEL_PATH.relative_to(REPO)), "bytes": st.st_size,
            "mtime": datetime.fromtimestamp(st.st_mtime, timezone.utc).isoformat(timespec="seconds")}
    try:
        info["test_accuracy"] = json.loads(REPORT_PATH.read_text())["test_accuracy"]
    except (OSError, ValueError, KeyError):
        pass
    return info


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def save(res: dict, started: float, out: Path) -> None:
    """The run's length (from `started`, time.monotonic()) and the load average at its end, then
    the results as JSON."""
    res["seconds"] = round(time.monotonic() - started)
    res["load_avg_at_end"] = [round(x, 2) for x in os.getloadavg()]
    out.write_text(json.dumps(res, indent=2) + "\n")


def heading(res: dict, name: str) -> str:
    """A results table's first line: when, on what, and how busy the machine was."""
    m = res["machine"]
    return (f"{name} {res['date']} on {m['cores']} cores; load average {m['load_avg_at_start'][0]:.1f} at "
            f"start, {res['load_avg_at_end'][0]:.1f} at end; {res['seconds']} s")
