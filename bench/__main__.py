"""`python -m bench` (make bench): how fast and how big the app is, in one run.

1. In process: preprocess + predict for one drawing (p50/p99), and model.predict as the baseline.
2. Pen-up -> answer shown, in Chromium, for the real app and for bench/bare_app.py (the same
   canvas, no model), drawn alternately with the same real pen digits.
3. Cold start: server launch -> first answer shown in the browser.
4. Server RSS after the page loaded and after N predictions.
5. Concurrency: M browser sessions drawing at once against one server (and against the bare
   app, for what Streamlit and the browsers on this machine cost on their own).

Prints a table and writes bench/results.json. Every loop is bounded in count and time, and all
traffic stays on localhost.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import sys
import time
from pathlib import Path

from playwright.sync_api import Browser, sync_playwright

from .browser import Server, clear, close_page, draw, draw_together, launch_chromium, new_page, \
    streamlit_server, wait_answer, wait_cleared
from .measure import breakdown, machine, model_info, now_iso, simple_drawing, stats, timed_answer
from .samples import canvas_strokes, dev_samples

APP, BARE = "app.py", "bench/bare_app.py"
OUT = Path(__file__).with_name("results.json")
TARGETS = {  # issue 6
    "ratio_to_bare_p50": 1.05,
    "inprocess_p50_ms": 2.0,
    "inprocess_p99_ms": 5.0,
    "cold_start_s": 8.0,
    "rss_after_predictions_mb": 600.0,
    "concurrent_p95_over_single_p50": 2.0,
}



def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    p.add_argument("--calls", type=int, default=2000, help="in-process timed calls (default 2000)")
    p.add_argument("--reps", type=int, default=40, help="drawings per app for pen-up latency (default 40)")
    p.add_argument("--predictions", type=int, default=100, help="predictions before the RSS reading (default 100)")
    p.add_argument("--cold-runs", type=int, default=3, help="server launches for cold start (default 3)")
    p.add_argument("--users", type=int, default=20, help="concurrent browser sessions (default 20)")
    p.add_argument("--rounds", type=int, default=3, help="drawings per concurrent session (default 3)")
    p.add_argument("--out", type=Path, default=OUT)
    p.add_argument("--inprocess-only", action="store_true",
                   help="only measure 1: preprocess + predict in process (prints JSON, writes nothing)")
    args = p.parse_args(argv)
    if args.inprocess_only:  # e.g. right after retraining: the model's own cost, in seconds not minutes
        print(json.dumps({"date": now_iso(), "model": model_info(), "inprocess": inprocess(args.calls),
                          "load_avg": [round(x, 2) for x in os.getloadavg()]}, indent=2))
        return 0
    if args.predictions < args.reps:
        p.error("--predictions must be at least --reps")

    results: dict = {"date": now_iso(),
                     "machine": machine(), "model": model_info(), "args": vars(args) | {"out": str(args.out)}}
    t0 = time.monotonic()
    results["inprocess"] = inprocess(args.calls)
    with sync_playwright() as pw:
        browser = launch_chromium(pw)
        results["cold_start"] = cold_start(browser, args.cold_runs)
        with streamlit_server(APP) as real, streamlit_server(BARE) as bare:
            results["pen_up"] = pen_up(browser, real, bare, args.reps, args.predictions)
            results["concurrency"] = concurrency(browser, real, args.users, args.rounds,
                                                 results["pen_up"]["real"]["p50_ms"])
            # The same load on the bare app: what Streamlit and the browsers cost on their own.
            results["concurrency_bare"] = concurrency(browser, bare, args.users, args.rounds,
                                                      results["pen_up"]["bare"]["p50_ms"])
        browser.close()
    results["seconds"] = round(time.monotonic() - t0)
    results["load_avg_at_end"] = [round(x, 2) for x in os.getloadavg()]
    results["checks"] = checks(results)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(table(results))
    print(f"\nwrote {args.out} in {results['seconds']} s")
    return 0


# --------------------------------------------------------------------------- 1. in process


def inprocess(calls: int) -> dict:
    """preprocess_canvas + the served graph (Predictor.predict) on rendered pen digits, and the
    whole answer the Draw page gets (Reader.read with the canvas' strokes: both graphs, the rule)."""
    import numpy as np

    from digits.answer import Reader
    from digits.strokes import fabric_json
    from digits.training.network import load_model, member_paths
    from digits.preprocess import preprocess_canvas
    from digits.render import draw, replay_layout

    from .samples import VARIANT

    reader = Reader.load()  # ONNX Runtime, one thread, as the app loads it (webapp.widgets.get_reader)
    predictor = reader.predictor
    gc.freeze()
    layouts = [replay_layout(s.strokes, i, VARIANT) for i, s in enumerate(dev_samples(8))]
    images = [draw(layout) for layout in layouts]
    strokes = [fabric_json(layout) for layout in layouts]  # what the canvas sends with the picture
    inputs = [preprocess_canvas(im) for im in images]

    def timed(fn, n: int, warmup: int = 50) -> dict:
        """Wall-clock stats, and the median CPU time of the process (all threads) per call:
        on a shared machine the wall clock also counts time spent waiting for a core."""
        for k in range(warmup):
            fn(k)
        wall, cpu = [], []
        for k in range(n):
            t, c = time.perf_counter_ns(), time.process_time_ns()
            fn(k)
            wall.append((time.perf_counter_ns() - t) / 1e6)
            cpu.append((time.process_time_ns() - c) / 1e6)
        return stats(wall) | {"cpu_p50_ms": round(statistics.median(cpu), 2)}

    both = timed(lambda k: predictor.predict(preprocess_canvas(images[k % len(images)])), calls)
    # The Draw page's whole answer: picture and pen path, both models, the calibrated rule.
    answer = timed(lambda k: reader.read(images[k % len(images)], strokes[k % len(strokes)]), calls)
    # The same with a visitor's memory of 50 drawings (issue 21: it may add at most 0.5 ms).
    memory = remembered(reader, 50)
    answer_memory = timed(lambda k: reader.read(images[k % len(images)], strokes[k % len(strokes)], None, memory), calls)
    # The memory's own part, apart from the graphs' noise: compare, blend, the rule again.
    read = [reader.read(im, st, None, memory) for im, st in zip(images, strokes)]
    recall = timed(lambda k: reader.recall(read[k % len(read)].probabilities, read[k % len(read)].embedding,
                                           memory, True), calls)
    pre = timed(lambda k: preprocess_canvas(images[k % len(images)]), calls)
    pred = timed(lambda k: predictor.predict(inputs[k % len(inputs)]), calls)
    batch = [np.asarray(x, np.float32).reshape(1, 28, 28, 1) for x in inputs]
    # The same ensemble in Keras, called the usual way (model.predict per member), as the baseline.
    members = [load_model(p) for p in member_paths()]
    keras_predict = timed(lambda k: np.mean([m.predict(batch[k % len(batch)], verbose=0) for m in members], axis=0),
                          50, warmup=5)
    return {"preprocess_and_predict": both, "answer_with_strokes": answer, "reads_strokes": reader.reads_strokes,
            "answer_with_memory_of_50": answer_memory, "memory_recall_of_50": recall,
            "remembers": reader.remembers(True),
            "memory_added_p50_ms": round(answer_memory["p50_ms"] - answer["p50_ms"], 2),
            "preprocess": pre, "predict": pred,
            "model_predict_baseline": keras_predict,
            "speedup_vs_model_predict_p50": round(keras_predict["p50_ms"] / pred["p50_ms"], 1)}


def remembered(reader, n: int):
    """A visitor's memory of `n` confirmed dev drawings (digits.memory), as the Draw
    page fills it: the embeddings Reader.read gives, with their labels."""
    from digits.memory import Memory
    from digits.render import draw, replay_layout
    from digits.strokes import fabric_json

    memory = Memory()
    for i, s in enumerate(dev_samples(n)):
        layout = replay_layout(s.strokes, 1000 + i, "random")
        memory.remember(reader.read(draw(layout), fabric_json(layout), None, memory).embedding, s.label)
    return memory


# --------------------------------------------------------------------------- 2-5. browser


def cold_start(browser: Browser, runs: int) -> dict:
    """Launch -> first answer shown, for a visitor who opens the page and draws at once."""
    out = []
    for _ in range(runs):
        with streamlit_server(APP) as server:
            healthy = time.time() - server.started
            page = new_page(browser, server.url, idle=False, timeout_s=120)
            canvas = time.time() - server.started
            draw(page, simple_drawing(0))
            answer = wait_answer(page, timeout_s=120)
            out.append({"healthy_s": round(healthy, 2), "canvas_shown_s": round(canvas, 2),
                        "first_answer_s": round(answer.shown_epoch_s - server.started, 2),
                        "rss_mb": round(server.rss_mb())})
            close_page(page)
    firsts = sorted(r["first_answer_s"] for r in out)
    return {"runs": out, "median_s": statistics.median(firsts), "max_s": firsts[-1]}


def pen_up(browser: Browser, real: Server, bare: Server, reps: int, predictions: int) -> dict:
    """Real and bare app drawn alternately with the same real pen digits (so load on the machine
    hits both alike), then simple drawings on the real app up to `predictions`, for the RSS."""
    drawings = [canvas_strokes(s, i) for i, s in enumerate(dev_samples(reps))]
    real_page, bare_page = new_page(browser, real.url), new_page(browser, bare.url)
    rss_loaded = real.rss_mb()
    # Not timed: a page's first answer also loads the code that shows it (~150 ms more).
    timed_answer(real_page, simple_drawing(0))
    timed_answer(bare_page, simple_drawing(0))
    answers: dict[str, list] = {"real": [], "bare": []}
    cpu0 = {"real": real.cpu_s(), "bare": bare.cpu_s()}
    for i in range(reps):
        order = [("real", real_page), ("bare", bare_page)]
        for name, page in order if i % 2 == 0 else order[::-1]:
            answers[name].append(timed_answer(page, drawings[i]))
    # Server CPU per drawing (its run and the clear's): what bounds many visitors, and unlike
    # wall time it does not depend on what else the machine is doing.
    cpu_ms = {"real": (real.cpu_s() - cpu0["real"]) * 1000 / reps, "bare": (bare.cpu_s() - cpu0["bare"]) * 1000 / reps}
    for k in range(reps + 1, predictions):
        timed_answer(real_page, simple_drawing(k))
    rss_after = real.rss_mb()
    close_page(real_page)
    close_page(bare_page)
    out: dict = {name: stats([a.latency_ms for a in v]) | {"breakdown": breakdown(v),
                                                            "server_cpu_ms_per_drawing": round(cpu_ms[name], 1)}
                 for name, v in answers.items()}
    out["ratio_p50"] = round(out["real"]["p50_ms"] / out["bare"]["p50_ms"], 3)
    out["ratio_p95"] = round(out["real"]["p95_ms"] / out["bare"]["p95_ms"], 3)
    out["rss_mb"] = {"after_page_load": round(rss_loaded), f"after_{predictions}_predictions": round(rss_after),
                     "bare_app_after_its_drawings": round(bare.rss_mb())}
    out["rss_after_predictions_mb"] = round(rss_after)
    return out


def concurrency(browser: Browser, server: Server, users: int, rounds: int, single_p50_ms: float) -> dict:
    """`users` sessions (browser contexts) drawing at once, `rounds` times after a warm-up round
    (a page's first answer also loads the code that shows it)."""
    pages = [new_page(browser, server.url, timeout_s=120) for _ in range(users)]
    lat = []
    cpu = 0.0
    try:
        for r in range(rounds + 1):
            if r == 1:
                cpu = server.cpu_s()
            draw_together(pages, [simple_drawing(r * users + k) for k in range(users)], step_px=None)
            answers = [wait_answer(p, timeout_s=120) for p in pages]
            lat += answers if r else []
            for p in pages:
                clear(p)
            for p in pages:
                wait_cleared(p, timeout_s=120)
        rss = server.rss_mb()
        cpu = server.cpu_s() - cpu
    finally:
        for p in pages:
            close_page(p)
    out = {"users": users, **stats([a.latency_ms for a in lat]), "breakdown": breakdown(lat), "rss_mb": round(rss),
           "server_cpu_ms_per_drawing": round(cpu * 1000 / (users * rounds), 1)}
    out["p95_over_single_p50"] = round(out["p95_ms"] / single_p50_ms, 2)
    return out


# --------------------------------------------------------------------------- report


def checks(r: dict) -> dict:
    got = {
        "ratio_to_bare_p50": r["pen_up"]["ratio_p50"],
        "inprocess_p50_ms": r["inprocess"]["preprocess_and_predict"]["p50_ms"],
        "inprocess_p99_ms": r["inprocess"]["preprocess_and_predict"]["p99_ms"],
        "cold_start_s": r["cold_start"]["median_s"],
        "rss_after_predictions_mb": r["pen_up"]["rss_after_predictions_mb"],
        "concurrent_p95_over_single_p50": r["concurrency"]["p95_over_single_p50"],
    }
    return {k: {"value": v, "target": TARGETS[k], "ok": v <= TARGETS[k]} for k, v in got.items()}


def table(r: dict) -> str:
    m, ip, pu, cs, cc = r["machine"], r["inprocess"], r["pen_up"], r["cold_start"], r["concurrency"]
    cb = r["concurrency_bare"]
    both, pre, pred, base = (ip[k] for k in ("preprocess_and_predict", "preprocess", "predict",
                                               "model_predict_baseline"))
    split = lambda b: " / ".join(f"{v:.0f}" for v in b.values())  # noqa: E731
    rows = [
        ("preprocess + predict, in process", f"p50 {both['p50_ms']:.2f} ms, p99 {both['p99_ms']:.2f} ms "
                                             f"(CPU p50 {both['cpu_p50_ms']:.2f} ms)"),
        ("  preprocess / predict alone", f"p50 {pre['p50_ms']:.2f} / {pred['p50_ms']:.2f} ms "
                                         f"(CPU {pre['cpu_p50_ms']:.2f} / {pred['cpu_p50_ms']:.2f} ms)"),
        ("  model.predict, the baseline", f"p50 {base['p50_ms']:.1f} ms = {ip['speedup_vs_model_predict_p50']}x predict"),
        ("pen-up -> answer, real app", f"p50 {pu['real']['p50_ms']:.0f} ms, p95 {pu['real']['p95_ms']:.0f} ms (n={pu['real']['n']})"),
        ("pen-up -> answer, bare canvas app", f"p50 {pu['bare']['p50_ms']:.0f} ms, p95 {pu['bare']['p95_ms']:.0f} ms (n={pu['bare']['n']})"),
        ("  real / bare", f"p50 {pu['ratio_p50']:.3f}x, p95 {pu['ratio_p95']:.3f}x"),
        ("  server CPU per drawing + clear", f"{pu['real']['server_cpu_ms_per_drawing']:.0f} ms real, "
                                             f"{pu['bare']['server_cpu_ms_per_drawing']:.0f} ms bare"),
        ("  split real (bare), ms", f"canvas wait / to run start / run + render: {split(pu['real']['breakdown'])} "
                                    f"({split(pu['bare']['breakdown'])})"),
        ("cold start: launch -> first answer", f"median {cs['median_s']:.1f} s, max {cs['max_s']:.1f} s "
                                               f"(runs: {', '.join(str(x['first_answer_s']) for x in cs['runs'])})"),
        ("server RSS", ", ".join(f"{k.replace('_', ' ')} {v} MB" for k, v in pu["rss_mb"].items())),
        (f"{cc['users']} sessions at once", f"p50 {cc['p50_ms']:.0f} ms, p95 {cc['p95_ms']:.0f} ms "
                                            f"= {cc['p95_over_single_p50']}x single p50; RSS {cc['rss_mb']} MB; "
                                            f"server CPU {cc['server_cpu_ms_per_drawing']:.0f} ms per drawing + clear"),
        ("  split, ms", f"canvas wait / to run start / run + render: {split(cc['breakdown'])}"),
        (f"{cb['users']} sessions at once, bare app", f"p50 {cb['p50_ms']:.0f} ms, p95 {cb['p95_ms']:.0f} ms "
                                                      f"= {cb['p95_over_single_p50']}x its single p50; server CPU "
                                                      f"{cb['server_cpu_ms_per_drawing']:.0f} ms per drawing + clear"),
    ]
    width = max(len(a) for a, _ in rows)
    lines = [f"bench {r['date']} on {m['cores']} cores, {m['cpu']}; load average {m['load_avg_at_start'][0]:.1f} "
             f"at start, {r['load_avg_at_end'][0]:.1f} at end; model {r['model']['mtime']}", ""]
    lines += [f"{a:<{width}}  {b}" for a, b in rows]
    lines += ["", "targets:"]
    lines += [f"  {'ok  ' if c['ok'] else 'MISS'} {k} = {c['value']} (<= {c['target']})" for k, c in r["checks"].items()]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
