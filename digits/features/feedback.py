"""Visitors' labels for their drawings, kept so they can be trained on later: in a local SQLite
file (the default) or in PostgreSQL, shared by every process and host of an event.

What is stored: the 28x28 model input, the canvas strokes (Fabric JSON), the model's digit, the
visitor's label and how much it is worth (`label_kind`), the model version and a UTC timestamp.
Nothing else: no IP, no session id, no name. The challenge's leaderboard
(digits.features.challenge) lives in the same database.

label_kind:
- "confirmed": the visitor picked, among ten equal buttons, the digit the model had named;
- "corrected": the visitor picked another digit, or the model had named none ("not sure",
  "not a digit");
- "unverified": rows from before the visitor was asked "which digit?": a single prominent
  "Yes, it's a 6" stored the model's guess, and a careless tap confirmed misreadings.
  Kept and exported, but not trained on nor counted as "model right".

Same guarantees on both databases: one short transaction per write on a connection of its own,
a row is committed (and survives a killed process) when `insert` returns, readers never block
writers. SQLite: WAL journal, a busy timeout, BEGIN IMMEDIATE, synchronous=FULL (also survives a
power cut). PostgreSQL: its own MVCC and WAL (synchronous_commit on, the default).

Settings (the operator's, never a visitor's):
- DIGITS_FEEDBACK_DB: a file path, or a postgresql:// URL. Default
  $XDG_DATA_HOME/digits/feedback.sqlite3 (~/.local/share/...), outside the repo so git and
  Streamlit's file watcher never see it. On Community Cloud, a root-level secret of that name
  (Streamlit copies root-level secrets into the environment) holding a URL turns feedback on.
- DIGITS_FEEDBACK=1/0 turns collection on/off. Default on, except on Streamlit Community Cloud
  with a local file: its disk is not persistent (a reboot or redeploy would lose what visitors gave).
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from collections.abc import Collection, Iterator, Mapping
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path

import numpy as np

from digits.data import DataError

BUSY_TIMEOUT_MS = 15_000  # a writer waits this long for another's transaction before giving up
CONNECT_TIMEOUT_S = 10  # a PostgreSQL server that does not answer: the page says so instead of hanging
SCHEMA_VERSION = 2  # 1: before label_kind (user_version 0 in those SQLite files)

CONFIRMED, CORRECTED, UNVERIFIED = "confirmed", "corrected", "unverified"
KINDS = (CONFIRMED, CORRECTED, UNVERIFIED)
TRAINABLE = (CONFIRMED, CORRECTED)  # what train.py --extra-data uses

# One schema, written for SQLite; _for_postgres translates its three types.
SCHEMA = (
    """CREATE TABLE IF NOT EXISTS feedback (
    id            INTEGER PRIMARY KEY,
    created_utc   TEXT    NOT NULL,                       -- ISO 8601, seconds
    image         BLOB    NOT NULL,                       -- 28x28 float32 little-endian, [0, 1]
    strokes       TEXT,                                   -- canvas Fabric JSON, when there was one
    predicted     INTEGER NOT NULL CHECK (predicted BETWEEN 0 AND 9),
    confirmed     INTEGER NOT NULL CHECK (confirmed BETWEEN 0 AND 9),  -- the visitor's label
    model_version TEXT    NOT NULL,
    label_kind    TEXT    NOT NULL DEFAULT 'unverified'   -- see the module's docstring
                  CHECK (label_kind IN ('confirmed', 'corrected', 'unverified'))
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
# Version 1 -> 2 (SQLite files made before label_kind). Old rows whose label differs from the
# model's digit came from "No, it's a ..." (a deliberate pick); the others from the one-tap "Yes".
MIGRATE_1_TO_2 = (
    "ALTER TABLE feedback ADD COLUMN label_kind TEXT NOT NULL DEFAULT 'unverified'"
    " CHECK (label_kind IN ('confirmed', 'corrected', 'unverified'))",
    "UPDATE feedback SET label_kind = 'corrected' WHERE confirmed <> predicted",
)


class StoreError(DataError):
    """The feedback database cannot be read or written (unreachable, locked, not a database)."""


# --------------------------------------------------------------------------- settings

Location = str | Path  # a SQLite file, or a postgresql:// URL


def on_community_cloud(environ: Mapping[str, str] = os.environ, repo: Path | None = None) -> bool:
    """Best-effort: Community Cloud clones the app under /mount/src/<repo> and its containers
    have HOSTNAME=streamlit. Neither is a documented API, so the explicit setting wins."""
    repo = repo or Path(__file__).resolve().parent.parent.parent
    return repo.as_posix().startswith("/mount/src/") or environ.get("HOSTNAME") == "streamlit"


def enabled(environ: Mapping[str, str] = os.environ) -> bool:
    """DIGITS_FEEDBACK=1/0 when set; otherwise on, except on Community Cloud without a database
    URL (its disk is not persistent)."""
    value = environ.get("DIGITS_FEEDBACK", "").strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    return is_url(location(environ)) or not on_community_cloud(environ)


def is_url(where: Location | os.PathLike) -> bool:
    return isinstance(where, str) and where.startswith(("postgresql://", "postgres://"))


def parse_location(text: str) -> Location:
    """A database as typed (a setting, --db): a postgresql:// URL stays a URL, anything else is a file."""
    text = text.strip()
    return text if is_url(text) else Path(text).expanduser()


def location(environ: Mapping[str, str] = os.environ) -> Location:
    """DIGITS_FEEDBACK_DB as given (a URL, or a path), or the default file."""
    explicit = environ.get("DIGITS_FEEDBACK_DB", "").strip()
    if explicit:
        return parse_location(explicit)
    data_home = environ.get("XDG_DATA_HOME") or os.path.expanduser("~/.local/share")
    return Path(data_home) / "digits" / "feedback.sqlite3"


def shown(where: Location | os.PathLike) -> str:
    """Where the rows are, for a person: a URL without its password."""
    if not is_url(where):
        return str(where)
    from urllib.parse import urlsplit

    parts = urlsplit(str(where))
    host = parts.hostname or ""
    netloc = (f"{parts.username}@" if parts.username else "") + host + (f":{parts.port}" if parts.port else "")
    return parts._replace(netloc=netloc, query="").geturl()


def exists(where: Location | os.PathLike | None = None) -> bool:
    """Whether there is a database to read: a server always, a file once it was created (reading
    an empty leaderboard or Feedback page must not create one)."""
    where = _resolve(where)
    return is_url(where) or Path(where).is_file()


def _resolve(where: Location | os.PathLike | None) -> Location:
    if where is None:
        return location()
    return where if is_url(where) else Path(where)


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


class Database:
    """One open connection, either backend, with the schema in place. SQL is written once, in
    SQLite's dialect with `?` placeholders; for PostgreSQL they become `%s`."""

    def __init__(self, conn, postgres: bool) -> None:
        self.conn = conn
        self.postgres = postgres

    def _sql(self, sql: str) -> str:
        return sql.replace("?", "%s") if self.postgres else sql

    def rows(self, sql: str, params: tuple = ()) -> list[tuple]:
        return self.conn.execute(self._sql(sql), params).fetchall()

    def change(self, sql: str, params: tuple = ()) -> int:
        """An UPDATE or DELETE (inside the caller's transaction); how many rows it changed."""
        return self.conn.execute(self._sql(sql), params).rowcount

    @contextmanager
    def transaction(self) -> Iterator[None]:
        if self.postgres:
            with self.conn.transaction():
                yield
            return
        # IMMEDIATE takes the write lock up front, so a busy database waits (busy_timeout) at
        # BEGIN instead of failing half-way through.
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    def insert(self, sql: str, params: tuple) -> int:
        """One INSERT in its own transaction; the new row's id, once it is committed."""
        with self.transaction():
            if self.postgres:
                return int(self.conn.execute(self._sql(sql) + " RETURNING id", params).fetchone()[0])
            return int(self.conn.execute(sql, params).lastrowid)


def _errors() -> tuple[type[BaseException], ...]:
    try:
        import psycopg
    except ImportError:
        return (sqlite3.Error,)
    return (sqlite3.Error, psycopg.Error)


@contextmanager
def connect(where: Location | os.PathLike | None = None) -> Iterator[Database]:
    """A fresh connection with the schema in place; closed on exit. Autocommit: callers open
    their own short transaction (`insert`). Database errors come out as StoreError."""
    where = _resolve(where)
    try:
        with (_connect_postgres(where) if is_url(where) else _connect_sqlite(Path(where))) as db:
            yield db
    except _errors() as exc:
        raise StoreError(f"feedback database {shown(where)}: {exc}".strip()) from exc


@contextmanager
def _connect_sqlite(path: Path) -> Iterator[Database]:
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
    with closing(conn):
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        # WAL is a property of the file (set once, kept); readers never block the writer.
        if conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
            conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = FULL")
        db = Database(conn, postgres=False)
        if conn.execute("PRAGMA user_version").fetchone()[0] != SCHEMA_VERSION:
            with db.transaction():  # one writer at a time creates or migrates; the others then see it
                _create_or_migrate_sqlite(conn)
        yield db


def _create_or_migrate_sqlite(conn: sqlite3.Connection) -> None:
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version == SCHEMA_VERSION:
        return  # another process did it while we waited for the lock
    if version > SCHEMA_VERSION:
        raise sqlite3.DatabaseError(f"schema version {version} is newer than this code's {SCHEMA_VERSION}")
    old = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'feedback'").fetchone()
    if old:
        for statement in MIGRATE_1_TO_2:
            conn.execute(statement)
    for statement in SCHEMA:  # (executescript would commit early: one at a time)
        conn.execute(statement)  # IF NOT EXISTS: creates what is missing (also `scores` in v1 files)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")  # in the same transaction


_PG_TYPES = (("INTEGER PRIMARY KEY", "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY"),
             ("BLOB ", "BYTEA"), ("REAL ", "DOUBLE PRECISION"))
_PG_LOCK = 0x64696769  # "digi": an advisory lock so that concurrent first connections create the schema once


def _for_postgres(statement: str) -> str:
    for sqlite_type, pg_type in _PG_TYPES:
        statement = statement.replace(sqlite_type, pg_type)
    return statement


@contextmanager
def _connect_postgres(url: str) -> Iterator[Database]:
    import psycopg

    with psycopg.connect(url, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S) as conn:
        db = Database(conn, postgres=True)
        if not conn.execute("SELECT to_regclass('scores_day')").fetchone()[0]:
            # CREATE ... IF NOT EXISTS races with itself in PostgreSQL (a unique violation in its
            # catalog): serialise the first connections.
            with db.transaction():
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (_PG_LOCK,))
                for statement in SCHEMA:
                    conn.execute(_for_postgres(statement))
        yield db


