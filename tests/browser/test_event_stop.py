"""`make event` is ready when it says so and stops however it is told: for each way (Ctrl+C,
SIGTERM, SIGHUP, a terminal that closed, SIGINT to `make`'s own PID) the launcher ends every
process it started, frees the port and removes its temporary folder. Real HAProxy, real app."""

from __future__ import annotations

import os
import re
import select
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from bench.browser import free_port
from tests.browser.test_event import STARTED, alive, haproxy_or_skip
from tests.conftest import REPO

pytestmark = pytest.mark.browser

READY = re.compile(r"ready: .* logs in (\S+)\)")


class Terminal:
    """The launcher's output, read the way a terminal does; `close` is the terminal going away:
    the launcher's next write fails (EPIPE), as after a dropped SSH session."""

    def __init__(self) -> None:
        self.read_fd, self.write_fd = os.pipe()
        self.lines: list[str] = []
        self.open = threading.Event()
        self.open.set()
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        buf = b""
        while self.open.is_set():
            if select.select([self.read_fd], [], [], 0.1)[0]:
                chunk = os.read(self.read_fd, 4096)
                if not chunk:
                    break
                buf += chunk
                *done, buf = buf.split(b"\n")
                self.lines += [line.decode(errors="replace") + "\n" for line in done]

    def close(self) -> None:
        self.open.clear()
        self.thread.join(5)
        os.close(self.read_fd)


def start(how: str, port: int) -> tuple[subprocess.Popen, Terminal]:
    if how == "make":
        cmd = ["make", "-s", "event", "WORKERS=1", f"PORT={port}"]
    else:
        cmd = [sys.executable, "-m", "deploy.event", "--workers", "1", "--host", "127.0.0.1", "--port", str(port)]
    terminal = Terminal()
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=terminal.write_fd, stderr=subprocess.STDOUT,
                            start_new_session=True)  # no terminal's signals but ours
    os.close(terminal.write_fd)
    return proc, terminal


def wait_line(lines: list[str], pattern: re.Pattern, proc: subprocess.Popen, timeout_s: float = 120) -> re.Match:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for line in list(lines):
            if m := pattern.search(line):
                return m
        assert proc.poll() is None, "the launcher ended:\n" + "".join(lines)
        time.sleep(0.05)  # the launcher's output, read by a thread
    raise AssertionError("no ready line:\n" + "".join(lines))


def port_free(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


@pytest.mark.parametrize("how", ["ctrl-c", "sigterm", "sighup", "closed-terminal", "make"])
def test_ready_means_routed_and_every_stop_ends_everything(how: str) -> None:
    haproxy_or_skip()
    port = free_port()
    proc, terminal = start(how, port)
    lines = terminal.lines
    try:
        logs = Path(wait_line(lines, READY, proc)[1])
        # Ready means HAProxy routes: the first request through it is served, not a 503.
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=5) as r:
            assert r.status == 200 and r.read() == b"ok"
        assert "DOWN" not in (logs / "haproxy.log").read_text(), "HAProxy never saw a process down"
        pids = [int(m[2]) for m in map(STARTED.search, list(lines)) if m]
        assert len(pids) == 2 and all(alive(p) for p in pids)

        if how == "make":  # make forwards no SIGINT to its children: the launcher notices
            proc.send_signal(signal.SIGINT)
        elif how == "closed-terminal":  # the terminal goes first, then its hang-up
            terminal.close()
            proc.send_signal(signal.SIGHUP)
        else:
            proc.send_signal({"ctrl-c": signal.SIGINT, "sigterm": signal.SIGTERM, "sighup": signal.SIGHUP}[how])
        proc.wait(30)
        deadline = time.monotonic() + 15
        while any(alive(p) for p in pids) and time.monotonic() < deadline:
            time.sleep(0.1)  # the launcher's own stop waits up to 10 s per process group
        assert not [p for p in pids if alive(p)], "processes left behind"
        assert port_free(port), "the port is still held"
        assert not logs.exists(), "the temporary folder is left behind"
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        if terminal.open.is_set():
            terminal.close()
