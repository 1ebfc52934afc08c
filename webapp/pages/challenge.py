"""Challenge page: "Draw a 7", ten rounds judged by the model, score and time, and today's
leaderboard. The rules and the scores are in digits.features.challenge (no Streamlit there).

As on the Draw page the guess follows the pen (webapp/live_canvas.py), so a player sees what the
model reads before pressing Check. The clock ticks in the browser (a tiny Components-v2
element): a running clock costs the server nothing between runs."""

import secrets
import time

import pandas as pd
import streamlit as st

from digits.features import feedback
from digits.features.challenge import NAME_MAX, Game, leaderboard, save_score
from digits.preprocess import preprocess_canvas
from digits.answer import Reader
from digits.text import article, with_article
from webapp.live_canvas import forget, live_canvas
from webapp.widgets import get_reader, log_fallback, model_path, show_answer

RULES = ("Ten digits, one at a time. Draw each so the model reads it right: one point per digit, "
         "and the clock breaks ties. The model's guess follows your pen; press Check when it is right.")

# The elapsed game time, counted in the browser from the seconds the server last saw: each run
# (a drawing, a Check) re-synchronises it. State lives on parentElement, and the previous
# interval is cleared by hand: Streamlit calls this again on new data without the cleanup.
_CLOCK_JS = """
export default function ({ parentElement, data }) {
  const el = parentElement.querySelector(".clock-time");
  const s = parentElement.__clock || (parentElement.__clock = {});
  clearInterval(s.timer);
  const t0 = performance.now();
  const show = () => {
    const sec = Math.floor(data.elapsed + (data.running ? (performance.now() - t0) / 1000 : 0));
    el.textContent = sec + " s";
  };
  show();
  if (data.running) s.timer = setInterval(show, 250);
  return () => clearInterval(s.timer);
}
"""
_CLOCK_HTML = "<span class='clock' role='timer' aria-label='time'>time <b class='clock-time'>0 s</b></span>"
_CLOCK_CSS = ".clock { font-family: var(--st-font, sans-serif); font-size: 1.1rem; font-variant-numeric: tabular-nums; }"
# A big primary Check: it is the one button of a round (and a thumb's target on a phone).
CHECK_CSS = "<style>.st-key-challenge_check button { min-height: 3.5rem; font-size: 1.25rem; }</style>"


@st.cache_resource(show_spinner=False)
def _clock():
    return st.components.v2.component("digits_clock", html=_CLOCK_HTML, css=_CLOCK_CSS, js=_CLOCK_JS)


def clock(elapsed: float, running: bool = True) -> None:
    _clock()(key="challenge_clock", data={"elapsed": round(elapsed, 1), "running": running},
             width="content", height="content")


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
                    f"the model {read}.", icon=":material/check_circle:" if last.right else ":material/cancel:")
        else:
            st.info("Draw the digit asked for, then press Check.", icon=":material/edit:")
    number = len(game.played) + 1
    with st.container(horizontal=True, vertical_alignment="center", gap="medium"):
        st.caption(f"Round {number} of {game.rounds} · score {game.score}")
        clock(time.time() - game.started)
    st.markdown(f"## Draw {article(game.target)} **{game.target}**")
    st.markdown(CHECK_CSS, unsafe_allow_html=True)
    left, right = st.columns([1, 1], gap="large")
    # A new key each round: a blank canvas. The guess follows the pen as on the Draw page.
    # Check under the guess: on a phone the columns stack, and the guess then sits right under
    # the canvas, in sight while drawing, with Check after it.
    with left, live_canvas(f"challenge_canvas_{number}", live=True) as reading, right:
        image28 = preprocess_canvas(reading.image)
        show_answer(reading, image28, "The model's guess shows here while you draw.", ":material/edit:", "Challenge")
        if st.button("Check", type="primary", icon=":material/check:", key="challenge_check",
                     disabled=image28 is None, width="stretch"):
            # The Draw page's answer (picture and pen path): a letter scores nothing.
            answer = reader.read(reading.image, reading.json_data, image28)
            log_fallback(answer, "Challenge")
            game.judge(answer.digit if answer.named else None, time.time())
            forget(f"challenge_canvas_{number}")  # this round's pictures are not needed again
            st.rerun()


def finish(game: Game) -> None:
    state = st.session_state
    if state.get("challenge_saved") is None:  # once per game, however often the page reruns
        try:
            state.challenge_saved = save_score(game, state.get("challenge_player"),
                                               feedback.model_version(model_path()))
        except (OSError, feedback.StoreError) as exc:
            state.challenge_saved = -1
            st.warning(f"Your score could not be saved ({exc}).", icon=":material/warning:")
    st.markdown(f"## {game.score} / {game.rounds} in {game.seconds:.1f} s")
    ends = [r.seconds for r in game.played]
    # "right" as a checkbox column: a tick that needs no emoji font (Linux kiosks often lack one).
    st.dataframe(pd.DataFrame({
        "round": range(1, len(game.played) + 1),
        "asked": [r.target for r in game.played],
        "model read": ["–" if r.answer is None else r.answer for r in game.played],
        "right": [r.right for r in game.played],
        "time": [f"{b - a:.1f} s" for a, b in zip([0.0] + ends, ends)],  # each round's own
    }), hide_index=True, column_config={"right": st.column_config.CheckboxColumn("right")})
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
        "name": [r["name"] + (" (you)" if r["id"] == highlight else "") for r in rows],
        "score": [f"{r['score']} / {r['rounds']}" for r in rows],
        "time": [f"{r['seconds']:.1f} s" for r in rows],
    }), hide_index=True)


st.title(":material/emoji_events: Challenge")
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