def insert(sql: str, params: tuple, where: Location | os.PathLike | None = None) -> int:
    """One INSERT in one short transaction; returns the new row id once it is committed."""
    with connect(where) as db:
        return db.insert(sql, params)


def now_utc() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


# --------------------------------------------------------------------------- feedback rows


def label_kind(label: int, named: int | None) -> str:
    """CONFIRMED when the visitor's digit is the one the model named, else CORRECTED (also when
    the model named none: "not sure" or "not a digit")."""
    return CONFIRMED if named is not None and int(label) == int(named) else CORRECTED


def record(image28: np.ndarray, predicted: int, label: int, named: int | None, model_version: str,
           strokes: dict | None = None, where: Location | os.PathLike | None = None) -> int:
    """Store a visitor's label for a drawing; returns its id (the row is committed when this
    returns). predicted: the model's top digit; named: the digit the page named as the answer,
    None when it named none."""
    image = np.asarray(image28, "<f4")
    if image.shape != (28, 28):
        raise ValueError(f"expected a 28x28 image, got shape {image.shape}")
    for name, value in (("predicted", predicted), ("label", label), ("named", named)):
        if value is not None and int(value) not in range(10):
            raise ValueError(f"{name} must be a digit 0-9, got {value!r}")
    return insert(
        "INSERT INTO feedback (created_utc, image, strokes, predicted, confirmed, model_version, label_kind)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        (now_utc(), image.tobytes(), json.dumps(strokes) if strokes else None,
         int(predicted), int(label), model_version, label_kind(label, named)),
        where,
    )


