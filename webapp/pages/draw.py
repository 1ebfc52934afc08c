"""Draw page: the canvas on the left, what the model reads on the right."""

import streamlit as st

from digits.preprocess import preprocess_canvas
from webapp.live_canvas import live_canvas
from webapp.widgets import feedback_widget, forget_button, show_answer, show_explanation


@st.fragment
def draw_and_read() -> None:
    """The canvas and its answer. A fragment: a drawing reruns and redraws only this part, not
    the menu and the title around it (pen-up -> answer, see docs/performance.md)."""
    left, right = st.columns([1, 1], gap="large")
    with left:
        st.caption("Draw one digit, 0–9, with the mouse or a finger.")
        live = st.toggle("Read while I draw", value=True, key="live_reading",
                         help="The guess follows the pen; the full answer comes when you lift it.")
        with live_canvas("canvas", live=live) as reading, right:
            image28 = preprocess_canvas(reading.image)
            answer = show_answer(reading, image28, "Draw a digit on the black square: the answer follows the pen.", ":material/arrow_back:")
            if answer is not None:
                show_explanation(image28)
                feedback_widget(answer, reading.json_data)
            forget_button()


st.title(":material/edit: Draw a digit")
draw_and_read()
