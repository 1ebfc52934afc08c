"""A throwaway PostgreSQL server for the tests: Debian's packaged binaries, a cluster in a
temporary folder, one database per test, stopped and deleted at the end of the session.

`make test` installs the `postgresql` package first (apt-get, as root). Where the binaries are
missing the PostgreSQL tests are skipped with a message saying so; everything else runs.
PostgreSQL refuses to run as root: as root the cluster runs as the `postgres` user.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from bench.browser import free_port

MISSING = ("PostgreSQL is not installed (no initdb under /usr/lib/postgresql/*/bin): "
           "`make test` installs it as root, or run `apt-get install postgresql`")


def binaries() -> Path | None:
    """The newest installed server's bin folder (Debian keeps them out of PATH)."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name))
    return found[-1].parent if found else None


@contextmanager
def throwaway_server() -> Iterator[str]:
    """Start a cluster on a free localhost port; yields the URL of its `postgres` database."""
    bin_dir = binaries()
    if bin_dir is None:
        pytest.skip(MISSING)
    as_user: list[str] = []
    folder = Path(tempfile.mkdtemp(prefix="digits-pg-"))
    if os.geteuid() == 0:
        try:
            owner = pwd.getpwnam("postgres")
        except KeyError:
            shutil.rmtree(folder)
            pytest.skip("PostgreSQL refuses to run as root and there is no `postgres` user to run it as")
        os.chown(folder, owner.pw_uid, owner.pw_gid)
        as_user = ["runuser", "-u", "postgres", "--"]
    data, port = folder / "data", free_port()

    def run(*cmd: str) -> None:
        subprocess.run([*as_user, *cmd], check=True, capture_output=True, timeout=120)

    try:
        run(str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust", "-E", "UTF8",
            "--no-sync")
        run(str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(folder / "log"), "-w", "-t", "60", "start",
            "-o", f"-c listen_addresses=127.0.0.1 -p {port} -c unix_socket_directories={folder}")
        try:
            yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
        finally:
            run(str(bin_dir / "pg_ctl"), "-D", str(data), "-w", "-m", "fast", "stop")
    except subprocess.CalledProcessError as exc:
        log = folder / "log"
        raise RuntimeError(f"{exc.cmd[len(as_user)]} failed: {exc.stderr.decode(errors='replace')}"
                           + (log.read_text(errors="replace") if log.exists() else "")) from None
    finally:
        shutil.rmtree(folder, ignore_errors=True)


_running: list[str] = []  # test modules import the fixture each: one server for the whole session


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    if _running:
        yield _running[0]
        return
    with throwaway_server() as url:
        _running.append(url)
        try:
            yield url
        finally:
            _running.clear()


@pytest.fixture
def postgres_url(postgres_server: str) -> Iterator[str]:
    """A fresh, empty database of this test's own on the session's server."""
    import psycopg

    name = "t_" + uuid.uuid4().hex[:12]
    with psycopg.connect(postgres_server, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    yield postgres_server.rsplit("/", 1)[0] + "/" + name
    with psycopg.connect(postgres_server, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE {name} WITH (FORCE)")
