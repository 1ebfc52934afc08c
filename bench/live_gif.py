"""`python -m bench.live_gif`: docs/live-reading.gif, the Draw page reading a digit while it is drawn.

Starts the app, opens the Draw page in headless Chromium, draws a real pen-drawn 2 from the
UNIPEN dev file slowly with the mouse, takes a screenshot of the canvas and the answer every few
mouse moves and after the pen lifts, and assembles them with Pillow.
"""

from __future__ import annotations

import io
import sys
import time
from pathlib import Path

from PIL import Image
from playwright.sync_api import sync_playwright

from bench.browser import CANVAS, ENTER_DELAY_S, PREDICTION, launch_chromium, new_page, streamlit_server
from bench.samples import canvas_strokes, dev_samples

OUT = Path(__file__).resolve().parents[1] / "docs" / "live-reading.gif"
DIGIT = 2


def main() -> int:
    index, sample = next((i, s) for i, s in enumerate(dev_samples(200)) if s.label == DIGIT)
    strokes = canvas_strokes(sample, index)
    frames: list[Image.Image] = []
    with streamlit_server("app.py") as server, sync_playwright() as pw:
        browser = launch_chromium(pw)
        page = new_page(browser, server.url)
        page.set_viewport_size({"width": 1100, "height": 620})
        box = page.locator(CANVAS).bounding_box()
        clip = {"x": box["x"] - 10, "y": box["y"] - 100, "width": 880, "height": box["height"] + 190}

        def shot() -> None:
            frames.append(Image.open(io.BytesIO(page.screenshot(clip=clip))).convert("RGB"))

        page.mouse.move(box["x"] + strokes[0][0][0], box["y"] + strokes[0][0][1])
        time.sleep(ENTER_DELAY_S)
        shot()
        for stroke in strokes:
            page.mouse.move(box["x"] + stroke[0][0], box["y"] + stroke[0][1])
            page.mouse.down()
            for k, p in enumerate(stroke[1:]):
                page.mouse.move(box["x"] + p[0], box["y"] + p[1], steps=2)
                time.sleep(0.02)  # a slow hand
                if k % 6 == 0:
                    shot()
            page.mouse.up()
        page.locator(f"{PREDICTION}:not([data-live])").wait_for()
        page.get_by_test_id("stVegaLiteChart").wait_for()
        time.sleep(0.5)  # the chart's first paint
        for _ in range(12):  # hold the final answer
            shot()
        browser.close()
    small = [f.resize((f.width * 2 // 3, f.height * 2 // 3), Image.LANCZOS) for f in frames]
    small[0].save(OUT, save_all=True, append_images=small[1:], duration=90, loop=0, optimize=True)
    print(f"wrote {OUT} ({len(frames)} frames, {OUT.stat().st_size // 1024} KB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
