"""`python -m deploy.event` (`make event`): the app on every core, for an event.

One Streamlit process uses about one core (the GIL), so N processes (default: one per core) run
on free localhost ports behind HAProxy on one address (default 0.0.0.0:8501, so phones and
kiosks on the network reach it). HAProxy (deploy/haproxy.cfg) passes websockets through, keeps
each visitor on one process with a cookie, checks /_stcore/health every second and takes out a
process that fails; this launcher restarts a process that exits (backing off if it keeps dying),
and HAProxy brings it back once healthy. Its visitors reconnect to another process at once
(their page reloads its session there).

It says `ready:` only once HAProxy itself reports every process UP (its stats socket), so the
first visitor never meets a 503. However it is stopped — Ctrl+C, SIGTERM, SIGHUP (a closed
terminal or dropped SSH session), or `make`, its parent, exiting on a signal (GNU make forwards
only SIGTERM to its children) — it stops every process it started, frees the port and removes
its temporary folder of logs.

Every process gets the same `server.cookieSecret` (STREAMLIT_SERVER_COOKIE_SECRET: kept if set,
else a random one per event), so the XSRF cookie of an upload is valid on any of them. Feedback
and scores: the processes share DIGITS_FEEDBACK_DB (a SQLite file on this machine handles
several processes; set a postgresql:// URL for several machines).
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CONFIG = Path(__file__).with_name("haproxy.cfg")
POLL_S = 0.2  # how often dead processes are looked for
QUICK_DEATH_S = 10.0  # a process dying sooner than this after its start counts towards backing off
BACKOFF_S = (0.0, 1.0, 2.0, 5.0, 10.0, 30.0)  # restart delays after 0, 1, 2... quick deaths in a row
STOP_WAIT_S = 10.0


@dataclass
class Replica:
    name: str  # HAProxy's server name, also the value of the affinity cookie
    port: int
    log: Path
    proc: subprocess.Popen | None = None
    started: float = 0.0
    quick_deaths: int = 0
    due: float = 0.0  # time.monotonic() at which to (re)start it
    warm: threading.Event = field(default_factory=threading.Event)


@dataclass
class Event:
    workers: int
    host: str = "0.0.0.0"
    port: int = 8501
    app: str = "app.py"
    haproxy: str = ""
    logs: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="digits-event-")))
    replicas: list[Replica] = field(default_factory=list)
    proxy: subprocess.Popen | None = None
    stopping: bool = False

    def __post_init__(self) -> None:
        self.parent = ParentWatch()
        self.haproxy = self.haproxy or haproxy_binary()
        self.env = dict(os.environ)
        self.env.setdefault("STREAMLIT_SERVER_COOKIE_SECRET", secrets.token_urlsafe(32))
        self.replicas = [Replica(f"app{i + 1}", free_port(), self.logs / f"app{i + 1}.log")
                         for i in range(self.workers)]

    # ------------------------------------------------------------------ start and stop

    @property
    def stats_socket(self) -> Path:
        return self.logs / "haproxy.sock"

    def start(self) -> None:
        """The app processes, then HAProxy (after `wait_ready` has them warm: its first health
        checks then pass, and it never marks a process DOWN that was only starting)."""
        config = self.logs / "haproxy.cfg"
        config.write_text(render_config(f"{self.host}:{self.port}", self.replicas, self.stats_socket))
        check = subprocess.run([self.haproxy, "-c", "-q", "-f", str(config)], capture_output=True, text=True)
        if check.returncode:
            raise RuntimeError(f"HAProxy refused {config}:\n{check.stdout}{check.stderr}")
        for r in self.replicas:
            self._start(r)

    def _start_proxy(self) -> None:
        with (self.logs / "haproxy.log").open("w") as out:
            self.proxy = subprocess.Popen([self.haproxy, "-db", "-f", str(self.logs / "haproxy.cfg")], stdout=out,
                                          stderr=subprocess.STDOUT, start_new_session=True)
        say(f"haproxy: pid {self.proxy.pid} on {self.host}:{self.port}")

    def _start(self, r: Replica) -> None:
        cmd = [sys.executable, "-m", "streamlit", "run", self.app, "--server.port", str(r.port),
               "--server.address", "127.0.0.1", "--server.headless", "true"]
        with r.log.open("a") as out:  # own session: the terminal's Ctrl+C reaches the launcher only
            r.proc = subprocess.Popen(cmd, cwd=REPO, env=self.env, stdout=out, stderr=subprocess.STDOUT,
                                      start_new_session=True)
        r.started = time.monotonic()
        r.warm = threading.Event()
        threading.Thread(target=warm_up, args=(r.port, r.proc, r.warm), daemon=True).start()
        say(f"{r.name}: pid {r.proc.pid} on 127.0.0.1:{r.port}")

    def wait_ready(self, timeout_s: float = 120) -> bool:
        """True once every process has run the app once and HAProxy routes to every one of them
        (HAProxy is started here, once they are warm)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and not self.stopping and not self.parent.exiting():
            if self.proxy is None and all(r.warm.is_set() for r in self.replicas):
                self._start_proxy()
            if self.proxy is not None and self.routed() == {r.name for r in self.replicas}:
                return True
            self.supervise_once()
            time.sleep(POLL_S)
        return False

    def routed(self) -> set[str]:
        """The processes HAProxy reports UP (it sends visitors to these), from its stats socket."""
        names = {r.name for r in self.replicas}
        return {row["svname"] for row in haproxy_stats(self.stats_socket)
                if row.get("svname") in names and row.get("status", "").startswith("UP")}

    def stop(self) -> None:
        """SIGTERM to every process group we started, SIGKILL to what is left after STOP_WAIT_S."""
        procs = [p for p in [self.proxy, *(r.proc for r in self.replicas)] if p is not None]
        for p in procs:
            signal_group(p, signal.SIGTERM)
        deadline = time.monotonic() + STOP_WAIT_S
        for p in procs:
            try:
                p.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                signal_group(p, signal.SIGKILL)
                p.wait(5)

    # ------------------------------------------------------------------ supervision

    def supervise_once(self) -> None:
        """Restart processes that exited (after their back-off); raise if HAProxy exited."""
        if self.proxy is not None and self.proxy.poll() is not None:
            raise RuntimeError(f"HAProxy exited with {self.proxy.returncode}:\n"
                               + tail(self.logs / "haproxy.log"))
        now = time.monotonic()
        for r in self.replicas:
            if r.proc is not None and r.proc.poll() is not None:
                lived = now - r.started
                r.quick_deaths = r.quick_deaths + 1 if lived < QUICK_DEATH_S else 0
                r.due = now + BACKOFF_S[min(r.quick_deaths, len(BACKOFF_S) - 1)]
                say(f"{r.name}: pid {r.proc.pid} exited with {r.proc.returncode} after {lived:.0f} s; "
                    f"restarting in {r.due - now:.0f} s (its visitors go to the others). Log: {r.log}\n"
                    + tail(r.log, 8))
                r.proc = None
            if r.proc is None and now >= r.due:
                self._start(r)

    def run(self) -> int:
        """Start, serve until stopped (a signal, or the parent `make` exiting), stop everything
        and remove the logs folder. 0, or 1 if HAProxy died."""
        def on_signal(signum, frame) -> None:
            self.stopping = True

        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, on_signal)
        code = 0
        try:
            self.start()
            if self.wait_ready():
                shown = "localhost" if self.host in ("0.0.0.0", "::") else self.host
                say(f"ready: http://{shown}:{self.port} ({self.workers} processes behind HAProxy; "
                    f"logs in {self.logs}). Ctrl+C stops everything.")
            elif not self.stopping and not self.parent.exiting():
                say(f"not every process answers its health check yet: see the logs in {self.logs}")
            while not self.stopping:
                self.supervise_once()
                if self.parent.exiting():
                    say("make, which started this, is exiting: stopping")
                    break
                time.sleep(POLL_S)
        except RuntimeError as exc:
            say(f"error: {exc}")
            code = 1
        finally:
            say("stopping...")
            self.stop()
            shutil.rmtree(self.logs, ignore_errors=True)
            say("stopped.")
        return code


