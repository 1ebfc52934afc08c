"""`python -m bench.loadgen`: how many drawings per second one server process answers with the
final answer's p95 within 300 ms, driven by a light load generator instead of browsers.

Each simulated visitor is one websocket session speaking Streamlit's own protocol
(`streamlit.proto`: BackMsg out, ForwardMsg in), sending what the Draw page's browser sends
(recorded from real Chromium with Playwright's `page.on("websocket")`):

- at pen-up, one `rerun_script` BackMsg for the Draw page's fragment with the widget states
  the browser has then: the "Read while I draw" toggle, the companion's final value
  (`{"value": {"v": 1, "sid", "seq", "final": true, "png": <data URL>, "w", "h"}}`) and the
  canvas' own value (`{"drawing": {"raw": <Fabric JSON>, "data": <data URL>}}`), the page's
  script hash, the fragment id and the hashes of the cacheable elements it already holds;
- 1 s after the pen-up, a clear (the canvas' empty value), as people clear between drawings;
- with live reading on as a visitor has it (mode "browser", the default's second mode): the
  toggle on, the page holding the live model (the companion's `model` state names the served
  graph's sha256, so the server sends only that), and no live snapshot: the browser reads while
  the pen moves, the server gets the final picture only;
- with live reading on by the server's route (mode "live": no live model in the browser, or
  `?live_route=server`), in the 2.6 s before the pen-up, 13 live snapshots (the
  median per drawing in bench.live's real-Chromium run), one every 200 ms and one in flight,
  as live_canvas.js does (the next waits for the run of the previous one).

The pictures are real UNIPEN dev digits drawn by digits.render.render_sample (the canvas'
pen, 280x280) and PNG-encoded as RGBA, as the companion's `canvas.toDataURL` does; live
snapshots draw the first part of the strokes, at half the size as the companion sends them.

Latency is from the moment the pen-up was due to the ForwardMsg with the final answer (the
element with `data-testid='prediction'`) received. The offered rate is stepped up (each visitor
lifts the pen at fixed intervals, visitors out of phase) until a step's p95 exceeds 300 ms (a
missed step is run once more: the machine is shared). A visitor waits for each run before
sending the next message (nobody draws twice at once, and in live mode a final waits for the live run in flight, where the browser would send it at once
and Streamlit would stop that run: slightly pessimistic); as latency counts from when the pen-up
was due, a visitor held up by a slow answer counts that wait too. The answers are checked
against the samples' labels. The client is one asyncio thread in its own process (its CPU per
drawing is reported). Writes bench/loadgen.json and prints a table.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import re
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import websockets
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

from digits.render import CANVAS, STROKE_WIDTH, draw, replay_layout

from .browser import streamlit_server
from .measure import heading, machine, now_iso, save, stats
from .samples import VARIANT, dev_samples

OUT = Path(__file__).with_name("loadgen.json")
TARGET_P95_MS = 300.0
ANSWER = "data-testid='prediction' data-verdict"
ANSWER_TEXT = re.compile(r"data-testid='prediction'[^>]*>([^<]*)<")  # the final answer (live guesses carry data-live first)
LIVE_INTERVAL_S = 0.2  # live_canvas.js INTERVAL_MS
LIVE_VALUES = 13  # with live on: snapshots per drawing (bench.live's median in real Chromium)
LIVE_SPAN_S = LIVE_VALUES * LIVE_INTERVAL_S  # ... so the pen moves for this long before pen-up
CLEAR_AFTER_S = 1.0  # pen-up -> the visitor clears (reads the answer first)
TOGGLE_KEY, CANVAS_KEY, COMPANION_KEY = "live_reading", "canvas", "canvas-live"


# --------------------------------------------------------------------------- what the browser sends


def png_url(rgba: np.ndarray) -> str:
    ok, png = cv2.imencode(".png", cv2.cvtColor(rgba, cv2.COLOR_RGBA2BGRA))
    assert ok
    return "data:image/png;base64," + base64.b64encode(png.tobytes()).decode()


def fabric_json(strokes) -> dict:
    """The canvas' own `raw` value (Fabric.js 7 JSON): one Path per stroke, as it sends them."""
    objects = []
    for s in strokes:
        s = np.asarray(s, float)
        lo, hi = s.min(0), s.max(0)
        path = [["M", *map(float, s[0])]] + [["L", *map(float, p)] for p in s[1:]]
        objects.append({"type": "Path", "version": "7.4.0", "originX": "center", "originY": "center",
                        "left": float((lo[0] + hi[0]) / 2), "top": float((lo[1] + hi[1]) / 2),
                        "width": float(hi[0] - lo[0]), "height": float(hi[1] - lo[1]), "fill": None,
                        "stroke": "#FFFFFF", "strokeWidth": STROKE_WIDTH, "strokeLineCap": "round",
                        "strokeLineJoin": "round", "scaleX": 1, "scaleY": 1, "angle": 0, "opacity": 1,
                        "path": path})
    return {"version": "7.4.0", "objects": objects, "background": "#000000"}


