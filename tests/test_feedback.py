"""Feedback store, on SQLite and on a real PostgreSQL server (tests/postgres.py): settings, rows
in and out, label kinds, the migration of old SQLite files, export, and nothing lost under
concurrent writers with one killed mid-write."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from contextlib import closing
from datetime import date
from pathlib import Path

import cv2
import numpy as np
import pytest

from digits.features import feedback
from digits.features.challenge import leaderboard
from tests.conftest import REPO
from tests.postgres import postgres_server, postgres_url  # noqa: F401 (fixtures)

BACKENDS = ["sqlite", "postgresql"]


@pytest.fixture(params=BACKENDS)
def db(request, tmp_path) -> feedback.Location:
    """A fresh database of this test's own: a SQLite file (not created yet), or a PostgreSQL database."""
    if request.param == "sqlite":
        return tmp_path / "fb.sqlite3"
    return request.getfixturevalue("postgres_url")


def columns(db: feedback.Location) -> set[str]:
    with feedback.connect(db) as conn:
        if conn.postgres:
            return {r[0] for r in conn.rows("SELECT column_name FROM information_schema.columns"
                                            " WHERE table_name = 'feedback'")}
        return {r[1] for r in conn.rows("PRAGMA table_info(feedback)")}


def image_for(value: float) -> np.ndarray:
    img = np.zeros((28, 28), np.float32)
    img[4:24, 10:18] = value
    return img


# --------------------------------------------------------------------------- settings


@pytest.mark.parametrize("env, expected", [
    ({}, True),
    ({"DIGITS_FEEDBACK": "0"}, False),
    ({"DIGITS_FEEDBACK": "off"}, False),
    ({"HOSTNAME": "streamlit"}, False),  # Community Cloud: off unless asked for
    ({"HOSTNAME": "streamlit", "DIGITS_FEEDBACK": "1"}, True),
    # A shared database survives the Cloud's restarts: a URL (a secret) turns it on there.
    ({"HOSTNAME": "streamlit", "DIGITS_FEEDBACK_DB": "postgresql://u:p@db.example.com/digits"}, True),
    ({"HOSTNAME": "streamlit", "DIGITS_FEEDBACK_DB": "/tmp/x.sqlite3"}, False),
    ({"HOSTNAME": "streamlit", "DIGITS_FEEDBACK_DB": "postgresql://h/d", "DIGITS_FEEDBACK": "0"}, False),
])
def test_collection_setting(env, expected):
    assert feedback.enabled(env) is expected


def test_community_cloud_is_recognised_by_its_mount_path():
    assert feedback.on_community_cloud({}, Path("/mount/src/draw-a-digit"))
    assert not feedback.on_community_cloud({}, Path("/home/me/draw-a-digit"))


def test_database_lives_outside_the_repo_by_default(tmp_path):
    assert feedback.location({"XDG_DATA_HOME": str(tmp_path)}) == tmp_path / "digits" / "feedback.sqlite3"
    assert feedback.location({"DIGITS_FEEDBACK_DB": str(tmp_path / "x.db")}) == tmp_path / "x.db"
    assert not feedback.location({"HOME": str(tmp_path)}).is_relative_to(REPO)


def test_a_database_url_is_kept_and_shown_without_its_password():
    url = "postgresql://digits:s3cret@ep-x.eu-central-1.aws.neon.tech/neondb?sslmode=require"
    assert feedback.location({"DIGITS_FEEDBACK_DB": f" {url} "}) == url
    assert feedback.shown(url) == "postgresql://digits@ep-x.eu-central-1.aws.neon.tech/neondb"
    assert "s3cret" not in feedback.shown(url)


def test_an_unreachable_server_is_a_store_error_not_a_hang(tmp_path):
    from bench.browser import free_port

    t0 = time.monotonic()
    with pytest.raises(feedback.StoreError, match="127.0.0.1"):
        feedback.record(image_for(1), 1, 1, 1, "x", where=f"postgresql://u:pw@127.0.0.1:{free_port()}/db")
    assert time.monotonic() - t0 < feedback.CONNECT_TIMEOUT_S


