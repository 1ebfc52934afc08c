"""The feedback widget under an answer and the Feedback page, through AppTest with the real model,
on SQLite and on a real PostgreSQL server (tests/postgres.py)."""

from __future__ import annotations

import json
import threading

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from digits.features import feedback
from digits.model import MODEL_PATH
from tests.conftest import open_page
from tests.postgres import postgres_server, postgres_url  # noqa: F401 (fixtures)
from tests.test_app import APP, prediction_shown
from tests.test_challenge import draw_on_draw_page

QUESTION = "Which digit did you draw?"


def draw_page() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    return at


def test_the_question_has_ten_equal_answers_and_no_yes_button(store):
    at = draw_page()
    draw_on_draw_page(at, 8)
    assert prediction_shown(at) == "8"
    [pick] = at.pills
    # No "Yes, it's an 8" to tap without looking, and the model's digit is not preselected.
    assert pick.label == QUESTION and pick.options == [str(d) for d in range(10)] and pick.value is None
    assert not [b for b in at.button if "Yes" in b.label]
    assert not store.exists(), "nothing is stored before the visitor answers"


def test_a_pick_is_stored_as_confirmed_or_corrected_with_strokes_and_undo(store):
    at = draw_page()
    raw = draw_on_draw_page(at, 7)
    shown = int(prediction_shown(at))
    at.pills[0].set_value(shown).run()
    assert any(f"Saved as {'an' if shown == 8 else 'a'} **{shown}**" in s.value for s in at.success)

    draw_on_draw_page(at, 1)
    second = int(prediction_shown(at))
    wrong = (second + 3) % 10
    at.pills[0].set_value(wrong).run()
    data = feedback.load_labelled(store)
    assert list(zip(data.predicted, data.y, data.kind)) == [(shown, shown, "confirmed"), (second, wrong, "corrected")]
    assert set(data.model_version) == {feedback.model_version(MODEL_PATH)}
    with feedback.connect(store) as db:
        [(strokes,)] = db.rows("SELECT strokes FROM feedback WHERE id = ?", (int(data.ids[0]),))
    assert '"objects"' in strokes and str(raw["objects"][0]["path"][1][2]) in strokes

    # A mistaken tap is taken back with Undo, and the question comes back unanswered.
    [undo] = [b for b in at.button if b.label == "Undo"]
    undo.click().run()
    assert feedback.load_labelled(store).ids.tolist() == data.ids[:1].tolist()
    assert at.pills[0].label == QUESTION and at.pills[0].value is None
    at.pills[0].set_value(second).run()
    assert feedback.load_labelled(store).kind.tolist() == ["confirmed", "confirmed"]

    at.switch_page("webapp/pages/feedback.py").run()
    assert not at.exception
    assert [m.value for m in at.metric] == ["2", "0", "0"]
    assert any("no IP address" in c.value for c in at.caption)


def test_feedback_off_means_the_question_only_teaches_this_visit_and_no_database(tmp_path, monkeypatch):
    db = tmp_path / "feedback.sqlite3"
    monkeypatch.setenv("DIGITS_FEEDBACK_DB", str(db))
    monkeypatch.setenv("DIGITS_FEEDBACK", "0")
    at = draw_page()
    draw_on_draw_page(at, 7)
    assert prediction_shown(at) is not None
    [pick] = at.pills  # the visitor's memory (tests/test_handwriting.py) still learns from it
    assert any("nothing is stored" in c.value for c in at.caption)
    pick.set_value(7).run()
    assert len(at.session_state["visitor_memory"]) == 1
    at.switch_page("webapp/pages/feedback.py").run()
    assert any("collection is off" in i.value for i in at.info)
    assert not db.exists()


# --------------------------------------------------------------------------- the Feedback page


def test_feedback_page_with_no_feedback_says_so(store):
    at = open_page("webapp/pages/feedback.py")
    assert any("No labelled drawings yet" in i.value for i in at.info)
    assert not at.get("vega_lite_chart") and not store.exists()


def spread_over_days(where: feedback.Location, n_days: int, per_day: int) -> None:
    with feedback.connect(where) as db, db.transaction():
        ids = [r[0] for r in db.rows("SELECT id FROM feedback ORDER BY id")]
        for i, row_id in enumerate(ids):
            db.change("UPDATE feedback SET created_utc = ? WHERE id = ?",
                      (f"2026-11-{i // per_day + 1:02d}T12:00:00+00:00", row_id))