@dataclass
class Drawing:
    label: int
    final_png: str
    canvas_value: str  # the canvas' own value, JSON
    live_pngs: list[str]


def drawings(n: int, live_steps: int, live_half: bool = True) -> list[Drawing]:
    out = []
    for i, sample in enumerate(dev_samples(n)):
        strokes = replay_layout(sample.strokes, i, VARIANT)
        final = png_url(draw(strokes, CANVAS, STROKE_WIDTH))
        total = sum(len(s) for s in strokes)
        lives = []
        for k in range(1, live_steps + 1):  # the first k/(steps+1) of the points
            keep, part = round(total * k / (live_steps + 1)), []
            for s in strokes:
                if keep <= 0:
                    break
                part.append(s[:max(2, keep)])
                keep -= len(s)
            live = draw(part, CANVAS, STROKE_WIDTH)
            if live_half:  # as live_canvas.js sends live values: half the size, each side rounded up
                live = cv2.resize(live, (-(-CANVAS // 2),) * 2, interpolation=cv2.INTER_AREA)
            lives.append(png_url(live))
        value = json.dumps({"drawing": {"raw": fabric_json(strokes), "data": final}})
        out.append(Drawing(sample.label, final, value, lives))
    return out


EMPTY_CANVAS = json.dumps({"drawing": {"raw": {"version": "7.4.0", "objects": [], "background": "#000000"},
                                       "data": png_url(np.dstack([np.zeros((CANVAS, CANVAS, 3), np.uint8),
                                                                  np.full((CANVAS, CANVAS), 255, np.uint8)]))}})


# --------------------------------------------------------------------------- one visitor


@dataclass
class Visitor:
    url: str
    ws: object = None
    widget_ids: dict = field(default_factory=dict)  # key -> "$$ID-...-key"
    page_hash: str = ""
    fragment_id: str = ""
    cached: list = field(default_factory=list)  # hashes of cacheable elements of the last run
    sid: str = field(default_factory=lambda: uuid.uuid4().hex[:10])
    seq: int = 0
    toggle: bool = True
    model_sha: str = ""  # browser mode: the live model this page holds (the served graph's sha256)
    waiter: asyncio.Future | None = None
    answer_t: float | None = None
    answer_text: str = ""
    want_answer: bool = False
    right: int = 0

    async def connect(self) -> None:
        ws_url = self.url.replace("http", "ws", 1) + "/_stcore/stream"
        self.ws = await websockets.connect(ws_url, subprotocols=["streamlit"], max_size=None,
                                           compression=None)
        self.reader = asyncio.create_task(self._read())
        await self._rerun({}, first=True)  # the first page load: no widget states
        missing = {TOGGLE_KEY, CANVAS_KEY, COMPANION_KEY} - set(self.widget_ids)
        if missing or not self.fragment_id:
            raise RuntimeError(f"the Draw page's first run did not show {sorted(missing) or 'its fragment'}"
                               " (an exception on the page? the server log says)")

    async def _read(self) -> None:
        run_cached: list = []
        async for raw in self.ws:
            msg = ForwardMsg()
            msg.ParseFromString(raw)
            kind = msg.WhichOneof("type")
            if kind == "delta":
                if msg.metadata.cacheable:
                    run_cached.append(msg.hash)
                element = msg.delta.new_element
                which = element.WhichOneof("type") if msg.delta.WhichOneof("type") == "new_element" else None
                if which:
                    wid = getattr(getattr(element, which), "id", "")
                    if isinstance(wid, str) and wid.startswith("$$ID-"):
                        for key in (TOGGLE_KEY, CANVAS_KEY, COMPANION_KEY):
                            if wid.endswith("-" + key):
                                self.widget_ids[key] = wid
                                self.page_hash = msg.metadata.active_script_hash
                                self.fragment_id = msg.delta.fragment_id or self.fragment_id
                    if self.want_answer and which == "markdown" and ANSWER in element.markdown.body:
                        self.want_answer = False
                        self.answer_text = ANSWER_TEXT.search(element.markdown.body).group(1)
                        self._done("answer")
            elif kind == "script_finished":
                self.cached = run_cached[-8:]
                run_cached = []
                self._done("finished")

    def _done(self, what: str) -> None:
        if what == "answer":
            self.answer_t = time.perf_counter()
        elif self.waiter and not self.waiter.done():
            self.waiter.set_result(time.perf_counter())

    async def _rerun(self, widgets: dict, first: bool = False, timeout: float = 60) -> float:
        """Send a rerun with these widget states; wait until its run finished (returns when)."""
        msg = BackMsg()
        rs = msg.rerun_script
        rs.context_info.timezone = "UTC"
        rs.context_info.locale = "en-US"
        rs.context_info.url = self.url + "/"
        if not first:
            rs.page_script_hash = self.page_hash
            rs.fragment_id = self.fragment_id
            rs.cached_message_hashes.extend(self.cached)
            for key, value in widgets.items():
                w = rs.widget_states.widgets.add()
                w.id = self.widget_ids[key]
                if isinstance(value, bool):
                    w.bool_value = value
                else:
                    w.json_value = value
        self.waiter = asyncio.get_running_loop().create_future()
        self.answer_t = None
        await self.ws.send(msg.SerializeToString())
        return await asyncio.wait_for(self.waiter, timeout)

    def _companion(self, png: str, final: bool) -> str:
        self.seq += 1
        state = {"value": {"v": 1, "sid": self.sid, "seq": self.seq, "final": final, "png": png,
                           "w": CANVAS, "h": CANVAS}}
        if self.model_sha:
            state["model"] = {"sha": self.model_sha, "ok": True}
        return json.dumps(state)

    async def drawing(self, d: Drawing, live: bool, due: float) -> tuple[float, float]:
        """Pen-up at `due` (perf_counter); with live, live snapshots every LIVE_INTERVAL_S in the
        LIVE_SPAN_S before it, one in flight. Returns (pen-up -> answer, pen-up -> final sent), s."""
        if live:
            for k, png in enumerate(d.live_pngs):
                t = due - LIVE_SPAN_S + k * LIVE_INTERVAL_S
                if t > due - LIVE_INTERVAL_S / 2:
                    break
                await asyncio.sleep(max(0.0, t - time.perf_counter()))
                await self._rerun({TOGGLE_KEY: True, COMPANION_KEY: self._companion(png, False)})
        await asyncio.sleep(max(0.0, due - time.perf_counter()))
        self.want_answer = True
        sent = time.perf_counter()
        await self._rerun({TOGGLE_KEY: live or self.toggle, COMPANION_KEY: self._companion(d.final_png, True),
                           CANVAS_KEY: d.canvas_value})
        if self.answer_t is None:
            raise RuntimeError("the run finished without a final answer")
        self.right += self.answer_text == str(d.label)
        return self.answer_t - due, sent - due

    async def clear(self, live: bool) -> None:
        await self._rerun({TOGGLE_KEY: live or self.toggle, CANVAS_KEY: EMPTY_CANVAS})

    async def close(self) -> None:
        await self.ws.close()
        self.reader.cancel()


# --------------------------------------------------------------------------- a step of load


async def step(visitors: list[Visitor], pics: list[Drawing], rate: float, seconds: float, live: bool) -> dict:
    """Every visitor lifts the pen every len(visitors)/rate s (visitors out of phase) for
    `seconds`, clearing CLEAR_AFTER_S after each pen-up. Latency counts from when the pen-up was due, so a
    visitor held up by its previous drawing's slow answer counts that wait too."""
    period = len(visitors) / rate
    if period < (LIVE_SPAN_S if live else 0.0) + CLEAR_AFTER_S + 0.2:
        print(f"  (warning: {len(visitors)} visitors at {rate:g}/s draw every {period:.1f} s, too often for "
              "one person: use more --visitors)", flush=True)
    lat: list[float] = []
    lag: list[float] = []
    t0 = time.perf_counter() + (LIVE_SPAN_S if live else 0.0)
    end = t0 + seconds

    async def run(k: int, v: Visitor) -> None:
        due = t0 + period * k / len(visitors)
        i = k
        while due < end:
            answer, sent = await v.drawing(pics[i % len(pics)], live, due)
            lat.append(answer)
            lag.append(sent)
            i += len(visitors)
            await asyncio.sleep(max(0.0, due + CLEAR_AFTER_S - time.perf_counter()))
            await v.clear(live)
            due += period

    right0 = sum(v.right for v in visitors)
    await asyncio.gather(*(run(k, v) for k, v in enumerate(visitors)))
    right = sum(v.right for v in visitors) - right0
    s = stats([x * 1000 for x in lat])
    late = stats([x * 1000 for x in lag])
    return {"offered_per_s": rate, "drawings_per_s": round(len(lat) / seconds, 2), **s,
            "pen_up_late_p95_ms": late["p95_ms"], "read_right": right,
            "ok": bool(lat) and s["p95_ms"] <= TARGET_P95_MS}


async def sweep(url: str, rates: list[float], seconds: float, visitors_n: int, live: bool,
                server_cpu=None, live_half: bool = True, browser: bool = False) -> dict:
    """`live`: live snapshots to the server; `browser`: live on, read by the page's live model
    (finals only, the model confirmed as the page does)."""
    pics = drawings(20, LIVE_VALUES, live_half)
    visitors = [Visitor(url, toggle=live or browser) for _ in range(visitors_n)]
    if browser:
        from digits.inference import file_sha256
        from digits.model import MODEL_PATH

        for v in visitors:
            v.model_sha = file_sha256(MODEL_PATH)
    for v in visitors:  # one at a time: each first page load is a full script run
        await v.connect()
    for v in visitors:  # the live toggle as the page sets it, then warm each session up
        await v._rerun({TOGGLE_KEY: v.toggle})
        await v.drawing(pics[0], False, time.perf_counter())
        await v.clear(live)
    steps, best = [], 0.0
    for rate in rates:
        for attempt in (1, 2):  # a miss is run once more: the machine is shared (noise)
            c0, w0, t0 = (server_cpu() if server_cpu else 0.0), time.process_time(), time.perf_counter()
            r = await step(visitors, pics, rate, seconds, live)
            wall = time.perf_counter() - t0
            if server_cpu:
                used = server_cpu() - c0
                r["server_cpu_ms_per_drawing"] = round(used * 1000 / max(1, r["n"]), 1)
                r["server_cores_used"] = round(used / wall, 2)
            r["loadgen_cpu_ms_per_drawing"] = round((time.process_time() - w0) * 1000 / max(1, r["n"]), 1)
            r["load_avg"] = round(os.getloadavg()[0], 2)
            r["attempt"] = attempt
            steps.append(r)
            print(f"  {'live' if live else 'browser' if browser else 'final'}: {r['drawings_per_s']:5.1f} drawings/s "
                  f"p50 {r['p50_ms']:6.0f} ms p95 {r['p95_ms']:6.0f} ms, server {r.get('server_cores_used', 0):.2f} "
                  f"cores, load {r['load_avg']:.1f} {'ok' if r['ok'] else 'MISS'}", flush=True)
            if r["ok"]:
                break
        if not r["ok"]:
            break
        best = rate
    for v in visitors:
        await v.close()
    return {"visitors": visitors_n, "live": live, "browser": browser, "step_seconds": seconds, "max_ok_per_s": best,
            "steps": steps}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.loadgen", description=__doc__.split("\n\n")[0])
    p.add_argument("--url", help="a running server (default: start app.py on a free port)")
    p.add_argument("--visitors", type=int, default=60, help="websocket sessions (default 60)")
    p.add_argument("--rates", default="1,2,3,4,6,8,10,12,15,18,22,26,30,35,40,50",
                   help="offered drawings/s, stepped up until a step misses (default 1..50)")
    p.add_argument("--seconds", type=float, default=8, help="seconds per step (default 8)")
    p.add_argument("--modes", default="final,browser,live",
                   help="final (live off), browser (live on, read in the browser: finals only), "
                        "live (live on by the server's route: live snapshots too)")
    p.add_argument("--out", type=Path, default=OUT)
    args = p.parse_args(argv)
    rates = [float(x) for x in args.rates.split(",")]
    res: dict = {"date": now_iso(), "machine": machine(), "args": vars(args) | {"out": str(args.out)},
                 "target_p95_ms": TARGET_P95_MS}
    t0 = time.monotonic()

    def run(url, cpu):
        for mode in args.modes.split(","):
            res[mode] = asyncio.run(sweep(url, rates, args.seconds, args.visitors, mode == "live", cpu,
                                          browser=mode == "browser"))

    if args.url:
        run(args.url.rstrip("/"), None)
    else:
        with streamlit_server("app.py") as server:
            run(server.url, server.cpu_s)
    save(res, t0, args.out)
    print(table(res))
    return 0


def table(r: dict) -> str:
    lines = [heading(r, "bench.loadgen"), ""]
    for mode in ("final", "browser", "live"):
        if mode not in r:
            continue
        x = r[mode]
        ok = [s for s in x["steps"] if s["ok"]]
        last = ok[-1] if ok else None
        what = {"final": "live reading off", "browser": "live reading on, in the browser (finals only)",
                "live": f"live reading on by the server's route ({LIVE_VALUES} live values per drawing)"}[mode]
        lines.append(f"one process, {x['visitors']} websocket visitors, {what}: "
                     f"{x['max_ok_per_s']:g} drawings/s with final-answer p95 <= {r['target_p95_ms']:.0f} ms"
                     + (f" (p50 {last['p50_ms']:.0f} / p95 {last['p95_ms']:.0f} ms, server CPU "
                        f"{last.get('server_cpu_ms_per_drawing', float('nan')):.0f} ms per drawing + clear, "
                        f"the server using {last.get('server_cores_used', float('nan')):.2f} cores)"
                        if last else ""))
        miss = x["steps"][-1]
        if not miss["ok"]:
            lines.append(f"  first miss: {miss['offered_per_s']:g} drawings/s, p50 {miss['p50_ms']:.0f} ms, "
                         f"p95 {miss['p95_ms']:.0f} ms")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
