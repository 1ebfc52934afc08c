"""Draw page: the canvas on the left, what the model reads on the right."""

import streamlit as st
from streamlit_drawable_canvas import st_canvas

from digits.preprocess import preprocess_canvas
from digits.render import CANVAS, STROKE_WIDTH
from digits.webapp import canvas_image, get_predictor, show_prediction

st.title("✏️ Draw a digit")

left, right = st.columns([1, 1], gap="large")
with left:
    st.caption("Draw one digit, 0–9, with the mouse or a finger. Undo, redo and clear are in the bar above it.")
    canvas = st_canvas(
        stroke_width=STROKE_WIDTH,
        stroke_color="#FFFFFF",
        background_color="#000000",
        width=CANVAS,
        height=CANVAS,
        drawing_mode="freedraw",
        return_image_data=True,
        key="canvas",
    )

with right:
    predictor = get_predictor()
    image28 = preprocess_canvas(canvas_image(canvas))
    if predictor is None:
        pass  # get_predictor already explained what to do
    elif image28 is None:
        st.info("Draw a digit on the black square: the answer appears when you lift the pen.", icon="👈")
    else:
        show_prediction(predictor.predict(image28), image28)