@pytest.mark.parametrize("n_days", [1, 3])
def test_feedback_page_counts_kinds_and_charts_one_and_many_days(store, n_days):
    for _ in range(n_days):
        for label in (1, 7, 8):
            feedback.record(np.zeros((28, 28), np.float32), 1, label, 1, "test", where=store)
    spread_over_days(store, n_days, 3)
    with feedback.connect(store) as db, db.transaction():  # an unverified one-tap "yes" of old
        db.change("INSERT INTO feedback (created_utc, image, predicted, confirmed, model_version)"
                  " VALUES ('2026-11-01T00:00:00+00:00', ?, 2, 2, 'old')", (np.zeros(784, "<f4").tobytes(),))
    at = open_page("webapp/pages/feedback.py")
    assert [m.value for m in at.metric] == [str(n_days), str(2 * n_days), "1"]
    assert len(at.get("vega_lite_chart")) == 2, "drawings per digit, accuracy by day"
    table = at.dataframe[0].value
    assert len(table) == n_days and table["model right"].sum() == n_days, "the unverified row is not counted"


def test_draw_and_feedback_pages_on_postgresql(postgres_url, monkeypatch):
    monkeypatch.setenv("DIGITS_FEEDBACK_DB", postgres_url)
    monkeypatch.delenv("DIGITS_FEEDBACK", raising=False)
    at = draw_page()
    draw_on_draw_page(at, 3)
    shown = int(prediction_shown(at))
    at.pills[0].set_value((shown + 1) % 10).run()
    assert not at.exception and at.success
    assert feedback.counts(postgres_url)["corrected"][(shown + 1) % 10] == 1
    at.switch_page("webapp/pages/feedback.py").run()
    assert not at.exception and [m.value for m in at.metric] == ["0", "1", "0"]


def test_an_unreachable_database_is_a_message_not_a_traceback(monkeypatch):
    from bench.browser import free_port

    monkeypatch.setenv("DIGITS_FEEDBACK_DB", f"postgresql://digits:pw@127.0.0.1:{free_port()}/digits")
    monkeypatch.setenv("DIGITS_FEEDBACK", "1")
    at = draw_page()
    draw_on_draw_page(at, 4)
    at.pills[0].set_value(4).run()
    assert not at.exception
    assert any("could not be saved" in w.value and "pw" not in w.value for w in at.warning)
    at.switch_page("webapp/pages/feedback.py").run()
    assert not at.exception and any("cannot be read" in w.value for w in at.warning)


def test_a_root_level_secret_turns_feedback_on_on_community_cloud(tmp_path, monkeypatch):
    """Community Cloud: no DIGITS_FEEDBACK, HOSTNAME=streamlit, the URL only in the app's secrets.
    A real server: Streamlit copies root-level secrets into the environment when it starts."""
    from bench.browser import streamlit_server
    from deploy.event import warm_up

    url = "postgresql://digits:pw@db.example.com:5432/digits?sslmode=require"
    secrets = tmp_path / "secrets.toml"
    secrets.write_text(f'DIGITS_FEEDBACK_DB = "{url}"\n')
    out = tmp_path / "probe.json"
    monkeypatch.setenv("HOSTNAME", "streamlit")
    monkeypatch.setenv("DIGITS_PROBE_OUT", str(out))
    for name in ("DIGITS_FEEDBACK", "DIGITS_FEEDBACK_DB"):
        monkeypatch.delenv(name, raising=False)
    assert not feedback.enabled(), "without the secret, Community Cloud collects nothing"
    with streamlit_server("tests/secrets_probe.py", extra_args=["--secrets.files", str(secrets)]) as server:
        done = threading.Event()
        warm_up(int(server.url.rsplit(":", 1)[1]), server.proc, done, timeout_s=60)  # one run of the script
    assert json.loads(out.read_text()) == {"enabled": True, "where": "postgresql://digits@db.example.com:5432/digits"}


def test_forgetting_says_what_stays_stored_and_can_delete_it(store):
    """"Forget my handwriting" drops the visit's memory and the "Saved as" note, says that the
    drawings saved for training stay stored, and deletes them when asked."""
    at = draw_page()
    draw_on_draw_page(at, 7)
    privacy = [c.value for c in at.caption if "no IP address" in c.value]
    at.pills[0].set_value(int(prediction_shown(at))).run()
    assert len(feedback.load_labelled(store).y) == 1
    draw_on_draw_page(at, 1)
    assert privacy and not [c.value for c in at.caption if "no IP address" in c.value], "the privacy note once a visit"
    at.pills[0].set_value(int(prediction_shown(at))).run()
    [forget] = [b for b in at.button if b.label == "Forget my handwriting"]
    forget.click().run()
    assert not at.exception and not at.success, "no 'Thank you! Saved as...' under the forgotten memory"
    [said] = [i.value for i in at.info if "Forgotten" in i.value]
    assert "The 2 you saved to train the next model are still stored." in said
    [delete] = [b for b in at.button if b.label == "Delete them too"]
    delete.click().run()
    assert not at.exception
    assert len(feedback.load_labelled(store).y) == 0
    assert not [i for i in at.info if "Forgotten" in i.value]
