"""Number page: several digits side by side on a wide canvas, each read like a drawing on the
Draw page; the number large, then each digit with what the model saw and its probability."""

import streamlit as st

from digits.features.number import NUMBER_CANVAS, UNREAD, NumberReading, read_number
from digits.answer import NOT_DIGIT, UNSURE
from digits.render import STROKE_WIDTH
from digits.text import percent
from webapp.live_canvas import live_canvas
from webapp.widgets import enlarge, forget_button, get_reader, show_unreadable, visitor_memory

PER_ROW = 8  # digit previews per row; a longer number wraps


def show_number(reading: NumberReading) -> None:
    """The number large (a "?" where a part names no digit: the same rule as Draw), then each
    digit: what the model saw, the digit and its probability."""
    places = "".join(
        f"<span style='color:#c2410c' title='not sure'>{UNREAD}</span>" if c == UNREAD else c for c in reading.shown)
    st.markdown(
        f"<div data-testid='number' data-complete='{int(reading.complete)}' "
        f"style='font-size:4.5rem;font-weight:700;line-height:1.1'>{places}</div>",
        unsafe_allow_html=True,  # only digits we computed are interpolated
    )
    unsure = 0
    for start in range(0, len(reading.digits), PER_ROW):
        row = reading.digits[start: start + PER_ROW]
        for col, d in zip(st.columns(PER_ROW), row):
            answer = d.answer  # the Draw page's answer, per digit
            unsure += not answer.named
            with col:
                st.image(enlarge(d.image28, 84), width=84)
                label = f"**{answer.digit}** · {percent(answer.confidence)}"
                if answer.verdict == NOT_DIGIT:
                    label += "  \n:orange[not a digit?]"
                elif answer.verdict == UNSURE:
                    label += f"  \n:orange[not sure: {answer.guesses[0][0]} or {answer.guesses[1][0]}?]"
                if answer.learnt is not None:
                    label += f"  \n:blue[like the {answer.learnt} you showed me]"
                st.markdown(label)
    if unsure:
        which, them = ("one digit", "it") if unsure == 1 else (f"{unsure} digits", "them")
        st.warning(f"Not sure about {which}: rewrite {them} a little clearer.", icon=":material/help:")


st.title(":material/pin: Write a number")
st.caption("Write a few digits side by side, left to right, with a little space between them.")
height, width = NUMBER_CANVAS
# The digits are read when the pen lifts, from the companion's picture (webapp/live_canvas.py).
with live_canvas("number_canvas", width, height, live=False, stroke_width=STROKE_WIDTH) as canvas:
    reader = get_reader()
    image = canvas.image
    reading = read_number(image, reader, visitor_memory()) if reader is not None and image is not None else None
    if reader is None:
        pass  # get_reader already explained what to do
    elif canvas.error:
        show_unreadable()
    elif reading is None or not reading.digits:
        st.info("Write a number on the black strip: it is read when you lift the pen.", icon=":material/touch_app:")
    else:
        show_number(reading)
        canvas.announce = (f"The model reads {reading.shown}." if reading.complete else
                           f"The model reads {reading.shown.replace(UNREAD, ' (not sure) ')}.")
    forget_button()
