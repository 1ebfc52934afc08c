"""The shared page pieces (webapp/widgets.py): chart specs and wording. The Feedback page and the
feedback widget are tested in test_feedback_widget.py."""

from __future__ import annotations

import pytest

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


def test_a_live_guess_that_names_no_digit_is_neutral():
    """Mid-stroke the guess shows a digit or a neutral "…", never the final answer's "✗" or "?"."""
    import numpy as np

    from digits.answer import DIGIT, NOT_DIGIT, UNSURE, Answer
    from webapp.widgets import LIVE_PENDING, big_answer

    blank = np.zeros((28, 28), np.float32)
    letter = Answer(NOT_DIGIT, np.array([0.05] * 10 + [0.5]), blank)
    unsure = Answer(UNSURE, np.array([0.4, 0.35] + [0.025] * 9), blank)
    seven = Answer(DIGIT, np.array([0.0] * 7 + [0.9] + [0.05, 0.05, 0.0]), blank)
    assert [big_answer(a, live=True) for a in (letter, unsure, seven)] == [LIVE_PENDING, LIVE_PENDING, "7"]
    assert [big_answer(a) for a in (letter, unsure, seven)] == ["✗", "?", "7"]
