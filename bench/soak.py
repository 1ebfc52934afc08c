"""`python -m bench.soak` (make soak): one server, several browser sessions drawing in turn,
until N predictions or a time limit. Reports errors, server RSS at prediction 500 and at the
end (target: < 50 MB growth), and latency per 500-prediction window (target: no drift).
Writes bench/soak.json. The default (5000 predictions) takes about an hour.

`python -m bench.soak --sessions 200` (make soak-sessions): visitors come and go instead: each
opens a new browser session, draws one digit, waits for the answer and closes it. Reports the
server's RSS after a warm-up and once every session is gone (target: <= 50 MB growth). Writes
bench/soak-sessions.json; about 15-25 minutes on 2 busy cores.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from playwright.sync_api import Browser, sync_playwright

from .browser import AppError, Server, close_page, draw, launch_chromium, new_page, streamlit_server, wait_answer
from .measure import machine, model_info, now_iso, simple_drawing, stats, timed_answer

OUT = Path(__file__).with_name("soak.json")
SESSIONS_OUT = Path(__file__).with_name("soak-sessions.json")
GROWTH_TARGET_MB = 50
DRIFT_LIMIT = 1.5  # last window's p99 over the first window's: more is drift
MAX_ERRORS = 20  # give up after this many failed drawings: something is broken, not flaky


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__.split("\n\n")[0])
    p.add_argument("--predictions", type=int, default=5000, help="drawings in all (default 5000)")
    p.add_argument("--minutes", type=float, default=120, help="stop after this long (default 120)")
    p.add_argument("--pages", type=int, default=4, help="browser sessions taking turns (default 4)")
    p.add_argument("--window", type=int, default=500, help="predictions per latency window (default 500)")
    p.add_argument("--baseline-at", type=int, default=500,
                   help="the RSS baseline is read after this many predictions (default 500)")
    p.add_argument("--sessions", type=int, default=0,
                   help="instead: this many visitors in turn, one new session and one drawing each")
    p.add_argument("--warmup", type=int, default=10, help="sessions before the RSS baseline (default 10)")
    p.add_argument("--path", default="/", help="the page the visitors open (e.g. '/?kiosk=1')")
    p.add_argument("--out", type=Path, default=None)
    args = p.parse_args(argv)
    args.out = args.out or (SESSIONS_OUT if args.sessions else OUT)

    result = churn(args) if args.sessions else soak(args)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(summary(result))
    print(f"\nwrote {args.out}")
    return 0 if all(c["ok"] for c in result["checks"].values()) else 1


def soak(args: argparse.Namespace) -> dict:
    result: dict = {"date": now_iso(), "machine": machine(), "model": model_info(),
                    "args": vars(args) | {"out": str(args.out)}}
    latencies: list[float] = []
    errors: list[str] = []
    rss: dict[int, float] = {}
    deadline = time.monotonic() + args.minutes * 60
    with streamlit_server("app.py") as server, sync_playwright() as pw:
        browser = launch_chromium(pw)
        pages = [new_page(browser, server.url) for _ in range(args.pages)]
        fresh = set(range(len(pages)))  # a page's first answer loads the answer's code: not timed
        rss[0] = server.rss_mb()
        k = 0
        while k < args.predictions and time.monotonic() < deadline and len(errors) < MAX_ERRORS:
            slot = k % len(pages)
            try:
                ms = timed_answer(pages[slot], simple_drawing(k)).latency_ms
                if slot not in fresh:
                    latencies.append(ms)
                fresh.discard(slot)
            except AppError as exc:  # count it, give that visitor a fresh page, go on
                errors.append(f"prediction {k}: {str(exc).splitlines()[0]}")
                close_page(pages[slot])
                pages[slot] = new_page(browser, server.url)
                fresh.add(slot)
            k += 1
            if k % 100 == 0 or k == args.baseline_at:
                rss[k] = server.rss_mb()
                print(f"{k} predictions, RSS {rss[k]:.0f} MB, last p50 "
                      f"{stats(latencies[-100:])['p50_ms'] if latencies else '-'} ms", flush=True)
        rss[k] = server.rss_mb()
        for page in pages:
            close_page(page)
        browser.close()

    windows = [stats(latencies[i: i + args.window]) | {"from": i}
               for i in range(0, len(latencies), args.window) if len(latencies[i: i + args.window]) >= 10]
    base = rss.get(args.baseline_at, rss[min(rss, key=lambda n: abs(n - args.baseline_at))])
    result |= {
        "predictions": k, "answered": len(latencies), "errors": len(errors), "error_samples": errors[:20],
        "stopped_by": "count" if k >= args.predictions else "errors" if len(errors) >= MAX_ERRORS else "time",
        "rss_mb": {str(n): round(v, 1) for n, v in sorted(rss.items())},
        "rss_growth_mb": round(rss[k] - base, 1),
        "windows": windows, "overall": stats(latencies) if latencies else None,
    }
    drift = windows[-1]["p99_ms"] / windows[0]["p99_ms"] if len(windows) > 1 else 1.0
    result["checks"] = {
        "errors": {"value": len(errors), "target": 0, "ok": not errors},
        "rss_growth_mb": {"value": result["rss_growth_mb"], "target": GROWTH_TARGET_MB,
                          "ok": result["rss_growth_mb"] < GROWTH_TARGET_MB},
        "p99_drift_last_over_first": {"value": round(drift, 2), "target": DRIFT_LIMIT, "ok": drift <= DRIFT_LIMIT},
    }
    return result


# --------------------------------------------------------------------------- visitors come and go


def visit(browser: Browser, url: str, k: int) -> str | None:
    """One visitor: a new browser session, one drawing, its answer, and gone."""
    page = new_page(browser, url)
    try:
        draw(page, simple_drawing(k))  # moves of a few px, as a pen: live guesses on the way
        return wait_answer(page).value
    finally:
        close_page(page)


def gone(server: Server, browser: Browser, url: str) -> None:
    """Let the server forget the closed sessions. Streamlit keeps a disconnected session for
    server.disconnectedSessionTTL seconds and drops expired ones only when another session
    disconnects: wait out the TTL, then one more short visit (no drawing) closes."""
    time.sleep(session_ttl_s(server) + 1)
    close_page(new_page(browser, url))
    time.sleep(1)  # its disconnect is handled on the server's event loop


def session_ttl_s(server: Server) -> float:
    args = server.proc.args
    flag = "--server.disconnectedSessionTTL"
    return float(args[args.index(flag) + 1]) if flag in args else 120.0


def churn_rss(server: Server, browser: Browser, sessions: int, warmup: int, path: str = "/",
              log: bool = False) -> dict:
    """`sessions` visitors in turn (visit), the RSS after `warmup` of them and after all are gone."""
    url = server.url + path
    rss: dict[str, float] = {"start": server.rss_mb()}
    errors: list[str] = []
    answers: dict[str, int] = {}
    for k in range(sessions):
        try:
            value = visit(browser, url, k)
            answers[str(value)] = answers.get(str(value), 0) + 1
        except AppError as exc:
            errors.append(f"session {k}: {str(exc).splitlines()[0]}")
            if len(errors) >= MAX_ERRORS:
                break
        if k + 1 == warmup:
            gone(server, browser, url)
            rss["baseline"] = server.rss_mb()
        if log and (k + 1) % 20 == 0:
            print(f"{k + 1} sessions, RSS {server.rss_mb():.0f} MB", flush=True)
    rss["all_open_closed"] = server.rss_mb()
    gone(server, browser, url)
    rss["after_gone"] = server.rss_mb()
    return {"sessions": sessions, "warmup": warmup, "errors": errors, "answers": answers,
            "rss_mb": {k: round(v, 1) for k, v in rss.items()},
            "rss_growth_mb": round(rss["after_gone"] - rss.get("baseline", rss["start"]), 1)}


def churn(args: argparse.Namespace) -> dict:
    result: dict = {"date": now_iso(), "machine": machine(), "model": model_info(),
                    "args": vars(args) | {"out": str(args.out)}}
    started = time.monotonic()
    # A short TTL only so the run need not wait two minutes for the server to let go.
    with streamlit_server("app.py", extra_args=["--server.disconnectedSessionTTL", "10"]) as server, \
            sync_playwright() as pw:
        browser = launch_chromium(pw)
        result |= churn_rss(server, browser, args.sessions, args.warmup, args.path, log=True)
        browser.close()
    result["seconds"] = round(time.monotonic() - started)
    result["checks"] = {
        "errors": {"value": len(result["errors"]), "target": 0, "ok": not result["errors"]},
        "rss_growth_mb": {"value": result["rss_growth_mb"], "target": GROWTH_TARGET_MB,
                          "ok": result["rss_growth_mb"] <= GROWTH_TARGET_MB},
    }
    return result


def summary(r: dict) -> str:
    if "sessions" in r:
        lines = [f"soak {r['date']} on {r['machine']['cores']} cores (load {r['machine']['load_avg_at_start'][0]:.1f}): "
                 f"{r['sessions']} sessions opened, drawn on and closed in {r['seconds']} s; answers {r['answers']}",
                 "RSS MB: " + ", ".join(f"{k} {v:.0f}" for k, v in r["rss_mb"].items())]
        return "\n".join(lines + [f"{'ok  ' if c['ok'] else 'MISS'} {k} = {c['value']} (target {c['target']})"
                                  for k, c in r["checks"].items()])
    lines = [f"soak {r['date']} on {r['machine']['cores']} cores, {r['machine']['cpu']}: "
             f"{r['predictions']} predictions by {r['args']['pages']} sessions (stopped by {r['stopped_by']}), "
             f"{r['errors']} errors",
             "RSS MB by prediction: " + ", ".join(f"{n}: {v:.0f}" for n, v in r["rss_mb"].items()),
             f"{'window':>12}  {'p50 ms':>7}  {'p95 ms':>7}  {'p99 ms':>7}"]
    lines += [f"{w['from']:>5}-{w['from'] + w['n'] - 1:<6}  {w['p50_ms']:>7.0f}  {w['p95_ms']:>7.0f}  {w['p99_ms']:>7.0f}"
              for w in r["windows"]]
    lines += [f"{'ok  ' if c['ok'] else 'MISS'} {k} = {c['value']} (target {c['target']})" for k, c in r["checks"].items()]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
