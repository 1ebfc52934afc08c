"""Figures from the real page: `python -m bench.replay [--digits 300] [--letters 100]` draws UNIPEN
dev digits and letters/symbols with the mouse in real Chromium, through the real canvas
component, on the Draw page, and reads each answer off the page (its verdict, best digit and the
path that read it). Beside them, the same drawings read offline (`evaluate`'s replay: OpenCV
picture + our Fabric encoding), so the two can be compared drawing for drawing.

Each drawing is sample i of its file laid out by the replay protocol (`evaluate --strokes
--variant random` uses the same layout for sample i); the samples are spread evenly over the
file so every label and writer is in. Live reading is off (the final answer is the same; a live
guess would only add load). Writes bench/replay.json.
"""

from __future__ import annotations

import argparse
import json
import time
from collections import Counter

import numpy as np
from playwright.sync_api import Page, sync_playwright

from bench.browser import PREDICTION, REPO, clear, draw, launch_chromium, new_page, streamlit_server, wait_answer, wait_cleared
from digits.answer import DIGIT, Reader
from digits.data import DEV_PATH, NONDIGIT_DEV_PATH, Sample, read_strokes
from digits.render import draw as render, replay_layout
from digits.strokes import fabric_json

OUT = REPO / "bench" / "replay.json"


def spread(samples: list[Sample], n: int) -> list[tuple[int, Sample]]:
    """n samples evenly spread over the file, with their index in it (which fixes the layout)."""
    idx = np.unique(np.linspace(0, len(samples) - 1, min(n, len(samples))).round().astype(int))
    return [(int(i), samples[i]) for i in idx]


def on_page(page: Page, i: int, sample: Sample) -> dict:
    draw(page, [s.tolist() for s in replay_layout(sample.strokes, i, "random")], step_px=None)
    wait_answer(page)
    marker = page.locator(PREDICTION)
    got = {k: marker.get_attribute(f"data-{k}") for k in ("verdict", "digit", "path")}
    clear(page)
    wait_cleared(page)
    return got


def offline(reader: Reader, i: int, sample: Sample) -> dict:
    layout = replay_layout(sample.strokes, i, "random")
    a = reader.read(render(layout), fabric_json(layout))
    return {"verdict": a.verdict, "digit": str(a.digit), "path": a.path}


def figures(rows: list[dict], digits: bool) -> dict:
    """evaluate's figures for a list of {label, verdict, digit}: right = forced choice."""
    n = len(rows)
    named = [r["verdict"] == DIGIT for r in rows]
    out = {"n": n, "refused": sum(not x for x in named) / n if n else None,
           "paths": dict(Counter(r["path"] for r in rows))}
    if digits:
        out["right"] = sum(r["digit"] == str(r["label"]) for r in rows) / n
        out["named_wrong"] = sum(x and r["digit"] != str(r["label"]) for x, r in zip(named, rows)) / n
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--digits", type=int, default=300, help="dev digits to draw (default 300)")
    p.add_argument("--letters", type=int, default=100, help="dev letters and symbols to draw (default 100)")
    args = p.parse_args(argv)
    reader = Reader.load()
    sets = {"digits": spread(read_strokes(DEV_PATH), args.digits),
            "letters": spread(read_strokes(NONDIGIT_DEV_PATH), args.letters)}
    result: dict = {"when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
    start = time.time()
    with streamlit_server("app.py") as server, sync_playwright() as pw:
        browser = launch_chromium(pw)
        page = new_page(browser, server.url)
        page.get_by_text("Read while I draw").click()  # live off: only the final answer
        page.locator(".stApp[data-test-script-state='notRunning']").wait_for()
        for name, chosen in sets.items():
            rows, agree = [], 0
            for k, (i, sample) in enumerate(chosen):
                got = on_page(page, i, sample)
                ref = offline(reader, i, sample)
                agree += (got["verdict"], got["digit"]) == (ref["verdict"], ref["digit"])
                rows.append({"i": i, "label": sample.label, **got, "offline": ref})
                if (k + 1) % 50 == 0:
                    print(f"  {name}: {k + 1}/{len(chosen)}", flush=True)
            page_fig = figures(rows, name == "digits")
            off_fig = figures([{"label": r["label"], **r["offline"]} for r in rows], name == "digits")
            result[name] = {"page": page_fig, "offline": off_fig, "same_answer": agree / len(rows),
                            "differ": [r for r in rows if (r["verdict"], r["digit"]) != (r["offline"]["verdict"], r["offline"]["digit"])]}
            print(f"{name}: {len(rows)} drawn on the page; page {_line(page_fig)}; offline {_line(off_fig)}; "
                  f"same answer {agree}/{len(rows)}", flush=True)
        browser.close()
    result["seconds"] = round(time.time() - start)
    OUT.write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {OUT.relative_to(REPO)} ({result['seconds']} s)")
    return 0


def _line(f: dict) -> str:
    parts = [f"right {f['right']:.2%}", f"named wrong {f['named_wrong']:.2%}"] if "right" in f else []
    return ", ".join(parts + [f"refused {f['refused']:.2%}", "paths " + ", ".join(f"{k} {v}" for k, v in f["paths"].items())])


if __name__ == "__main__":
    raise SystemExit(main())
