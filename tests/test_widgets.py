"""The shared page pieces (webapp/widgets.py): chart specs and wording, and the Feedback page's
charts through AppTest with 0, 1 and many days of feedback."""

from __future__ import annotations

import sqlite3

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from digits.features import feedback
from tests.conftest import open_page
from tests.test_app import APP, prediction_shown
from tests.test_challenge import draw_on_draw_page
from webapp.widgets import accuracy_chart, drawings_chart


def days(n: int) -> list[dict]:
    return [{"day": f"2026-11-{d + 1:02d}", "n": 10, "right": 9 - d % 3, "accuracy": (9 - d % 3) / 10}
            for d in range(n)]


@pytest.mark.parametrize("n", [0, 1, 2, 30])
def test_accuracy_chart_shows_points_on_a_full_percent_axis(n):
    df, spec = accuracy_chart(days(n))
    assert len(df) == n and list(df.columns) == ["day", "n", "right", "accuracy"]
    mark = spec["mark"]
    assert mark["type"] == "point" or mark.get("point"), "one day must still be a visible mark"
    y = spec["encoding"]["y"]
    assert y["scale"]["domain"] == [0, 1] and y["axis"]["format"] == "%", "0-100 %, whatever the data"
    assert spec["encoding"]["x"]["axis"]["labelAngle"] == 0


def test_drawings_chart_has_upright_digit_labels():
    df, spec = drawings_chart([3, 0, 1, 0, 0, 0, 0, 2, 8, 0])
    assert list(df["digit"]) == [str(d) for d in range(10)] and df["drawings"].sum() == 14
    assert spec["encoding"]["x"]["axis"]["labelAngle"] == 0
    assert spec["encoding"]["x"]["sort"] is None, "digits in order, not by count"


def feedback_page() -> AppTest:
    return open_page("webapp/pages/feedback.py")


def test_feedback_page_with_no_feedback_says_so(store):
    at = feedback_page()
    assert any("No confirmed drawings yet" in i.value for i in at.info)
    assert not at.get("vega_lite_chart")


@pytest.mark.parametrize("n_days", [1, 3])
def test_feedback_page_charts_one_and_many_days(store, n_days):
    for d in range(n_days):
        for label in (1, 7, 8):
            feedback.record(np.zeros((28, 28), np.float32), 1, label, "test", None, path=store)
    with sqlite3.connect(store) as conn:  # spread the rows over n_days days
        ids = [r[0] for r in conn.execute("SELECT id FROM feedback ORDER BY id")]
        for i, row_id in enumerate(ids):
            conn.execute("UPDATE feedback SET created_utc = ? WHERE id = ?",
                         (f"2026-11-{i // 3 + 1:02d}T12:00:00Z", row_id))
    at = feedback_page()
    assert at.metric[0].value == str(3 * n_days)
    charts = at.get("vega_lite_chart")
    assert len(charts) == 2, "drawings per digit, accuracy by day"
    assert len(at.dataframe[0].value) == n_days


def test_yes_button_says_an_8(store):
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    draw_on_draw_page(at, 8)
    assert prediction_shown(at) == "8"
    assert [b.label for b in at.button if b.label.startswith("✓ Yes")] == ["✓ Yes, it's an 8"]
    at.pills[0].set_value(8).run()
    assert any("Saved as an **8**" in s.value for s in at.success)