def test_model_version_is_a_short_hash_that_follows_the_file(tmp_path):
    path = tmp_path / "m.keras"
    path.write_bytes(b"one")
    first = feedback.model_version(path)
    assert len(first) == 12 and int(first, 16) >= 0
    time.sleep(0.01)
    path.write_bytes(b"two")
    assert feedback.model_version(path) != first


# --------------------------------------------------------------------------- rows


def test_rows_round_trip_with_strokes_version_and_kind(db):
    strokes = {"objects": [{"type": "path", "path": [["M", 1, 2], ["L", 3, 4]]}]}
    a = feedback.record(image_for(0.5), predicted=1, label=7, named=1, model_version="abc", strokes=strokes, where=db)
    b = feedback.record(image_for(1.0), predicted=3, label=3, named=3, model_version="abc", where=db)
    c = feedback.record(image_for(0.2), predicted=4, label=4, named=None, model_version="abc", where=db)
    data = feedback.load_labelled(db)
    assert data.ids.tolist() == [a, b, c]
    assert data.y.tolist() == [7, 3, 4] and data.predicted.tolist() == [1, 3, 4]
    # A pick equal to the digit the page named confirms it; anything else corrects the model,
    # also the model's top digit when the page said "not sure" (it named none).
    assert data.kind.tolist() == ["corrected", "confirmed", "corrected"]
    np.testing.assert_array_equal(data.x[0], image_for(0.5))  # exact: stored as float32
    with feedback.connect(db) as conn:
        [(stored,)] = conn.rows("SELECT strokes FROM feedback WHERE id = ?", (a,))
    assert json.loads(stored) == strokes
    # Privacy: only the drawing, the labels, the model and the time.
    assert columns(db) == {"id", "created_utc", "image", "strokes", "predicted", "confirmed",
                           "model_version", "label_kind"}
    assert feedback.counts(db) == {"confirmed": [0, 0, 0, 1, 0, 0, 0, 0, 0, 0],
                                   "corrected": [0, 0, 0, 0, 1, 0, 0, 1, 0, 0],
                                   "unverified": [0] * 10}
    [day] = feedback.accuracy_by_day(db)
    assert day["n"] == 3 and day["right"] == 1 and day["accuracy"] == pytest.approx(1 / 3)
    assert feedback.forget(a, db) and not feedback.forget(a, db)  # a visitor's Undo, once
    assert feedback.load_labelled(db, feedback.TRAINABLE).ids.tolist() == [b, c]


@pytest.mark.parametrize("kwargs", [dict(predicted=10, label=1, named=1), dict(predicted=1, label=-1, named=1),
                                    dict(predicted=1, label=1, named=11)])
def test_bad_labels_are_refused(tmp_path, kwargs):
    with pytest.raises(ValueError):
        feedback.record(image_for(1), model_version="x", where=tmp_path / "fb.sqlite3", **kwargs)
    assert not (tmp_path / "fb.sqlite3").exists()


def test_database_is_in_wal_mode(tmp_path):
    db = tmp_path / "fb.sqlite3"
    feedback.record(image_for(1), 1, 1, 1, "x", where=db)
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_reading_creates_no_database(tmp_path):
    db = tmp_path / "fb.sqlite3"
    assert feedback.counts(db)["confirmed"] == [0] * 10 and feedback.accuracy_by_day(db) == []
    assert leaderboard(path=db) == [] and not db.exists()


def test_export_writes_npz_and_a_png_folder_per_label(db, tmp_path):
    for label, named in ((2, 2), (2, 5), (5, None)):
        feedback.record(image_for(1.0), predicted=label, label=label, named=named, model_version="v", where=db)
    npz, counts = feedback.export(tmp_path / "out", db)
    assert counts[2] == 2 and counts[5] == 1 and sum(counts) == 3
    with np.load(npz) as z:
        assert z["x"].shape == (3, 28, 28) and z["x"].dtype == np.float32
        assert z["y"].tolist() == [2, 2, 5] and z["kind"].tolist() == ["confirmed", "corrected", "corrected"]
    pngs = sorted((tmp_path / "out" / "png").rglob("*.png"))
    assert [p.parent.name for p in pngs] == ["2", "2", "5"]
    assert cv2.imread(str(pngs[0]), cv2.IMREAD_GRAYSCALE).max() == 255


# --------------------------------------------------------------------------- migration

