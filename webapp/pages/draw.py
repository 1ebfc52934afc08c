"""Draw page: the canvas on the left, what the model reads on the right."""

import streamlit as st

from digits.preprocess import preprocess_canvas
from webapp.widgets import (canvas_image, digit_canvas, feedback_widget, get_predictor, show_explanation,
                            show_prediction)


@st.fragment
def draw_and_read() -> None:
    """The canvas and its answer. A fragment: a drawing reruns and redraws only this part, not
    the menu and the title around it (pen-up -> answer, see README "Performance")."""
    left, right = st.columns([1, 1], gap="large")
    with left:
        st.caption("Draw one digit, 0–9, with the mouse or a finger. Undo, redo and clear are in the bar above it.")
        canvas = digit_canvas("canvas")

    with right:
        predictor = get_predictor()
        image28 = preprocess_canvas(canvas_image(canvas))
        if predictor is None:
            pass  # get_predictor already explained what to do
        elif image28 is None:
            st.info("Draw a digit on the black square: the answer appears when you lift the pen.", icon="👈")
        else:
            prediction = predictor.predict(image28)
            sure = show_prediction(prediction, image28)
            show_explanation(image28)
            feedback_widget(prediction, image28, canvas.json_data, sure)


st.title("✏️ Draw a digit")
draw_and_read()
