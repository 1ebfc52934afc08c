"""Challenge page: "Draw a 7", ten rounds judged by the model, score and time, and today's
leaderboard. The rules and the scores are in digits.features.challenge (no Streamlit there)."""

import secrets
import time

import pandas as pd
import streamlit as st

from digits.features import feedback
from digits.features.challenge import NAME_MAX, Game, leaderboard, save_score
from digits.preprocess import preprocess_canvas
from digits.answer import Reader
from digits.text import article, with_article
from webapp.live_canvas import live_canvas, show_unreadable
from webapp.widgets import get_reader, model_path

RULES = ("Ten digits, one at a time. Draw each so the model reads it right: one point per digit, "
         "and the clock breaks ties.")


def start() -> None:
    st.write(RULES)
    st.text_input("Your name for today's leaderboard (optional)", max_chars=NAME_MAX,
                  key="challenge_name", placeholder="anonymous")
    if st.button("Start", type="primary", key="challenge_start"):
        # A fresh random order per game; the seed is kept so a game can be replayed in tests.
        st.session_state.challenge = Game(seed=secrets.randbits(32), started=time.time())
        st.session_state.challenge_saved = None
        # Widget state is dropped once the text box is off the page: keep the name apart.
        st.session_state.challenge_player = st.session_state.get("challenge_name")
        st.rerun()
    show_leaderboard()


def play_round(game: Game, reader: Reader) -> None:
    # The banner is always there (the rules before round 1, the last verdict after), so the
    # canvas stays where the hand expects it from one round to the next.
    with st.container(key="challenge_banner"):
        if game.played:
            last = game.played[-1]
            verdict = st.success if last.right else st.error
            read = "could not read a digit" if last.answer is None else f"read {with_article(last.answer)}"
            verdict(f"Round {len(game.played)}: you were asked for {with_article(last.target)}, "
                    f"the model {read}.", icon="✅" if last.right else "❌")
        else:
            st.info("Draw the digit asked for, then press Check.", icon="✏️")
    number = len(game.played) + 1
    st.caption(f"Round {number} of {game.rounds} · score {game.score}")
    st.markdown(f"## Draw {article(game.target)} **{game.target}**")
    # A new key each round: a blank canvas. The final picture comes right at pen-up (no live
    # guesses here: that would give the answer away).
    with live_canvas(f"challenge_canvas_{number}", live=False) as reading:
        image28 = preprocess_canvas(reading.image)
        if reading.error:
            show_unreadable()
        if st.button("Check", type="primary", key="challenge_check", disabled=image28 is None):
            # The Draw page's answer (picture and pen path): a letter scores nothing.
            answer = reader.read(reading.image, reading.json_data, image28)
            game.judge(answer.digit if answer.named else None, time.time())
            st.rerun()


def finish(game: Game) -> None:
    state = st.session_state
    if state.get("challenge_saved") is None:  # once per game, however often the page reruns
        try:
            state.challenge_saved = save_score(game, state.get("challenge_player"),
                                               feedback.model_version(model_path()))
        except (OSError, feedback.StoreError) as exc:
            state.challenge_saved = -1
            st.warning(f"Your score could not be saved ({exc}).", icon="⚠️")
    st.markdown(f"## {game.score} / {game.rounds} in {game.seconds:.1f} s")
    st.dataframe(pd.DataFrame({
        "round": range(1, len(game.played) + 1),
        "asked": [r.target for r in game.played],
        "model read": ["–" if r.answer is None else r.answer for r in game.played],
        "": ["✅" if r.right else "❌" for r in game.played],
    }), hide_index=True)
    if st.button("Play again", type="primary", key="challenge_again"):
        state.challenge = None
        st.rerun()
    show_leaderboard(highlight=state.challenge_saved)


def show_leaderboard(highlight: int | None = None) -> None:
    st.subheader("Today's leaderboard")
    try:
        rows = leaderboard()
    except (OSError, feedback.StoreError) as exc:
        st.caption(f"The leaderboard is unavailable ({exc}).")
        return
    if not rows:
        st.caption("No games yet today: be the first.")
        return
    st.dataframe(pd.DataFrame({
        "#": range(1, len(rows) + 1),
        "name": [r["name"] + (" ← you" if r["id"] == highlight else "") for r in rows],
        "score": [f"{r['score']} / {r['rounds']}" for r in rows],
        "seconds": [r["seconds"] for r in rows],
    }), hide_index=True)


st.title("🎯 Challenge")
reader = get_reader()
if reader is None:
    st.stop()  # get_reader already explained what to do
game: Game | None = st.session_state.get("challenge")
if game is None:
    start()
elif game.done:
    finish(game)
else:
    play_round(game, reader)