# The schema before label_kind (version 1), as the code of 2026-12-03 created it.
V1_SCHEMA = (
    """CREATE TABLE feedback (id INTEGER PRIMARY KEY, created_utc TEXT NOT NULL, image BLOB NOT NULL,
    strokes TEXT, predicted INTEGER NOT NULL CHECK (predicted BETWEEN 0 AND 9),
    confirmed INTEGER NOT NULL CHECK (confirmed BETWEEN 0 AND 9), model_version TEXT NOT NULL)""",
    """CREATE TABLE scores (id INTEGER PRIMARY KEY, created_utc TEXT NOT NULL, day TEXT NOT NULL,
    name TEXT NOT NULL, score INTEGER NOT NULL, rounds INTEGER NOT NULL, seconds REAL NOT NULL,
    model_version TEXT NOT NULL)""",
    "CREATE INDEX scores_day ON scores (day, score DESC, seconds)",
)
OPENER = """
import sys
from digits.features import feedback
print(sum(map(sum, feedback.counts(sys.argv[1]).values())), flush=True)
"""


def v1_file(path: Path, rows: int) -> list[tuple]:
    """An old database: `rows` feedback rows (every third one a correction) and two scores."""
    made = [(f"2026-11-{1 + i % 28:02d}T10:00:00+00:00", image_for(i / rows).tobytes(), None, i % 10,
             i % 10 if i % 3 else (i + 1) % 10, "old") for i in range(rows)]
    with closing(sqlite3.connect(path)) as conn, conn:
        for statement in V1_SCHEMA:
            conn.execute(statement)
        conn.executemany("INSERT INTO feedback (created_utc, image, strokes, predicted, confirmed,"
                         " model_version) VALUES (?, ?, ?, ?, ?, ?)", made)
        conn.executemany("INSERT INTO scores (created_utc, day, name, score, rounds, seconds, model_version)"
                         " VALUES (?, ?, ?, ?, ?, ?, ?)",
                         [("t", "2026-11-01", "ada", 9, 10, 31.5, "old"), ("t", "2026-11-01", "bo", 7, 10, 20.0, "old")])
    return made


def test_an_old_sqlite_file_is_migrated_once_by_racing_processes_and_keeps_every_row(tmp_path):
    db = tmp_path / "old.sqlite3"
    made = v1_file(db, 300)
    # Four processes open the old file at once: exactly one migrates, none fails, all see 300 rows.
    openers = [subprocess.Popen([sys.executable, "-c", OPENER, str(db)], cwd=REPO, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True) for _ in range(4)]
    outs = [o.communicate(timeout=60) for o in openers]
    assert [o.returncode for o in openers] == [0] * 4, [err for _, err in outs]
    assert [out.strip() for out, _ in outs] == ["300"] * 4

    data = feedback.load_labelled(db)
    assert len(data.ids) == 300
    assert data.y.tolist() == [r[4] for r in made] and data.predicted.tolist() == [r[3] for r in made]
    np.testing.assert_array_equal(data.x[7], image_for(7 / 300))
    # A one-tap "yes" of old cannot be told from a careful one: unverified; a different digit
    # was picked on purpose: corrected. Nothing old counts as confirmed.
    expected = ["unverified" if r[3] == r[4] else "corrected" for r in made]
    assert data.kind.tolist() == expected and expected.count("corrected") == 100
    assert sum(feedback.counts(db)["unverified"]) == 200
    assert [r["name"] for r in leaderboard(date(2026, 11, 1), path=db)] == ["ada", "bo"]
    with closing(sqlite3.connect(db)) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == feedback.SCHEMA_VERSION
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    new = feedback.record(image_for(1), 4, 4, 4, "new", where=db)  # and it takes new rows
    assert feedback.load_labelled(db).kind[-1] == "confirmed" and new > max(data.ids)


def test_a_database_newer_than_the_code_is_refused_untouched(tmp_path):
    db = tmp_path / "future.sqlite3"
    with closing(sqlite3.connect(db)) as conn:
        conn.execute(f"PRAGMA user_version = {feedback.SCHEMA_VERSION + 1}")
    with pytest.raises(feedback.StoreError, match="newer"):
        feedback.counts(db)


# --------------------------------------------------------------------------- concurrency

