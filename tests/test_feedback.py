"""Feedback store: settings, rows in and out, export, and nothing lost under concurrent writers."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from digits.features import feedback
from tests.conftest import REPO


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
])
def test_collection_setting(env, expected):
    assert feedback.enabled(env) is expected


def test_community_cloud_is_recognised_by_its_mount_path():
    assert feedback.on_community_cloud({}, Path("/mount/src/draw-a-digit"))
    assert not feedback.on_community_cloud({}, Path("/home/me/draw-a-digit"))


def test_database_lives_outside_the_repo_by_default(tmp_path):
    assert feedback.db_path({"XDG_DATA_HOME": str(tmp_path)}) == tmp_path / "digits" / "feedback.sqlite3"
    assert feedback.db_path({"DIGITS_FEEDBACK_DB": str(tmp_path / "x.db")}) == tmp_path / "x.db"
    assert not feedback.db_path({"HOME": str(tmp_path)}).is_relative_to(REPO)


def test_model_version_is_a_short_hash_that_follows_the_file(tmp_path):
    path = tmp_path / "m.keras"
    path.write_bytes(b"one")
    first = feedback.model_version(path)
    assert len(first) == 12 and int(first, 16) >= 0
    time.sleep(0.01)
    path.write_bytes(b"two")
    assert feedback.model_version(path) != first


# --------------------------------------------------------------------------- rows


def test_rows_round_trip_with_strokes_and_version(tmp_path):
    db = tmp_path / "fb.sqlite3"
    strokes = {"objects": [{"type": "path", "path": [["M", 1, 2], ["L", 3, 4]]}]}
    a = feedback.record(image_for(0.5), predicted=1, confirmed=7, model_version="abc", strokes=strokes, path=db)
    b = feedback.record(image_for(1.0), predicted=3, confirmed=3, model_version="abc", path=db)
    data = feedback.load_confirmed(db)
    assert data.ids.tolist() == [a, b]
    assert data.y.tolist() == [7, 3] and data.predicted.tolist() == [1, 3]
    np.testing.assert_array_equal(data.x[0], image_for(0.5))  # exact: stored as float32
    with sqlite3.connect(db) as conn:
        stored, = conn.execute("SELECT strokes FROM feedback WHERE id = ?", (a,)).fetchone()
        columns = {r[1] for r in conn.execute("PRAGMA table_info(feedback)")}
    assert json.loads(stored) == strokes
    # Privacy: only the drawing, the labels, the model and the time.
    assert columns == {"id", "created_utc", "image", "strokes", "predicted", "confirmed", "model_version"}
    assert feedback.counts_per_digit(db) == [0, 0, 0, 1, 0, 0, 0, 1, 0, 0]
    [day] = feedback.accuracy_by_day(db)
    assert day["n"] == 2 and day["right"] == 1 and day["accuracy"] == 0.5


@pytest.mark.parametrize("kwargs", [dict(predicted=10, confirmed=1), dict(predicted=1, confirmed=-1)])
def test_bad_labels_are_refused(tmp_path, kwargs):
    with pytest.raises(ValueError):
        feedback.record(image_for(1), model_version="x", path=tmp_path / "fb.sqlite3", **kwargs)


def test_database_is_in_wal_mode(tmp_path):
    db = tmp_path / "fb.sqlite3"
    feedback.record(image_for(1), 1, 1, "x", path=db)
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_export_writes_npz_and_a_png_folder_per_label(tmp_path):
    db = tmp_path / "fb.sqlite3"
    for label in (2, 2, 5):
        feedback.record(image_for(1.0), predicted=label, confirmed=label, model_version="v", path=db)
    npz, counts = feedback.export(tmp_path / "out", db)
    assert counts[2] == 2 and counts[5] == 1 and sum(counts) == 3
    with np.load(npz) as z:
        assert z["x"].shape == (3, 28, 28) and z["x"].dtype == np.float32
        assert z["y"].tolist() == [2, 2, 5]
    pngs = sorted((tmp_path / "out" / "png").rglob("*.png"))
    assert [p.parent.name for p in pngs] == ["2", "2", "5"]
    assert cv2.imread(str(pngs[0]), cv2.IMREAD_GRAYSCALE).max() == 255


# --------------------------------------------------------------------------- concurrency

WRITER = """
import sys, threading
import numpy as np
from digits.features import feedback
db, tag, rows, threads = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
lock = threading.Lock()
def run(t):
    i = 0
    while rows < 0 or i < rows:
        label = f"{tag}-{t}-{i}"
        row = feedback.record(np.full((28, 28), (i % 100) / 100, np.float32), i % 10, i % 10, label, path=db)
        with lock:  # printed only after the commit returned: this line is the acknowledgement
            print(row, label, flush=True)
        i += 1
