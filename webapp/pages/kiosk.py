"""Kiosk page: one big canvas and the answer, no menus, and a fresh start for the next visitor.

app.py shows only this page when the operator set DIGITS_KIOSK=1 (every session) or the URL
asks with `?kiosk=1` (one device). The canvas clears itself DIGITS_KIOSK_IDLE seconds (default
60) after the last drawing; a device can set its own with `?kiosk=1&idle=30`. The guess follows
the pen unless `?live=0` or DIGITS_KIOSK_LIVE=0: a setting of the operator's, not a switch on
the page that one visitor could leave off for the next. The settings are pure functions in
webapp/widgets.py.

On a phone in portrait the canvas takes the screen's width and the answer and the whole chart
sit under it on the first screen (tests/browser/test_kiosk.py checks it at Pixel 7 size).
"""

import hashlib
import time

import streamlit as st

from digits.preprocess import preprocess_canvas
from webapp.live_canvas import forget, live_canvas
from webapp.widgets import (canvas_size, feedback_widget, forget_button, idle_seconds, is_idle, live_reading, show_answer,
                            visitor_memory)

# Our own constant CSS (nothing a visitor sends is interpolated): hide Streamlit's header,
# toolbar and decoration, use the whole screen, and make the answer big enough to read from afar.
KIOSK_CSS = """
<style data-kiosk>
header[data-testid="stHeader"], [data-testid="stToolbar"], [data-testid="stDecoration"],
[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"], #MainMenu, footer
  { display: none !important; }
[data-testid="stMainBlockContainer"] { padding: 0.5rem 0.5rem 1rem !important; max-width: none !important; }
/* this style sheet's own element takes no room (a style element applies wherever it sits) */
[data-testid="stElementContainer"]:has(style[data-kiosk]) { display: none; }
.st-key-kiosk [data-testid="prediction"] { font-size: 9rem !important; }
/* the canvas' box never wider than the screen: the canvas inside scales down with it */
.st-key-kiosk_left { max-width: 100%; }
/* the answer wraps under the canvas rather than shrink beside it (phones, tablets in portrait) */
.st-key-kiosk_answer { min-width: min(100%, 360px); }
/* on a wide screen the answer keeps the canvas' width instead of running to the edge */
.st-key-kiosk_answer { max-width: 560px; }
/* a phone in portrait: the answer and the whole chart fit under the canvas on the first screen */
@media (max-width: 600px) {
  .st-key-kiosk, .st-key-kiosk_left, .st-key-kiosk_answer { row-gap: 0.5rem !important; }
  .st-key-kiosk [data-testid="prediction"] { font-size: 6rem !important; }
  .st-key-kiosk_answer figure img { width: 72px !important; height: 72px !important; }
}
/* no rubber-band scrolling or pull-to-refresh while a finger draws */
html, body { overscroll-behavior: none; }
</style>
"""


@st.fragment
def draw_and_read(size: int, live: bool) -> None:
    """Canvas and answer. A fragment: a drawing reruns only this, not the page's style sheet and
    the idle watch (the Draw page does the same, see docs/performance.md)."""
    state = st.session_state
    # A wrapping row: side by side on a wide screen, the answer under the canvas in portrait.
    with st.container(key="kiosk", horizontal=True, gap="large"):
        left, answer = st.container(key="kiosk_left", width=size + 4), st.container(key="kiosk_answer", width="stretch")
        # The canvas and its big Clear in the left box, the answer in the other.
        with left, live_canvas(canvas_key(state.kiosk_generation), size, live=live,
                               controls="clear") as reading, answer:
            image28 = preprocess_canvas(reading.image)
            note_activity(image28)
            answer = show_answer(reading, image28, "Draw a digit, 0–9, in the black square.", ":material/edit:", "Kiosk")
            if answer is not None:
                feedback_widget(answer, reading.json_data)
            forget_button()


def canvas_key(generation: int) -> str:
    return f"kiosk_canvas_{generation}"


def note_activity(image28) -> None:
    """A changed drawing is a sign of life: remember when it happened."""
    signature = None if image28 is None else hashlib.sha1(image28.tobytes()).hexdigest()
    if signature != st.session_state.get("kiosk_signature"):
        st.session_state.kiosk_signature = signature
        st.session_state.kiosk_activity = time.time()


def idle_watch(idle_s: float) -> None:
    """Nobody drew for idle_s seconds: hand the next visitor a blank canvas."""
    state = st.session_state
    if state.get("kiosk_signature") and is_idle(state.kiosk_activity, time.time(), idle_s):
        forget(canvas_key(state.kiosk_generation))  # a kiosk session lives all day: keep nothing per visitor
        state.kiosk_generation += 1
        state.kiosk_signature = None
        state.kiosk_activity = time.time()
        visitor_memory().forget()  # a new visitor: not the last one's handwriting
        st.rerun()  # the whole page: the canvas comes back under its new, empty key


state = st.session_state
state.setdefault("kiosk_generation", 0)  # part of the canvas key: a new key = a blank canvas
state.setdefault("kiosk_activity", time.time())
st.markdown(KIOSK_CSS, unsafe_allow_html=True)
draw_and_read(canvas_size(st.context.headers.get("User-Agent", "")), live_reading(st.query_params))

idle = idle_seconds(st.query_params)
# Check a few times per idle period: the reset comes at most idle/4 (<= 5 s) late.
st.fragment(run_every=min(5.0, idle / 4))(idle_watch)(idle)