WRITER = """
import sys, threading
import numpy as np
from digits.features import feedback
db, tag, rows, threads = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
db = feedback.parse_location(db)
lock = threading.Lock()
def run(t):
    i = 0
    while rows < 0 or i < rows:
        label = f"{tag}-{t}-{i}"
        row = feedback.record(np.full((28, 28), (i % 100) / 100, np.float32), i % 10, i % 10, i % 10, label, where=db)
        with lock:  # printed only after the commit returned: this line is the acknowledgement
            print(row, label, flush=True)
        i += 1
ts = [threading.Thread(target=run, args=(t,)) for t in range(threads)]
[t.start() for t in ts]
[t.join() for t in ts]
"""


def spawn(script: str, *args) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", script, *map(str, args)], cwd=REPO, stdout=subprocess.PIPE,
                            text=True)


def test_threads_and_processes_write_at_once_and_a_killed_writer_loses_nothing(db):
    # The database is empty (SQLite: not even a file): the writers also race to create the schema.
    procs, threads, rows = 3, 2, 30
    acks: dict[int, str] = {}
    lock = threading.Lock()

    writers = [spawn(WRITER, db, f"p{k}", rows, threads) for k in range(procs)]
    victim = spawn(WRITER, db, "victim", -1, threads)  # writes until killed
    victim_acks: list[str] = []

    def read_victim() -> None:
        for line in victim.stdout:
            victim_acks.append(line)

    reader = threading.Thread(target=read_victim)
    reader.start()

    def in_process(t: int) -> None:
        for i in range(rows):
            label = f"main-{t}-{i}"
            row = feedback.record(np.full((28, 28), (i % 100) / 100, np.float32), i % 10, i % 10, i % 10,
                                  label, where=db)
            with lock:
                acks[row] = label

    local = [threading.Thread(target=in_process, args=(t,)) for t in range(threads)]
    for t in local:
        t.start()

    deadline = time.monotonic() + 60
    while len(victim_acks) < 20 and time.monotonic() < deadline:
        time.sleep(0.01)  # waiting for the victim to be mid-stream: there is no event to wait on
    os.kill(victim.pid, signal.SIGKILL)  # at full speed: most likely inside a transaction
    victim.wait(10)
    reader.join(10)
    for t in local:
        t.join(60)
    for w in writers:
        out, _ = w.communicate(timeout=120)
        assert w.returncode == 0
        for line in out.splitlines():
            row, label = line.split()
            acks[int(row)] = label
    for line in victim_acks:
        if line.endswith("\n"):  # a line cut by the kill is not an acknowledgement
            row, label = line.split()
            acks[int(row)] = label

    assert victim.returncode == -signal.SIGKILL
    assert len(victim_acks) >= 20
    assert len(acks) >= procs * threads * rows + threads * rows + 20
    with feedback.connect(db) as conn:
        if not conn.postgres:
            assert conn.rows("PRAGMA integrity_check") == [("ok",)]
        stored = dict(conn.rows("SELECT id, model_version FROM feedback"))
    labels = list(stored.values())
    missing = {row: label for row, label in acks.items() if stored.get(row) != label}
    assert not missing, f"{len(missing)} acknowledged rows lost or changed, e.g. {list(missing.items())[:3]}"
    assert len(labels) == len(set(labels)), "a row was written twice"
    print(f"\nconcurrency ({'postgresql' if feedback.is_url(db) else 'sqlite'}): {procs} writer processes x "
          f"{threads} threads x {rows} rows, {threads} in-process threads x {rows}, 1 process SIGKILLed after "
          f"{len(victim_acks)} acks; {len(acks)} acknowledged, {len(stored)} rows stored")


PLAYER = """
import sys
import numpy as np
from datetime import date
from digits.features import feedback
from digits.features.challenge import Game, save_score
db, k = feedback.parse_location(sys.argv[1]), int(sys.argv[2])
for i in range(20):
    n = 20 * k + i
    feedback.record(np.full((28, 28), n / 100, np.float32), n % 10, (n * 7) % 10, n % 10 if n % 4 else None, "v", where=db)
    if i % 5 == 0:
        game = Game(seed=n, started=0.0)
        for r in range(game.rounds):
            game.judge(game.target if (r + n) % 3 else None, now=1.0 + r * (n % 4 + 1))
        save_score(game, f"player {n}", "v", day=date(2026, 12, 3), path=db)
"""


