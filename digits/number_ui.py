"""Streamlit pieces of the Number page: the wide canvas and the reading, digit by digit."""

from __future__ import annotations

import streamlit as st

from .number import NUMBER_CANVAS, NumberReading
from .render import STROKE_WIDTH
from .webapp import enlarge, get_calibration

PER_ROW = 8  # digit previews per row; a longer number wraps


def number_canvas(key: str):
    """The wide black strip, with the Draw page's pen (so each digit reaches the model alike)."""
    from streamlit_drawable_canvas import st_canvas  # registers itself: needs Streamlit running

    height, width = NUMBER_CANVAS
    return st_canvas(stroke_width=STROKE_WIDTH, stroke_color="#FFFFFF", background_color="#000000",
                     width=width, height=height, drawing_mode="freedraw", return_image_data=True, key=key)


def show_number(reading: NumberReading) -> None:
    """The number large, then each digit: what the model saw, the digit and its probability."""
    st.markdown(
        f"<div data-testid='number' style='font-size:4.5rem;font-weight:700;line-height:1.1'>"
        f"{reading.text}</div>",
        unsafe_allow_html=True,  # only digits we computed are interpolated
    )
    calibration = get_calibration()
    unsure = 0
    for start in range(0, len(reading.digits), PER_ROW):
        row = reading.digits[start: start + PER_ROW]
        for col, d in zip(st.columns(PER_ROW), row):
            probs = d.prediction.probabilities
            if calibration is not None:
                decision = calibration.decide(probs)
                probs, sure = decision.probabilities, decision.accepted
                others = f"{decision.guesses[0][0]} or {decision.guesses[1][0]}?"
            else:
                sure, others = True, ""
            unsure += not sure
            with col:
                st.image(enlarge(d.image28, 84), width=84)
                label = f"**{d.prediction.digit}** · {probs[d.prediction.digit]:.0%}"
                st.markdown(label if sure else f"{label}  \n:orange[not sure: {others}]")
    if unsure:
        which, them = ("one digit", "it") if unsure == 1 else (f"{unsure} digits", "them")
        st.warning(f"Not sure about {which}: rewrite {them} a little clearer.", icon="🤔")
