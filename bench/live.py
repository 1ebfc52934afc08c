"""`python -m bench.live`: the live canvas (webapp/live_canvas.py) in real Chromium, beside the
bare app (bench/bare_app.py: the same canvas, its own value 200 ms after pen-up) in one run.

- pen-up -> final answer on the page, p50/p95 (real Draw page, live on; bare app);
- pen-down -> first live guess on the page, and live updates per stroke;
- server CPU per drawing (+ its clear) with live reading on (the browser's live model), on by the
  server's route (`?live_route=server`: a page without the live model) and off (three sessions,
  one server);
- N pages drawing at once: p95 of the final answer.

Timing is taken inside the page (performance.now() at pointerdown/pointerup and a
MutationObserver on the answer); Playwright's round trips are not in any figure. Writes
bench/live.json and prints a table.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

from playwright.sync_api import Browser, Page, sync_playwright

from .browser import PREDICTION, STEP_PX, AppError, clear, close_page, draw, draw_steps, launch_chromium, \
    new_page, streamlit_server
from .measure import machine, now_iso, stats
from .samples import canvas_strokes, dev_samples

OUT = Path(__file__).with_name("live.json")

# Records, per drawing: pen-down/up times, every change of the answer (live or final).
PROBE = """(() => {
  const d = window.__live = {downs: [], ups: [], changes: []};
  addEventListener('pointerdown', () => d.downs.push(performance.now()), true);
  addEventListener('pointerup', () => d.ups.push(performance.now()), true);
  let last = null;
  const check = () => {
    const el = document.querySelector("%s");
    const v = el ? (el.hasAttribute('data-live') ? 'live:' : 'final:') + el.textContent.trim() : null;
    if (v !== last) { last = v; d.changes.push([performance.now(), v]); }
  };
  new MutationObserver(check).observe(document, {subtree: true, childList: true, characterData: true, attributes: true});
  d.companion = false;
  d.reset = () => { d.companion = !!document.querySelector('.st-key-canvas-live'); d.downs = []; d.ups = []; d.changes = []; last = null; window.__digitsLiveSent = 0; window.__digitsLiveFinalShown = 0; window.__digitsBrowserGuesses = 0; check(); };
})();""" % PREDICTION


def _page(browser: Browser, url: str) -> Page:
    page = new_page(browser, url)
    page.add_init_script(PROBE)
    page.reload()
    from .browser import wait_ready
    wait_ready(page)
    return page


def _drawing_done(page: Page, timeout_s: float = 60) -> dict:
    """After the pen-up: wait for a final answer, return the timings of this drawing."""
    # With the companion: when the echo of the last final value reached the page (it comes after
    # the answer, in the same run; the answer's text may not change when a stroke is added).
    # Without (the bare app): when the answer's text changed after the pen-up.
    try:
        page.wait_for_function("""() => { const d = window.__live; const up = d.ups.at(-1);
            if (up === undefined) return false;
            if (document.querySelector('[data-testid="stException"]')) return true;
            if (d.companion) return (window.__digitsLiveFinalShown || 0) > up;
            return d.changes.some(([t, v]) => t > up && v && v.startsWith('final:')); }""",
                               polling=20, timeout=timeout_s * 1000)
    except Exception as exc:
        raise AppError(f"no final answer: {exc}") from None
    r = page.evaluate("""() => { const d = window.__live; const down = d.downs[0], up = d.ups.at(-1);
        const el = document.querySelector("%s");
        const fin = d.companion ? [window.__digitsLiveFinalShown, 'final:' + (el ? el.textContent.trim() : '')]
                                : d.changes.find(([t, v]) => t > up && v && v.startsWith('final:'));
        const lives = d.changes.filter(([t, v]) => t < up && v && v.startsWith('live:'));
        return {final_ms: fin[0] - up, first_live_ms: lives.length ? lives[0][0] - down : null,
                live_updates: lives.length, live_sent: window.__digitsLiveSent || 0, strokes: d.ups.length, value: fin[1].slice(6),
                browser_guesses: window.__digitsBrowserGuesses || 0, browser_guess_ms: window.__digitsBrowserGuessMs || null}; }""" % PREDICTION)
    return r


def _one(page: Page, strokes) -> dict:
    page.evaluate("() => window.__live.reset()")
    draw(page, strokes, step_px=STEP_PX)
    r = _drawing_done(page)
    clear(page)
    page.wait_for_function("() => !document.querySelector(\"%s\")" % PREDICTION, polling=20, timeout=60_000)
    page.locator('.stApp[data-test-script-state="notRunning"]').wait_for()
    return r


def _set_live(page: Page, on: bool) -> None:
    toggle = page.get_by_role("switch", name="Read while I draw")
    if toggle.is_checked() != on:
        page.get_by_text("Read while I draw").click()  # the switch itself is covered by its label
        page.locator('.stApp[data-test-script-state="notRunning"]').wait_for()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.live", description=__doc__.split("\n\n")[0])
    p.add_argument("--reps", type=int, default=30, help="drawings per app and mode (default 30)")
    p.add_argument("--users", type=int, default=20, help="pages drawing at once (default 20; 0: skip)")
    p.add_argument("--rounds", type=int, default=2, help="drawings per page at once (default 2)")
    p.add_argument("--out", type=Path, default=OUT)
    args = p.parse_args(argv)
    drawings = [canvas_strokes(s, i) for i, s in enumerate(dev_samples(args.reps))]
    res: dict = {"date": now_iso(), "machine": machine(), "args": vars(args) | {"out": str(args.out)}}
    t0 = time.monotonic()
    with sync_playwright() as pw:
        browser = launch_chromium(pw)
        with streamlit_server("app.py") as real, streamlit_server("bench/bare_app.py") as bare:
            on, off, bp = _page(browser, real.url), _page(browser, real.url), _page(browser, bare.url)
            srv = _page(browser, real.url + "/?live_route=server")
            _set_live(off, False)
            pages = (on, srv, off, bp)
            for page in pages:
                _one(page, drawings[0])  # warm-up: a page's first answer loads its code
            rows: dict[str, list] = {"live_on": [], "live_server": [], "live_off": [], "bare": []}
            cpu: dict[str, float] = {k: 0.0 for k in rows}
            for i, strokes in enumerate(drawings):
                order = [("live_on", on, real), ("live_server", srv, real), ("live_off", off, real), ("bare", bp, bare)]
                for name, page, server in order[i % 4:] + order[:i % 4]:  # load hits all alike
                    c = server.cpu_s()
                    rows[name].append(_one(page, strokes))
                    cpu[name] += server.cpu_s() - c
            for page in pages:
                close_page(page)
            for name, r in rows.items():
                out = stats([x["final_ms"] for x in r])
                out["server_cpu_ms_per_drawing"] = round(cpu[name] * 1000 / len(r), 1)
                firsts = [x["first_live_ms"] for x in r if x["first_live_ms"] is not None]
                if name in ("live_on", "live_server"):
                    out["first_live_guess"] = stats(firsts) if firsts else None
                    out["live_updates_per_drawing_median"] = statistics.median(x["live_updates"] for x in r)
                    out["live_values_sent_per_drawing_median"] = statistics.median(x["live_sent"] for x in r)
                    out["strokes_per_drawing_median"] = statistics.median(x["strokes"] for x in r)
                    out["browser_guesses_per_drawing_median"] = statistics.median(x["browser_guesses"] for x in r)
                    ms = [x["browser_guess_ms"] for x in r if x["browser_guess_ms"] is not None]
                    out["browser_guess_ms_median"] = round(statistics.median(ms), 2) if ms else None
                out["right"] = sum(x["value"] == str(s.label) for x, s in zip(r, dev_samples(len(r)))) \
                    if name != "bare" else None
                res[name] = out
            res["cpu_live_on_over_off"] = round(res["live_on"]["server_cpu_ms_per_drawing"]
                                                / res["live_off"]["server_cpu_ms_per_drawing"], 2)
            res["cpu_live_server_over_off"] = round(res["live_server"]["server_cpu_ms_per_drawing"]
                                                    / res["live_off"]["server_cpu_ms_per_drawing"], 2)
            res["final_p50_over_bare"] = round(res["live_on"]["p50_ms"] / res["bare"]["p50_ms"], 3)
            if args.users:
                res["concurrent"] = concurrent(browser, real.url, args.users, args.rounds, drawings)
        browser.close()
    res["seconds"] = round(time.monotonic() - t0)
    res["load_avg_at_end"] = [round(x, 2) for x in os.getloadavg()]
    args.out.write_text(json.dumps(res, indent=2) + "\n")
    print(table(res))
    return 0


def concurrent(browser: Browser, url: str, users: int, rounds: int, drawings) -> dict:
    pages = [_page(browser, url) for _ in range(users)]
    finals = []
    try:
        for r in range(rounds + 1):
            for p in pages:
                p.evaluate("() => window.__live.reset()")
            live = [draw_steps(p, drawings[(r * users + k) % len(drawings)], None) for k, p in enumerate(pages)]
            while live:  # every page draws at the same time, one input event per page in turn
                pause, still = 0.0, []
                for gen in live:
                    step = next(gen, None)
                    if step is not None:
                        pause, _ = max(pause, step), still.append(gen)
                live = still
                if pause:
                    time.sleep(pause)
            got = [_drawing_done(p, 120) for p in pages]
            finals += [g["final_ms"] for g in got] if r else []  # round 0 warms up
            for p in pages:
                clear(p)
            for p in pages:
                p.wait_for_function("() => !document.querySelector(\"%s\")" % PREDICTION, polling=50, timeout=120_000)
    finally:
        for p in pages:
            close_page(p)
    return {"users": users, **stats(finals)}


def table(r: dict) -> str:
    on, srv, off, bare, cc = r["live_on"], r["live_server"], r["live_off"], r["bare"], r.get("concurrent")
    fl, fs = on.get("first_live_guess") or {}, srv.get("first_live_guess") or {}
    rows = [
        ("pen-up -> final answer, Draw page, live on", f"p50 {on['p50_ms']:.0f} ms, p95 {on['p95_ms']:.0f} ms (n={on['n']})"),
        ("pen-up -> final answer, Draw page, live off", f"p50 {off['p50_ms']:.0f} ms, p95 {off['p95_ms']:.0f} ms"),
        ("pen-up -> answer, bare canvas app", f"p50 {bare['p50_ms']:.0f} ms, p95 {bare['p95_ms']:.0f} ms"),
        ("  live on / bare, p50", f"{r['final_p50_over_bare']}x"),
        ("pen-down -> first live guess (browser / server route)",
         f"p50 {fl.get('p50_ms', float('nan')):.0f} / {fs.get('p50_ms', float('nan')):.0f} ms, "
         f"p95 {fl.get('p95_ms', float('nan')):.0f} / {fs.get('p95_ms', float('nan')):.0f} ms"),
        ("live guesses per drawing (median), browser", f"{on['browser_guesses_per_drawing_median']} read in the page "
                                                       f"({on['browser_guess_ms_median']} ms each), "
                                                       f"{on['live_values_sent_per_drawing_median']} sent to the server"),
        ("live values per drawing (median), server route", f"{srv['live_values_sent_per_drawing_median']} sent and read, "
                                                           f"{srv['live_updates_per_drawing_median']} changes of the guess shown "
                                                           f"({srv['strokes_per_drawing_median']} strokes)"),
        ("server CPU per drawing + clear", f"live on {on['server_cpu_ms_per_drawing']:.0f} ms "
                                           f"({r['cpu_live_on_over_off']}x), server route {srv['server_cpu_ms_per_drawing']:.0f} ms "
                                           f"({r['cpu_live_server_over_off']}x), live off {off['server_cpu_ms_per_drawing']:.0f} ms, "
                                           f"bare {bare['server_cpu_ms_per_drawing']:.0f} ms"),
        ("read right (live on / server route / off)", f"{on['right']} / {srv['right']} / {off['right']} of {on['n']}"),
    ]
    if cc:
        rows.append((f"{cc['users']} pages drawing at once, final answer",
                     f"p50 {cc['p50_ms']:.0f} ms, p95 {cc['p95_ms']:.0f} ms (n={cc['n']})"))
    width = max(len(a) for a, _ in rows)
    m = r["machine"]
    head = (f"bench.live {r['date']} on {m['cores']} cores; load average {m['load_avg_at_start'][0]:.1f} at start, "
            f"{r['load_avg_at_end'][0]:.1f} at end; {r['seconds']} s")
    return "\n".join([head, ""] + [f"{a:<{width}}  {b}" for a, b in rows])


if __name__ == "__main__":
    sys.exit(main())