def forget(row_id: int, where: Location | os.PathLike | None = None) -> bool:
    """Delete one feedback row (a visitor's Undo); True if it was there."""
    with connect(where) as db:
        with db.transaction():
            return db.change("DELETE FROM feedback WHERE id = ?", (int(row_id),)) > 0


@dataclass
class Labelled:
    ids: np.ndarray  # (N,) int64
    x: np.ndarray  # (N, 28, 28) float32 in [0, 1]
    y: np.ndarray  # (N,) int64, the visitors' labels
    predicted: np.ndarray  # (N,) int64
    kind: np.ndarray  # (N,) str: confirmed, corrected, unverified
    model_version: np.ndarray  # (N,) str
    created_utc: np.ndarray  # (N,) str


def load_labelled(where: Location | os.PathLike | None = None,
                  kinds: Collection[str] = KINDS) -> Labelled:
    """The stored drawings of these kinds with their labels, oldest first (DataError if there is
    no database or it cannot be read)."""
    where = _resolve(where)
    if not exists(where):
        raise DataError(f"no feedback database at {where}")
    unknown = set(kinds) - set(KINDS)
    if unknown:
        raise ValueError(f"unknown label kinds {sorted(unknown)}: use {KINDS}")
    with connect(where) as db:
        marks = ", ".join("?" * len(kinds)) or "NULL"
        rows = db.rows("SELECT id, image, confirmed, predicted, label_kind, model_version, created_utc"
                       f" FROM feedback WHERE label_kind IN ({marks}) ORDER BY id", tuple(kinds))
    x = np.stack([np.frombuffer(bytes(r[1]), "<f4").reshape(28, 28) for r in rows]) if rows \
        else np.zeros((0, 28, 28), np.float32)
    col = lambda i, dtype: np.asarray([r[i] for r in rows], dtype)  # noqa: E731
    return Labelled(col(0, np.int64), x.astype(np.float32), col(2, np.int64), col(3, np.int64),
                    col(4, str), col(5, str), col(6, str))


