"""Challenge rules and the challenge page through AppTest (real model). The feedback widget's
tests are in test_feedback_widget.py."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from digits.features.challenge import ANONYMOUS, NAME_MAX, ROUNDS, Game, leaderboard, sanitize_name, save_score, targets
from digits.preprocess import preprocess_canvas
from digits.render import draw
from digits.strokes import fabric_json
from digits.text import article, with_article
from tests.digit_strokes import strokes_for
from tests.test_app import APP, canvas_state, prediction_shown

# --------------------------------------------------------------------------- rules


def test_rounds_come_from_the_seed_and_ask_every_digit_once():
    assert targets(7) == targets(7)
    assert targets(7) != targets(8)
    assert sorted(targets(7)) == list(range(10))
    assert len(targets(7, rounds=13)) == 13


def test_a_game_scores_right_answers_and_times_the_last_one():
    game = Game(seed=1, started=100.0)
    for i, asked in enumerate(game.asked):
        assert game.target == asked
        game.judge(asked if i % 3 else (asked + 1) % 10, now=100.0 + 2 * (i + 1))
    assert game.done and game.target is None
    assert game.score == sum(1 for i in range(ROUNDS) if i % 3)
    assert game.seconds == 20.0
    with pytest.raises(ValueError):
        game.judge(1, 200.0)


@pytest.mark.parametrize("raw, expected", [
    ("  Ada   Lovelace ", "Ada Lovelace"),
    ("<script>alert(1)</script>", "scriptalert1scri"),
    ("Zoë-Ann", "Zoë-Ann"),
    ("李雷", "李雷"),
    ("💥💥", ANONYMOUS),
    ("", ANONYMOUS),
    (None, ANONYMOUS),
    ("a\u202eb\u0000c\nd", "abc d"),  # bidi override and control characters dropped
    ("x" * 40, "x" * NAME_MAX),
])
def test_names_are_short_and_harmless(raw, expected):
    assert sanitize_name(raw) == expected


def test_leaderboard_of_the_day_best_first(tmp_path):
    db = tmp_path / "fb.sqlite3"
    today, yesterday = date(2026, 1, 2), date(2026, 1, 1)

    def play(right: int, seconds: float) -> Game:
        game = Game(seed=0, started=0.0)
        for i, asked in enumerate(game.asked):
            game.judge(asked if i < right else (asked + 1) % 10, now=seconds)
        return game

    save_score(play(7, 30), "slow", "v", today, db)
    save_score(play(7, 20), "fast", "v", today, db)
    save_score(play(9, 50), "<b>best</b>", "v", today, db)
    save_score(play(10, 5), "old", "v", yesterday, db)
    rows = leaderboard(today, path=db)
    assert [(r["name"], r["score"]) for r in rows] == [("bbestb", 9), ("fast", 7), ("slow", 7)]
    with pytest.raises(ValueError):
        save_score(Game(seed=0, started=0.0), "unfinished", "v", today, db)


# --------------------------------------------------------------------------- pages


def reading(predictor, digit: int) -> int:
    return predictor.predict(preprocess_canvas(draw(strokes_for(digit)))).digit


def test_challenge_page_plays_ten_rounds_and_keeps_the_score(store, predictor):
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    at.switch_page("webapp/pages/challenge.py").run()
    assert not at.exception
    at.text_input(key="challenge_name").input("Ada <b>").run()
    at.button(key="challenge_start").click().run()
    game = at.session_state["challenge"]
    expected = 0
    for number in range(1, ROUNDS + 1):
        asked = game.target
        assert any(f"Draw {article(asked)} **{asked}**" in md.value for md in at.markdown)
        # Odd rounds draw what is asked, even rounds another digit: the page must agree with
        # the model either way (the model's own skill is tested elsewhere).
        drawn = asked if number % 2 else (asked + 5) % 10
        at.session_state[f"challenge_canvas_{number}"] = canvas_state(draw(strokes_for(drawn)))
        at.run()
        read = reading(predictor, drawn)
        assert prediction_shown(at) == str(read), "the model's reading shows before Check, as on Draw"
        assert f"_live_challenge_canvas_{number}" in at.session_state
        at.button(key="challenge_check").click().run()
        assert not at.exception
        assert f"_live_challenge_canvas_{number}" not in at.session_state, "a finished round's pictures are dropped"
        expected += read == asked
        if number < ROUNDS:
            verdicts = at.success if read == asked else at.error
            assert f"the model read {with_article(read)}." in verdicts[0].value
    assert game.done and game.score == expected
    assert any(f"## {expected} / {ROUNDS} in {game.seconds:.1f} s" in md.value for md in at.markdown)
    table = at.dataframe[0].value
    assert list(table["right"]) == [r.right for r in game.played], "ticks, not emoji"
    # each round's time, shown to 0.1 s, adds up to the game's (within the rounding of ten values)
    assert sum(float(t.removesuffix(" s")) for t in table["time"]) == pytest.approx(game.seconds, abs=0.05 * ROUNDS)
    board = at.dataframe[1].value
    assert list(board["score"]) == [f"{expected} / {ROUNDS}"] and list(board["time"]) == [f"{game.seconds:.1f} s"]
    [row] = leaderboard(path=store)
    assert (row["name"], row["score"]) == ("Ada b", expected)
    at.run()  # a rerun of the result page does not save the game twice
    assert len(leaderboard(path=store)) == 1
    at.button(key="challenge_again").click().run()
    assert at.button(key="challenge_start")


def draw_on_draw_page(at: AppTest, digit: int) -> dict:
    raw = fabric_json([np.array([[1.0, 2], [3, digit]])])
    state = canvas_state(draw(strokes_for(digit)))
    state["drawing"]["raw"] = raw
    at.session_state["canvas"] = state
    at.run()
    assert not at.exception
    return raw