def test_both_databases_end_with_identical_counts_accuracy_and_leaderboard(tmp_path, postgres_url):
    """The same visitors (4 processes at once) on each database: every figure the pages show agrees."""
    shown = []
    for db in (tmp_path / "fb.sqlite3", postgres_url):
        players = [spawn(PLAYER, db, k) for k in range(4)]
        assert [p.wait(120) for p in players] == [0] * 4
        shown.append((feedback.counts(db), feedback.accuracy_by_day(db),
                      [{k: v for k, v in r.items() if k != "id"} for r in leaderboard(date(2026, 12, 3), 20, path=db)]))
    (counts, days, board), (pg_counts, pg_days, pg_board) = shown
    assert counts == pg_counts and days == pg_days
    assert sum(map(sum, counts.values())) == 80 and len(board) == 16
    # Equal score and time are ranked by arrival, which concurrent players make differ: the
    # same games in the same ranks otherwise.
    rank = lambda r: (-r["score"], r["seconds"])  # noqa: E731
    assert board == sorted(board, key=rank) and pg_board == sorted(pg_board, key=rank)
    assert sorted(board, key=lambda r: (*rank(r), r["name"])) == sorted(pg_board, key=lambda r: (*rank(r), r["name"]))


# --------------------------------------------------------------------------- command line


def test_cli_export_writes_the_dataset(db, tmp_path, capsys):
    from digits.cli import main

    for label in (0, 9, 9):
        feedback.record(image_for(1.0), predicted=1, label=label, named=1, model_version="v", where=db)
    assert main(["feedback", "export", "--db", str(db), "--out", str(tmp_path / "ds")]) == 0
    out = capsys.readouterr().out
    assert "Exported 3 labelled drawings" in out and "9: 2" in out
    assert (tmp_path / "ds" / "feedback.npz").is_file() and len(list((tmp_path / "ds" / "png" / "9").iterdir())) == 2


@pytest.mark.parametrize("content", [None, b"not a database at all, just some bytes"])
def test_cli_refuses_a_missing_or_foreign_database(tmp_path, capsys, content):
    from digits.cli import main

    db = tmp_path / "fb.sqlite3"
    if content is not None:
        db.write_bytes(content)
    assert main(["feedback", "export", "--db", str(db), "--out", str(tmp_path / "ds")]) == 2
    assert "error:" in capsys.readouterr().err


def test_extra_data_joins_the_training_split_only_confirmed_and_corrected(db):
    from digits.cli import _add_feedback
    from digits.training.fit import TrainData

    feedback.record(image_for(0.5), predicted=1, label=7, named=1, model_version="v", where=db)
    feedback.record(image_for(0.7), predicted=2, label=2, named=2, model_version="v", where=db)
    with feedback.connect(db) as conn, conn.transaction():  # a one-tap "yes" of old
        conn.change("INSERT INTO feedback (created_utc, image, predicted, confirmed, model_version)"
                    " VALUES (?, ?, ?, ?, ?)", ("2026-11-01T00:00:00+00:00", image_for(0.9).astype("<f4").tobytes(), 3, 3, "v"))
    z = np.zeros((2, 28, 28), np.float32)
    data = TrainData(z, np.array([0, 1]), z, np.array([0, 1]), z, np.array([0, 1]))
    _add_feedback(data, str(db))
    assert data.x_train.shape == (4, 28, 28) and data.y_train.tolist() == [0, 1, 7, 2]
    np.testing.assert_array_equal(data.x_train[2], image_for(0.5))
    assert len(data.x_val) == 2 and len(data.x_test) == 2
    assert data.description["feedback"] == {"db": feedback.shown(db), "drawings": 2, "confirmed": 1,
                                            "corrected": 1, "unverified_left_out": 1}


def test_train_refuses_a_missing_feedback_database(tmp_path):
    run = subprocess.run([sys.executable, "train.py", "--no-strokes", "--limit", "10", "--epochs", "1",
                          "--extra-data", str(tmp_path / "none.sqlite3"), "--out", str(tmp_path)],
                         cwd=REPO, capture_output=True, text=True, timeout=120)
    assert run.returncode == 2 and "no feedback database" in run.stderr
    assert not (tmp_path / "digits.keras").exists()
