"""Visitors' corrections, kept in a local SQLite file so they can be trained on later.

What is stored: the 28x28 model input, the canvas strokes (Fabric JSON), the predicted and the
confirmed label, the model version and a UTC timestamp. Nothing else: no IP, no session id,
no name. The challenge's leaderboard (digits.features.challenge) lives in the same file.

Safe across Streamlit sessions (threads) and processes: WAL journal, a busy timeout, and one
short BEGIN IMMEDIATE transaction per write on a connection of its own. synchronous=FULL makes
a committed row survive a killed process and a power cut alike; writes are rare (one per click).

Settings (the operator's, never a visitor's):
- DIGITS_FEEDBACK=1/0 turns collection on/off. Default on, except on Streamlit Community Cloud,
  whose disk is not persistent (a reboot or redeploy would silently lose what visitors gave).
- DIGITS_FEEDBACK_DB: the database file. Default $XDG_DATA_HOME/digits/feedback.sqlite3
  (~/.local/share/...), outside the repo so git and Streamlit's file watcher never see it.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from collections.abc import Iterator, Mapping
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path

import numpy as np

from digits.data import DataError

BUSY_TIMEOUT_MS = 15_000  # a writer waits this long for another's transaction before giving up

SCHEMA = (
    """CREATE TABLE IF NOT EXISTS feedback (
    id            INTEGER PRIMARY KEY,
    created_utc   TEXT    NOT NULL,                       -- ISO 8601, seconds
    image         BLOB    NOT NULL,                       -- 28x28 float32 little-endian, [0, 1]
    strokes       TEXT,                                   -- canvas Fabric JSON, when there was one
    predicted     INTEGER NOT NULL CHECK (predicted BETWEEN 0 AND 9),
    confirmed     INTEGER NOT NULL CHECK (confirmed BETWEEN 0 AND 9),
    model_version TEXT    NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS scores (
    id            INTEGER PRIMARY KEY,
    created_utc   TEXT    NOT NULL,
    day           TEXT    NOT NULL,                       -- the server's local date, YYYY-MM-DD
    name          TEXT    NOT NULL,
    score         INTEGER NOT NULL,
    rounds        INTEGER NOT NULL,
    seconds       REAL    NOT NULL,
    model_version TEXT    NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS scores_day ON scores (day, score DESC, seconds)",
)


# --------------------------------------------------------------------------- settings


def on_community_cloud(environ: Mapping[str, str] = os.environ, repo: Path | None = None) -> bool:
    """Best-effort: Community Cloud clones the app under /mount/src/<repo> and its containers
    have HOSTNAME=streamlit. Neither is a documented API, so the explicit setting wins."""
    repo = repo or Path(__file__).resolve().parent.parent
    return repo.as_posix().startswith("/mount/src/") or environ.get("HOSTNAME") == "streamlit"


def enabled(environ: Mapping[str, str] = os.environ) -> bool:
    """DIGITS_FEEDBACK=1/0 when set; otherwise on, except on Community Cloud (no persistent disk)."""
    value = environ.get("DIGITS_FEEDBACK", "").strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    return not on_community_cloud(environ)


def db_path(environ: Mapping[str, str] = os.environ) -> Path:
    explicit = environ.get("DIGITS_FEEDBACK_DB")
    if explicit:
        return Path(explicit).expanduser()
    data_home = environ.get("XDG_DATA_HOME") or os.path.expanduser("~/.local/share")
    return Path(data_home) / "digits" / "feedback.sqlite3"


@lru_cache(maxsize=8)
def _model_version(path: str, mtime_ns: int, size: int) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:12]


def model_version(path: str | os.PathLike) -> str:
    """First 12 hex digits of the model file's sha256 (cached until the file changes)."""
    info = os.stat(path)
    return _model_version(str(path), info.st_mtime_ns, info.st_size)


# --------------------------------------------------------------------------- connection


@contextmanager
def connect(path: str | os.PathLike | None = None) -> Iterator[sqlite3.Connection]:
    """A fresh connection with the schema in place; closed on exit. Autocommit mode: callers
    open their own short transaction (see `write`)."""
    path = Path(path) if path is not None else db_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
    with closing(conn):
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        # WAL is a property of the file (set once, kept); readers never block the writer.
        if conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
            conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = FULL")
        if not conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'scores_day'").fetchone():
            with _transaction(conn):  # (executescript would commit early: one at a time)
                for statement in SCHEMA:
                    conn.execute(statement)
        yield conn


