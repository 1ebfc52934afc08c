"""A page that drives webapp/live_canvas.py alone (tests/browser/test_live_canvas.py).

The canvas with its companion, and what this run read: the digit (or the friendly message),
whether it was a live guess or the final answer, its source, and the server's count of
companion values read. `?controls=clear` shows the kiosk's single Clear, `?live=0` turns live
reading off, `?size=` sets the canvas side.
"""

import streamlit as st

from digits.model import Predictor
from digits.preprocess import preprocess_canvas
from webapp.live_canvas import live_canvas
from webapp.widgets import UNREADABLE


@st.cache_resource
def predictor() -> Predictor:
    return Predictor.load()


params = st.query_params
size = int(params.get("size", 280))


@st.fragment
def canvas_and_answer() -> None:
    state = st.session_state
    state.setdefault("reads", {"live": 0, "final": 0, "canvas": 0})
    with live_canvas("canvas", size, live=params.get("live", "1") == "1",
                     controls=params.get("controls", "full")) as reading:
        image28 = preprocess_canvas(reading.image)
        if reading.changed and reading.source in state.reads:
            state.reads[reading.source] += 1
        # First, so that it keeps its place whatever follows.
        n = len((reading.json_data or {}).get("objects", []))
        st.markdown(f"<div data-testid='reads'>live={state.reads['live']} final={state.reads['final']} "
                    f"canvas={state.reads['canvas']} objects={n}</div>", unsafe_allow_html=True)
        if reading.error:
            st.warning(UNREADABLE, icon="⚠️")
        elif image28 is None:
            st.markdown("<div data-testid='empty'>empty</div>", unsafe_allow_html=True)
        else:
            p = predictor().predict(image28)
            kind = "final" if reading.final else "live"
            st.markdown(f"<div data-testid='prediction' data-kind='{kind}' data-source='{reading.source}'>"
                        f"{p.digit}</div>", unsafe_allow_html=True)
            if reading.final:
                reading.announce = f"The model reads a {p.digit}."
        if reading.final and reading.source == "final" and image28 is not None:
            own = preprocess_canvas(reading.canvas.image_data)  # the canvas' own picture, same run
            diff = "none" if own is None else f"{float(abs(own - image28).max()):.4f}"
            st.markdown(f"<div data-testid='own-diff'>{diff}</div>", unsafe_allow_html=True)


canvas_and_answer()
