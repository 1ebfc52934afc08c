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