@contextmanager
def _transaction(conn: sqlite3.Connection) -> Iterator[None]:
    # IMMEDIATE takes the write lock up front, so a busy database waits (busy_timeout) at BEGIN
    # instead of failing half-way through.
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def write(sql: str, params: tuple, path: str | os.PathLike | None = None) -> int:
    """One INSERT in one short transaction; returns the new row id once it is committed."""
    with connect(path) as conn:
        with _transaction(conn):
            return int(conn.execute(sql, params).lastrowid)


def now_utc() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


# --------------------------------------------------------------------------- feedback rows


def record(image28: np.ndarray, predicted: int, confirmed: int, model_version: str,
           strokes: dict | None = None, path: str | os.PathLike | None = None) -> int:
    """Store one confirmed drawing; returns its id (the row is committed when this returns)."""
    image = np.asarray(image28, "<f4")
    if image.shape != (28, 28):
        raise ValueError(f"expected a 28x28 image, got shape {image.shape}")
    for name, label in (("predicted", predicted), ("confirmed", confirmed)):
        if int(label) not in range(10):
            raise ValueError(f"{name} label must be 0-9, got {label!r}")
    return write(
        "INSERT INTO feedback (created_utc, image, strokes, predicted, confirmed, model_version)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (now_utc(), image.tobytes(), json.dumps(strokes) if strokes else None,
         int(predicted), int(confirmed), model_version),
        path,
    )


@dataclass
class Confirmed:
    ids: np.ndarray  # (N,) int64
    x: np.ndarray  # (N, 28, 28) float32 in [0, 1]
    y: np.ndarray  # (N,) int64, the confirmed labels
    predicted: np.ndarray  # (N,) int64
    model_version: np.ndarray  # (N,) str
    created_utc: np.ndarray  # (N,) str


def load_confirmed(path: str | os.PathLike | None = None) -> Confirmed:
    """Every stored drawing with its confirmed label, oldest first (DataError if unreadable)."""
    path = Path(path) if path is not None else db_path()
    if not path.is_file():
        raise DataError(f"no feedback database at {path}")
    try:
        with connect(path) as conn:
            rows = conn.execute("SELECT id, image, confirmed, predicted, model_version, created_utc"
                                " FROM feedback ORDER BY id").fetchall()
    except sqlite3.DatabaseError as exc:
        raise DataError(f"{path} is not a readable feedback database ({exc})") from exc
    x = np.stack([np.frombuffer(r[1], "<f4").reshape(28, 28) for r in rows]) if rows \
        else np.zeros((0, 28, 28), np.float32)
    col = lambda i, dtype: np.asarray([r[i] for r in rows], dtype)  # noqa: E731
    return Confirmed(col(0, np.int64), x.astype(np.float32), col(2, np.int64), col(3, np.int64),
                     col(4, str), col(5, str))


def counts_per_digit(path: str | os.PathLike | None = None) -> list[int]:
    """How many confirmed drawings there are of each digit 0-9."""
    with connect(path) as conn:
        found = dict(conn.execute("SELECT confirmed, COUNT(*) FROM feedback GROUP BY confirmed"))
    return [int(found.get(d, 0)) for d in range(10)]


def accuracy_by_day(path: str | os.PathLike | None = None) -> list[dict]:
    """Per UTC day: how many confirmed drawings, and how often the model then live was right."""
    with connect(path) as conn:
        rows = conn.execute(
            "SELECT substr(created_utc, 1, 10) AS day, COUNT(*), SUM(predicted = confirmed)"
            " FROM feedback GROUP BY day ORDER BY day").fetchall()
    return [{"day": day, "n": n, "right": right, "accuracy": right / n} for day, n, right in rows]


def export(out_dir: str | os.PathLike, path: str | os.PathLike | None = None) -> tuple[Path, list[int]]:
    """Write feedback.npz (x float32 [0,1], y, predicted, model_version, created_utc, id) and
    png/<label>/<id>.png; returns the NPZ path and the count per digit."""
    import cv2

    data = load_confirmed(path)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    npz = out / "feedback.npz"
    np.savez_compressed(npz, x=data.x, y=data.y, predicted=data.predicted, id=data.ids,
                        model_version=data.model_version, created_utc=data.created_utc)
    for image, label, row_id in zip(data.x, data.y, data.ids):
        folder = out / "png" / str(label)
        folder.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(folder / f"{row_id}.png"), np.rint(image * 255).astype(np.uint8))
    return npz, np.bincount(data.y, minlength=10).tolist()