def counts(where: Location | os.PathLike | None = None) -> dict[str, list[int]]:
    """For each label kind, how many drawings there are of each digit 0-9."""
    out = {kind: [0] * 10 for kind in KINDS}
    if not exists(where):
        return out
    with connect(where) as db:
        for kind, digit, n in db.rows("SELECT label_kind, confirmed, COUNT(*) FROM feedback"
                                      " GROUP BY label_kind, confirmed"):
            out[kind][int(digit)] = int(n)
    return out


def accuracy_by_day(where: Location | os.PathLike | None = None) -> list[dict]:
    """Per UTC day: how many drawings a visitor labelled (confirmed or corrected; unverified rows
    say nothing), and how often the model had named the visitor's digit."""
    if not exists(where):
        return []
    with connect(where) as db:
        rows = db.rows(
            "SELECT substr(created_utc, 1, 10) AS day, COUNT(*),"
            " SUM(CASE WHEN label_kind = 'confirmed' THEN 1 ELSE 0 END)"
            " FROM feedback WHERE label_kind IN ('confirmed', 'corrected') GROUP BY day ORDER BY day")
    return [{"day": day, "n": int(n), "right": int(right), "accuracy": int(right) / int(n)}
            for day, n, right in rows]


def export(out_dir: str | os.PathLike, where: Location | os.PathLike | None = None) -> tuple[Path, list[int]]:
    """Write feedback.npz (x float32 [0,1], y, predicted, kind, model_version, created_utc, id)
    and png/<label>/<id>.png, every row whatever its kind; returns the NPZ path and the count
    per digit."""
    import cv2

    data = load_labelled(where)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    npz = out / "feedback.npz"
    np.savez_compressed(npz, x=data.x, y=data.y, predicted=data.predicted, kind=data.kind, id=data.ids,
                        model_version=data.model_version, created_utc=data.created_utc)
    for image, label, row_id in zip(data.x, data.y, data.ids):
        folder = out / "png" / str(label)
        folder.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(folder / f"{row_id}.png"), np.rint(image * 255).astype(np.uint8))
    return npz, np.bincount(data.y, minlength=10).tolist()