# --------------------------------------------------------------------------- helpers


def render_config(bind: str, replicas: list[Replica], stats: Path) -> str:
    """deploy/haproxy.cfg with its bind address, stats socket and one server line per process."""
    text = CONFIG.read_text()
    servers = "\n".join(f"    server {r.name} 127.0.0.1:{r.port} cookie {r.name}" for r in replicas)
    if "@BIND@" not in text or "@STATS@" not in text or "    # SERVERS" not in text:
        raise RuntimeError(f"{CONFIG} lost its @BIND@, @STATS@ or '# SERVERS' marker")
    return text.replace("@BIND@", bind).replace("@STATS@", str(stats)).replace("    # SERVERS", servers)


def haproxy_stats(path: Path) -> list[dict]:
    """HAProxy's `show stat` (one row per frontend, backend and server), [] if it does not answer."""
    try:
        with socket.socket(socket.AF_UNIX) as s:
            s.settimeout(2)
            s.connect(str(path))
            s.sendall(b"show stat\n")
            data = b"".join(iter(lambda: s.recv(65536), b""))
    except OSError:
        return []
    text = data.decode(errors="replace").lstrip("# ")
    return list(csv.DictReader(io.StringIO(text)))


class ParentWatch:
    """Tells when the parent process is going away. GNU make, on SIGINT or SIGHUP, forwards
    nothing to its children: it resets that signal to its default action and waits for them.
    So: the parent is gone, or it no longer catches a signal it caught when we started."""

    WATCHED = (signal.SIGINT, signal.SIGHUP, signal.SIGTERM)

    def __init__(self) -> None:
        self.ppid = os.getppid()
        # Only make's handlers say this (a shell may change its own while it waits for a job).
        self.caught = self._caught() if self._name() == "make" else set()

    def _name(self) -> str:
        try:
            return Path(f"/proc/{self.ppid}/comm").read_text().strip()
        except OSError:
            return ""

    def _caught(self) -> set[int]:
        try:
            for line in Path(f"/proc/{self.ppid}/status").read_text().splitlines():
                if line.startswith("SigCgt:"):
                    mask = int(line.split()[1], 16)
                    return {s for s in self.WATCHED if mask >> (s - 1) & 1}
        except (OSError, ValueError):
            pass
        return set()

    def exiting(self) -> bool:
        if os.getppid() != self.ppid:
            return True
        return bool(self.caught) and not self.caught <= self._caught()


