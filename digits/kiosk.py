"""Kiosk mode: one big canvas and the answer, no menus, and a fresh start for the next visitor.

Turned on by the operator with DIGITS_KIOSK=1 (every session), or per device with the URL
`?kiosk=1` (Streamlit's config.toml has no room for app settings, hence environment variables).
The canvas clears itself DIGITS_KIOSK_IDLE seconds (default 60) after the last drawing; a
device can set its own with `?kiosk=1&idle=30`.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Mapping

import streamlit as st

from .preprocess import preprocess_canvas
from .webapp import canvas_image, digit_canvas, get_predictor, show_prediction

DEFAULT_IDLE_S = 60.0
MIN_IDLE_S = 3.0  # shorter would wipe a drawing while the visitor still reads the answer
PHONE_CANVAS = 320  # fits a 360 px wide phone in portrait with the kiosk's small margins
LARGE_CANVAS = 560  # tablets (portrait 600-1024 px wide) and kiosk screens

# Our own constant CSS (nothing a visitor sends is interpolated): hide Streamlit's header,
# toolbar and decoration, use the whole screen, and make the answer big enough to read from afar.
KIOSK_CSS = """
<style>
header[data-testid="stHeader"], [data-testid="stToolbar"], [data-testid="stDecoration"],
[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"], #MainMenu, footer
  { display: none !important; }
[data-testid="stMainBlockContainer"] { padding: 0.75rem 0.5rem 1rem !important; max-width: none !important; }
.st-key-kiosk [data-testid="prediction"] { font-size: 9rem !important; }
/* the answer wraps under the canvas rather than shrink beside it (phones, tablets in portrait) */
.st-key-kiosk_answer { min-width: min(100%, 360px); }
/* no rubber-band scrolling or pull-to-refresh while a finger draws */
html, body { overscroll-behavior: none; }
</style>
"""


def kiosk_mode(query_params: Mapping[str, str], environ: Mapping[str, str] = os.environ) -> bool:
    """On when the operator set DIGITS_KIOSK=1, or the URL asks with ?kiosk=1."""
    return _truthy(environ.get("DIGITS_KIOSK")) or _truthy(query_params.get("kiosk"))


def idle_seconds(query_params: Mapping[str, str], environ: Mapping[str, str] = os.environ) -> float:
    """Seconds without a new stroke before the canvas clears: ?idle=, else DIGITS_KIOSK_IDLE,
    else 60; never below MIN_IDLE_S; an unreadable value falls back to the next source."""
    for raw in (query_params.get("idle"), environ.get("DIGITS_KIOSK_IDLE")):
        try:
            return max(MIN_IDLE_S, float(raw))
        except (TypeError, ValueError):
            continue
    return DEFAULT_IDLE_S


def canvas_size(user_agent: str) -> int:
    """Phones (the "Mobi" token mobile browsers send; iPads send it too, or a desktop UA) get a
    canvas that fits their width, tablets and screens a big one. Streamlit cannot see the
    viewport, only the request."""
    ua = user_agent or ""
    return PHONE_CANVAS if "Mobi" in ua and "iPad" not in ua else LARGE_CANVAS


def is_idle(last_activity: float, now: float, idle_s: float) -> bool:
    return now - last_activity >= idle_s


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on")


# --------------------------------------------------------------------------- the page


def kiosk_page() -> None:
    """The whole kiosk: canvas, answer, and the idle watch that hands over a fresh canvas."""
    state = st.session_state
    state.setdefault("kiosk_generation", 0)  # part of the canvas key: a new key = a blank canvas
    state.setdefault("kiosk_activity", time.time())
    st.markdown(KIOSK_CSS, unsafe_allow_html=True)
    _draw_and_read(canvas_size(st.context.headers.get("User-Agent", "")))

    idle = idle_seconds(st.query_params)
    # Check a few times per idle period: the reset comes at most idle/4 (<= 5 s) late.
    st.fragment(run_every=min(5.0, idle / 4))(_idle_watch)(idle)


@st.fragment
def _draw_and_read(size: int) -> None:
    """Canvas and answer. A fragment: a drawing reruns only this, not the page's style sheet and
    the idle watch (the Draw page does the same, see README "Performance")."""
    state = st.session_state
    # A wrapping row: side by side on a wide screen, the answer under the canvas in portrait.
    with st.container(key="kiosk", horizontal=True, gap="large"):
        with st.container(width=size + 4):
            canvas = digit_canvas(f"kiosk_canvas_{state.kiosk_generation}", size)
        with st.container(key="kiosk_answer", width="stretch"):
            image28 = preprocess_canvas(canvas_image(canvas))
            _note_activity(image28)
            predictor = get_predictor()
            if predictor is None:
                pass  # get_predictor already explained what to do
            elif image28 is None:
                st.info("Draw a digit, 0–9, in the black square.", icon="✏️")
            else:
                show_prediction(predictor.predict(image28), image28)


def _note_activity(image28) -> None:
    """A changed drawing is a sign of life: remember when it happened."""
    signature = None if image28 is None else hashlib.sha1(image28.tobytes()).hexdigest()
    if signature != st.session_state.get("kiosk_signature"):
        st.session_state.kiosk_signature = signature
        st.session_state.kiosk_activity = time.time()


def _idle_watch(idle_s: float) -> None:
    state = st.session_state
    if state.get("kiosk_signature") and is_idle(state.kiosk_activity, time.time(), idle_s):
        state.kiosk_generation += 1
        state.kiosk_signature = None
        state.kiosk_activity = time.time()
        st.rerun()  # the whole page: the canvas comes back under its new, empty key