ts = [threading.Thread(target=run, args=(t,)) for t in range(threads)]
[t.start() for t in ts]
[t.join() for t in ts]
"""


def spawn_writer(db: Path, tag: str, rows: int, threads: int) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", WRITER, str(db), tag, str(rows), str(threads)],
                            cwd=REPO, stdout=subprocess.PIPE, text=True)


def test_threads_and_processes_write_at_once_and_a_killed_writer_loses_nothing(tmp_path):
    db = tmp_path / "fb.sqlite3"  # not created yet: the writers also race to create the schema
    procs, threads, rows = 3, 2, 30
    acks: dict[int, str] = {}
    lock = threading.Lock()

    writers = [spawn_writer(db, f"p{k}", rows, threads) for k in range(procs)]
    victim = spawn_writer(db, "victim", -1, threads)  # writes until killed
    victim_acks: list[str] = []

    def read_victim() -> None:
        for line in victim.stdout:
            victim_acks.append(line)

    reader = threading.Thread(target=read_victim)
    reader.start()

    def in_process(t: int) -> None:
        for i in range(rows):
            label = f"main-{t}-{i}"
            row = feedback.record(np.full((28, 28), (i % 100) / 100, np.float32), i % 10, i % 10, label, path=db)
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
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        stored = dict(conn.execute("SELECT id, model_version FROM feedback"))
        labels = [v for v in stored.values()]
    missing = {row: label for row, label in acks.items() if stored.get(row) != label}
    assert not missing, f"{len(missing)} acknowledged rows lost or changed, e.g. {list(missing.items())[:3]}"
    assert len(labels) == len(set(labels)), "a row was written twice"
    print(f"\nconcurrency: {procs} writer processes x {threads} threads x {rows} rows, "
          f"{threads} in-process threads x {rows}, 1 process SIGKILLed after {len(victim_acks)} acks; "
          f"{len(acks)} acknowledged, {len(stored)} rows stored, integrity_check ok")


# --------------------------------------------------------------------------- command line


def test_cli_export_writes_the_dataset(tmp_path, capsys):
    from digits.cli import main

    db = tmp_path / "fb.sqlite3"
    for label in (0, 9, 9):
        feedback.record(image_for(1.0), predicted=1, confirmed=label, model_version="v", path=db)
    assert main(["feedback", "export", "--db", str(db), "--out", str(tmp_path / "ds")]) == 0
    out = capsys.readouterr().out
    assert "Exported 3 confirmed drawings" in out and "9: 2" in out
    assert (tmp_path / "ds" / "feedback.npz").is_file() and len(list((tmp_path / "ds" / "png" / "9").iterdir())) == 2


@pytest.mark.parametrize("content", [None, b"not a database at all, just some bytes"])
def test_cli_refuses_a_missing_or_foreign_database(tmp_path, capsys, content):
    from digits.cli import main

    db = tmp_path / "fb.sqlite3"
    if content is not None:
        db.write_bytes(content)
    assert main(["feedback", "export", "--db", str(db), "--out", str(tmp_path / "ds")]) == 2
    assert "error:" in capsys.readouterr().err


def test_extra_data_joins_the_training_split_only(tmp_path):
    from digits.cli import _add_feedback
    from digits.training.fit import TrainData

    db = tmp_path / "fb.sqlite3"
    feedback.record(image_for(0.5), predicted=1, confirmed=7, model_version="v", path=db)
    z = np.zeros((2, 28, 28), np.float32)
    data = TrainData(z, np.array([0, 1]), z, np.array([0, 1]), z, np.array([0, 1]))
    _add_feedback(data, db)
    assert data.x_train.shape == (3, 28, 28) and data.y_train.tolist() == [0, 1, 7]
    np.testing.assert_array_equal(data.x_train[2], image_for(0.5))
    assert len(data.x_val) == 2 and len(data.x_test) == 2
    assert data.description["feedback"]["drawings"] == 1


def test_train_refuses_a_missing_feedback_database(tmp_path):
    run = subprocess.run([sys.executable, "train.py", "--no-strokes", "--limit", "10", "--epochs", "1",
                          "--extra-data", str(tmp_path / "none.sqlite3"), "--out", str(tmp_path)],
                         cwd=REPO, capture_output=True, text=True, timeout=120)
    assert run.returncode == 2 and "no feedback database" in run.stderr
    assert not (tmp_path / "digits.keras").exists()
