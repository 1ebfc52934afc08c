"""`python -m bench.event` (`make bench-event`): drawings/s answered with final-answer p95 <= 300 ms
through HAProxy (deploy/event.py) with 1 and then 2 app processes, in one run, live reading on as
a visitor has it (read in the browser: the server gets finals only);
the ladder climbs past what one process answers (~50/s), so 1 vs 2 processes is a real figure.

The load is bench.loadgen's (websocket visitors speaking Streamlit's protocol, each lifting the
pen at fixed intervals, stepped up until a step misses), sent to the proxy's address: HAProxy
spreads the visitors' websockets over the processes (leastconn). The server CPU is the app
processes' and HAProxy's, read from /proc; the load generator's own CPU per drawing is
reported too (it shares the 2 cores). Writes bench/event.json and prints a table.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from pathlib import Path

from deploy.event import Event, free_port

from .loadgen import TARGET_P95_MS, sweep
from .measure import heading, machine, now_iso, save

OUT = Path(__file__).with_name("event.json")


def cpu_s(pid: int) -> float:
    """CPU seconds a process has used (user + system); 0 once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(workers: int, rates: list[float], seconds: float, visitors: int) -> dict:
    event = Event(workers, "127.0.0.1", free_port())
    event.start()
    try:
        if not event.wait_ready():
            raise RuntimeError(f"the app processes did not start: see {event.logs}")
        pids = [event.proxy.pid, *(r.proc.pid for r in event.replicas)]
        # Live reading on, as a visitor has it: the browser reads while the pen moves.
        result = asyncio.run(sweep(f"http://127.0.0.1:{event.port}", rates, seconds, visitors, False,
                                   lambda: sum(map(cpu_s, pids)), browser=True))
    finally:
        event.stop()
    return {"workers": workers, **result}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.event", description=__doc__.split("\n\n")[0])
    p.add_argument("--workers", default="1,2", help="process counts to measure, in order (default 1,2)")
    p.add_argument("--visitors", type=int, default=60, help="websocket sessions (default 60)")
    p.add_argument("--rates", default="8,12,16,20,24,28,32,36,40,45,50,60,70,80,90,100,120",
                   help="offered drawings/s, stepped up until a step misses")
    p.add_argument("--seconds", type=float, default=6, help="seconds per step (default 6)")
    p.add_argument("--out", type=Path, default=OUT)
    args = p.parse_args(argv)
    rates = [float(x) for x in args.rates.split(",")]
    res: dict = {"date": now_iso(), "machine": machine(), "args": vars(args) | {"out": str(args.out)},
                 "target_p95_ms": TARGET_P95_MS, "runs": []}
    t0 = time.monotonic()
    for workers in (int(w) for w in args.workers.split(",")):
        print(f"{workers} process(es) behind HAProxy:", flush=True)
        res["runs"].append(measure(workers, rates, args.seconds, args.visitors))
    save(res, t0, args.out)
    print(table(res))
    return 0


def table(r: dict) -> str:
    lines = [heading(r, "bench.event"), "",
             "| processes | drawings/s at p95 <= 300 ms | p50 / p95 at that rate | server CPU per drawing + clear "
             "| server cores used | load generator CPU per drawing | load average |",
             "|---|---|---|---|---|---|---|"]
    for run in r["runs"]:
        ok = [s for s in run["steps"] if s["ok"]]
        last = ok[-1] if ok else None
        if last is None:
            lines.append(f"| {run['workers']} | none | | | | | |")
            continue
        lines.append(f"| {run['workers']} | {run['max_ok_per_s']:g} (measured {last['drawings_per_s']:g}) | "
                     f"{last['p50_ms']:.0f} / {last['p95_ms']:.0f} ms | {last['server_cpu_ms_per_drawing']:.0f} ms | "
                     f"{last['server_cores_used']:.2f} | {last['loadgen_cpu_ms_per_drawing']:.0f} ms | {last['load_avg']:.1f} |")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
