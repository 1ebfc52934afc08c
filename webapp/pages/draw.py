"""Draw page: the canvas on the left, what the model reads on the right."""

import streamlit as st

from digits.preprocess import preprocess_canvas
from digits.text import with_article
from webapp.live_canvas import live_canvas, show_live_guess, show_unreadable
from webapp.widgets import feedback_widget, get_predictor, show_explanation, show_prediction


@st.fragment
def draw_and_read() -> None:
    """The canvas and its answer. A fragment: a drawing reruns and redraws only this part, not
    the menu and the title around it (pen-up -> answer, see README "Performance")."""
    left, right = st.columns([1, 1], gap="large")
    with left:
        st.caption("Draw one digit, 0–9, with the mouse or a finger.")
        live = st.toggle("Read while I draw", value=True, key="live_reading",
                         help="The guess follows the pen; the full answer comes when you lift it.")
        with live_canvas("canvas", live=live) as reading, right:
            predictor = get_predictor()
            image28 = preprocess_canvas(reading.image)
            if predictor is None:
                pass  # get_predictor already explained what to do
            elif reading.error:
                show_unreadable()
            elif image28 is None:
                st.info("Draw a digit on the black square: the answer follows the pen.", icon="👈")
            elif not reading.final:  # the pen is down: only the digit, the run stays tiny
                show_live_guess(predictor.predict(image28))
            else:
                prediction = predictor.predict(image28)
                sure = show_prediction(prediction, image28)
                reading.announce = (f"The model reads {with_article(prediction.digit)}." if sure
                                    else "The model does not name a digit.")
                show_explanation(image28)
                feedback_widget(prediction, image28, reading.json_data, sure)


st.title("✏️ Draw a digit")
draw_and_read()