def haproxy_binary() -> str:
    # Debian installs it in /usr/sbin, which is not on a normal user's PATH.
    found = shutil.which("haproxy") or shutil.which("haproxy", path="/usr/sbin:/usr/local/sbin")
    if not found:
        raise SystemExit("HAProxy not found: `sudo apt-get install haproxy` (make event does it as root)")
    return found


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as r:
            return r.read() == b"ok"
    except OSError:
        return False


def warm_up(port: int, proc: subprocess.Popen, done: threading.Event, timeout_s: float = 120) -> None:
    """Once the process is healthy, run the app once in a session of its own: the model and the
    pages load now rather than in the first visitor's page (measured: ~2.5 s on a busy 2-core
    machine, most of the time a visitor moved off a dead process waited)."""
    deadline = time.monotonic() + timeout_s
    while not healthy(f"http://127.0.0.1:{port}"):
        if proc.poll() is not None or time.monotonic() > deadline:
            return
        time.sleep(POLL_S)  # its cold start: nothing to wait on but the health check
    from streamlit.proto.BackMsg_pb2 import BackMsg
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
    from websockets.sync.client import connect

    msg = BackMsg()
    msg.rerun_script.context_info.timezone = "UTC"
    msg.rerun_script.context_info.url = f"http://127.0.0.1:{port}/"
    try:
        with connect(f"ws://127.0.0.1:{port}/_stcore/stream", subprotocols=["streamlit"],
                     max_size=None, open_timeout=10) as ws:
            ws.send(msg.SerializeToString())
            while time.monotonic() < deadline:
                reply = ForwardMsg()
                reply.ParseFromString(ws.recv(timeout=max(0.1, deadline - time.monotonic())))
                if reply.WhichOneof("type") == "script_finished":
                    break
    except Exception as exc:  # noqa: BLE001 - whatever went wrong, a cold start is only slower
        say(f"warm-up of 127.0.0.1:{port} failed ({exc}); its first visitor waits for the model instead")
    done.set()


def signal_group(proc: subprocess.Popen, signum: int) -> None:
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signum)
        except ProcessLookupError:
            pass


def tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join("    " + line for line in path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def say(text: str) -> None:
    """A line for the terminal; a terminal that is gone (EIO, EPIPE) must not stop the cleanup."""
    try:
        print(f"[event {time.strftime('%H:%M:%S')}] {text}", flush=True)
    except OSError:
        pass


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m deploy.event", description=__doc__.split("\n\n")[0])
    p.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                   help="app processes (default: one per core, %(default)s here)")
    p.add_argument("--host", default="0.0.0.0", help="address HAProxy listens on (default 0.0.0.0: the network)")
    p.add_argument("--port", type=int, default=8501, help="port HAProxy listens on (default 8501)")
    p.add_argument("--app", default="app.py", help=argparse.SUPPRESS)  # the benchmarks' bare app
    args = p.parse_args(argv)
    if args.workers < 1:
        p.error("--workers must be at least 1")
    return Event(args.workers, args.host, args.port, args.app).run()


if __name__ == "__main__":
    sys.exit(main())
