"""Record what the real canvas component sends, from real Chromium, as test fixtures:
`python -m bench.record` writes tests/fixtures/canvas/<name>.json (the canvas' json_data, the live
companion's final value) and <name>.png (the canvas' image_data) for a few drawings made with the
mouse: one stroke, several, a dot, a long one. The tests read these instead of our own
imitation of the component (streamlit-drawable-canvas 0.13.0 bundles Fabric 7.4.0, which writes
`"type": "Path"`; older Fabric wrote `"path"`)."""

from __future__ import annotations

import argparse
import math
import os
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

from bench.browser import REPO, draw, launch_chromium, new_page, streamlit_server, wait_ready

OUT = REPO / "tests" / "fixtures" / "canvas"


def _circle(cx: float, cy: float, r: float, turns: float = 1.0, n: int = 60) -> list[list[float]]:
    return [[cx + r * math.cos(2 * math.pi * turns * k / n), cy + r * math.sin(2 * math.pi * turns * k / n)]
            for k in range(n + 1)]


# Canvas coordinates (280 x 280 CSS px).
DRAWINGS = {
    "one-stroke": [[[140, 50], [138, 120], [136, 230]]],  # a 1
    "several-strokes": [[[90, 60], [80, 150], [180, 150]], [[160, 70], [165, 240]]],  # a 4
    "dot": [[[140, 140], [141, 140]]],  # a tap
    "long": [_circle(140, 100, 45, 1.0) + [[185, 100], [170, 170], [150, 240]]],  # a 9 in one stroke
}


def record(out: Path = OUT) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    os.environ["DIGITS_RECORD_DIR"] = str(out)
    written = []
    with streamlit_server(REPO / "bench" / "recorder_app.py") as server, sync_playwright() as pw:
        browser = launch_chromium(pw)
        for name, strokes in DRAWINGS.items():
            page = new_page(browser, f"{server.url}/?name={name}")
            draw(page, strokes)
            # Wait for the canvas' own value with every stroke (it comes ~200 ms after pen-up).
            page.wait_for_function(f"() => document.querySelector('[data-testid=recorded]')?.textContent === '{len(strokes)}'",
                                   timeout=20_000)
            page.locator(".stApp[data-test-script-state='notRunning']").wait_for()
            time.sleep(0.5)  # a late companion value would rerun once more: let it land
            wait_ready(page)
            page.context.close()
            written += [out / f"{name}.json", out / f"{name}.png"]
        browser.close()
    return written


def main() -> None:
    argparse.ArgumentParser(description=__doc__).parse_args()
    for path in record():
        print(path.relative_to(REPO))


if __name__ == "__main__":
    main()
